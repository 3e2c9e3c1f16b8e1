import numpy as np
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
