import numpy as np
import pandas as pd
import pytest

from peerscreen.io.readers import read_file
from peerscreen.io.writers import write_records
from peerscreen.review.ranking import RANK_COLUMNS, rank_records, records_to_recall, tag_records
from tests.conftest import ROOT

EXAMPLES = ROOT / "data" / "examples"


def test_records_to_recall():
    p = np.array([0.9, 0.9, 0.1, 0.1])
    assert records_to_recall(p, 0.9) == 2
    assert records_to_recall(p, 1.0) == 4
    assert records_to_recall(np.zeros(3), 0.95) == 0


def test_rank_columns_order_and_labels_renamed(trained, small_corpus):
    table, summary = rank_records(small_corpus, trained.model)
    assert list(table.columns[: len(RANK_COLUMNS)]) == list(RANK_COLUMNS)
    assert table["rank"].tolist() == list(range(1, len(table) + 1))
    assert table["p_include"].is_monotonic_decreasing
    assert {"label_included", "label_category", "label_outcomes", "label_exclusion_reason"} <= set(
        table.columns
    )
    assert "included" not in table.columns
    assert summary.n_records == len(table)
    assert sum(summary.decisions.values()) == len(table)
    assert 0 < summary.records_to_target <= len(table)
    assert "estimated recall" in summary.sentence()


def test_included_decisions_carry_no_exclusion_reason(trained, small_corpus):
    table, _ = rank_records(small_corpus, trained.model)
    assert (table.loc[table["decision"] == "include", "exclusion_reason"] == "").all()


def test_target_recall_changes_the_bands(trained, small_corpus):
    low, _ = rank_records(small_corpus, trained.model, target_recall=0.8)
    high, _ = rank_records(small_corpus, trained.model, target_recall=0.99)
    assert (low["decision"] == "exclude").sum() >= (high["decision"] == "exclude").sum()


@pytest.mark.parametrize("suffix", [".csv", ".jsonl", ".xlsx", ".parquet", ".ris"])
def test_ranked_output_in_every_format(trained, tmp_path, suffix):
    records, _ = read_file(EXAMPLES / "new_records.csv")
    table, _ = rank_records(records, trained.model)
    path = write_records(table, tmp_path / f"ranked{suffix}")
    back, report = read_file(path)
    assert report.n_records == len(table)
    assert back.frame["title"].tolist() == table["title"].tolist()
    if suffix == ".ris":
        text = path.read_text()
        assert "KW  - peerscreen:decision=" in text and "KW  - peerscreen:category=" in text


def test_tag_has_no_ranking(trained, small_corpus):
    table = tag_records(small_corpus, trained.model)
    assert "p_include" not in table.columns and "rank" not in table.columns
    assert {"category", "outcomes", "exclusion_flags"} <= set(table.columns)
    assert table["record_id"].tolist() == small_corpus.frame["record_id"].tolist()


def test_boilerplate_is_learned_from_document_frequency():
    from peerscreen.review.top_terms import DocumentFrequency

    frame = pd.DataFrame(
        {
            "title": [f"Trial {i} of peer support" if i < 3 else f"Trial {i}" for i in range(40)],
            "abstract": [
                "The study results were mixed." if i % 5 else "Nothing." for i in range(40)
            ],
        }
    )
    frequency = DocumentFrequency()
    frequency.add(frame.iloc[:25])
    frequency.add(frame.iloc[25:])  # chunk by chunk, as streaming ranks
    stop = frequency.boilerplate()
    assert {"trial", "study", "results", "mixed"} <= stop  # in 100% / 80% of the records
    assert not {"peer", "support", "nothing"} & stop  # rare words stay


def test_generic_words_need_to_be_common_and_small_sets_learn_nothing_else():
    from peerscreen.review.top_terms import DocumentFrequency

    common = DocumentFrequency()
    common.add(pd.DataFrame({"title": ["patients"] * 4 + ["other"] * 26, "abstract": None}))
    assert "patients" in common.boilerplate()  # generic, in more than 10% of the records
    rare = DocumentFrequency()
    rare.add(pd.DataFrame({"title": ["patients"] * 2 + ["other"] * 38, "abstract": None}))
    assert "patients" not in rare.boilerplate()
    small = DocumentFrequency()
    small.add(pd.DataFrame({"title": ["Peer support study"] * 3}))
    assert small.boilerplate() == {"study"}  # 3 records: no share is meaningful


def test_without_boilerplate_keeps_phrases_with_a_content_word():
    from peerscreen.review.top_terms import without_boilerplate

    stop = frozenset({"study", "results", "support"})
    cells = ["study; peer support; results study; recovery; a; b; c; d", "", None]
    assert without_boilerplate(cells, stop, shown=4) == ["peer support; recovery; a; b", "", ""]


def test_top_terms_drop_words_common_to_the_ranked_records(trained, small_corpus):
    from peerscreen.review.top_terms import MAX_SHARE, words

    table, _ = rank_records(small_corpus, trained.model)
    texts = small_corpus.frame["title"].fillna("") + " " + small_corpus.frame["abstract"].fillna("")
    document_sets = [set(words(t)) for t in texts]
    common = {
        w
        for w in set().union(*document_sets)
        if sum(w in d for d in document_sets) > MAX_SHARE * len(document_sets)
    }
    assert common  # the corpus has boilerplate for the model to have weighted
    shown = [t for cell in table["top_terms"] for t in cell.split("; ") if t]
    assert shown  # still terms to show
    assert all(len(cell.split("; ")) <= 5 for cell in table["top_terms"])
    assert not [t for t in shown if set(words(t)) <= common]


def test_ranked_queue_has_an_empty_reviewer_column_and_one_list_separator(trained, small_corpus):
    table, _ = rank_records(small_corpus, trained.model)
    columns = list(table.columns)
    assert columns.index("reviewer_decision") == columns.index("decision") + 1
    assert table["reviewer_decision"].isna().all()
    for name in ("outcomes", "outcome_scores"):
        joined = [v for v in table[name] if ";" in v]
        assert joined and all("; " in v and ";" not in v.replace("; ", "") for v in joined), name
    assert all(
        len(score.split("=")[1]) == 5  # 0.873: three decimals
        for cell in table["outcome_scores"]
        for score in filter(None, cell.split("; "))
    )


def test_rerank_keeps_the_reviewers_decisions(trained, tmp_path):
    records, _ = read_file(EXAMPLES / "new_records.csv")
    table, _ = rank_records(records, trained.model)
    table.loc[0, "reviewer_decision"] = "include"
    filled, _ = read_file(write_records(table, tmp_path / "queue.csv"))
    again, _ = rank_records(filled, trained.model)
    decided = again.set_index("record_id")["reviewer_decision"]
    assert decided[table.loc[0, "record_id"]] == "include"
    assert decided.drop(table.loc[0, "record_id"]).isna().all()
