import pandas as pd

from peerscreen.io.dedup import DUPLICATE_COLUMNS, deduplicate, duplicates_table
from peerscreen.io.records import Record, RecordSet

LONG = "Consumer-operated drop-in centres and community integration"


def test_merges_by_doi_then_pmid_then_title_and_fills_missing_fields():
    records = RecordSet.from_records(
        [
            Record(record_id="1", title=LONG, doi="10.5555/a", year=2001),
            Record(
                record_id="2",
                title=LONG.upper(),
                doi="https://doi.org/10.5555/A",
                abstract="Text.",
                keywords=["peer"],
            ),
            Record(record_id="3", title="Other study of peer specialists", pmid="123", year=2003),
            Record(record_id="4", title="Other study of peer specialists (erratum)", pmid="123"),
            Record(record_id="5", title="Mutual help groups for depression: a survey", year=1999),
            Record(
                record_id="6", title="Mutual-help groups for depression -- a survey.", year=1999
            ),
        ]
    )
    deduped, report = deduplicate(records)
    assert deduped.frame["record_id"].tolist() == ["1", "3", "5"]
    first = deduped[0]
    assert first.abstract == "Text." and first.keywords == ["peer"]
    assert report.n_removed == 3
    assert report.by_reason == {"doi": 1, "pmid": 1, "title+year": 1}


def test_title_merge_needs_same_year_long_title_and_no_conflicting_ids():
    records = RecordSet.from_records(
        [
            Record(record_id="1", title=LONG, year=2001),
            Record(record_id="2", title=LONG, year=2002),
            Record(record_id="3", title="Editorial", year=2001),
            Record(record_id="4", title="Editorial", year=2001),
            Record(record_id="5", title=LONG, year=2001, doi="10.5555/x"),
            Record(record_id="6", title=LONG, year=2001, doi="10.5555/y"),
        ]
    )
    deduped, report = deduplicate(records)
    # 5 merges into 1 (1 has no DOI); 6 has a different DOI from 5 but 1 has none: merged
    # into 1 would mix two DOIs, so it must stay.
    kept = deduped.frame["record_id"].tolist()
    assert "2" in kept and "3" in kept and "4" in kept and "6" in kept
    assert len(kept) == 5
    assert report.by_reason == {"title+year": 1}


def test_conflicting_labels_resolve_to_included_and_are_reported():
    records = RecordSet.from_records(
        [
            Record(
                record_id="1", title="x", doi="10.5555/a", included=0, exclusion_reason="youth_only"
            ),
            Record(record_id="2", title="x", doi="10.5555/a", included=1),
        ]
    )
    deduped, report = deduplicate(records)
    assert deduped[0].included == 1 and deduped[0].exclusion_reason is None
    assert len(report.label_conflicts) == 1


def test_labels_fill_from_duplicates():
    records = RecordSet.from_records(
        [
            Record(record_id="1", title="x", pmid="9", included=None),
            Record(record_id="2", title="x", pmid="9", included=0, exclusion_reason="not_original"),
        ]
    )
    deduped, _ = deduplicate(records)
    assert deduped[0].included == 0 and deduped[0].exclusion_reason == "not_original"


def test_an_identifier_taken_from_a_duplicate_merges_too():
    """1 and 2 share a DOI; 2 and 3 a PMID: one paper. 1 takes 2's PMID when they merge, so
    3 merges into it in the same import (before, a second import merged it)."""
    records = RecordSet.from_records(
        [
            Record(record_id="1", title="A", doi="10.5555/a"),
            Record(record_id="2", title="A", doi="10.5555/a", pmid="77"),
            Record(record_id="3", title="A", pmid="77"),
        ]
    )
    deduped, report = deduplicate(records)
    assert deduped.frame["record_id"].tolist() == ["1"]
    assert report.by_reason == {"doi": 1, "pmid": 1}
    again, second = deduplicate(deduped)
    assert second.n_removed == 0 and len(again) == 1


def test_every_merge_is_described_for_the_duplicates_report():
    records = RecordSet.from_records(
        [
            Record(record_id="1", title=LONG, year=2001, included=0, source_file="a.ris"),
            Record(record_id="2", title="Other study of peer specialists", pmid="123"),
            Record(record_id="3", title=LONG.upper(), year=2001, included=1, source_file="b.csv"),
            Record(record_id="4", title="Other study", pmid="123", included=1),
        ]
    )
    _, report = deduplicate(records)
    table = duplicates_table(report)
    assert list(table.columns) == list(DUPLICATE_COLUMNS)
    assert table["kept_id"].tolist() == ["1", "2"]  # in the order the kept records appear
    assert table["merged_id"].tolist() == ["3", "4"]
    assert table["group"].tolist() == [1, 2]
    assert table["rule"].tolist() == ["title+year", "pmid"]
    first = table.iloc[0]
    assert first["matched_on"] == f"{LONG} (2001)"
    assert first["merged_title"] == LONG.upper()
    assert first["kept_source"].startswith("a.ris") and first["merged_source"].startswith("b.csv")
    assert (first["kept_label"], first["merged_label"]) == (0, 1)
    assert first["label_conflict"] == "kept 0, merged 1: kept as included"
    assert pd.isna(table.iloc[1]["label_conflict"])  # unlabelled kept record: no conflict


def test_pmids_written_as_floats_keep_their_digits_and_do_not_merge(tmp_path):
    """A CSV whose PMID column pandas wrote as floats ("30705535.0"): each record keeps its
    own PMID, so unrelated records are not merged as duplicates of PMID "0"."""
    from peerscreen.io.ingest import import_records

    path = tmp_path / "floats.csv"
    path.write_text(
        "record_id,title,pmid\n"
        "a,Peer specialists on community teams,30705535.0\n"
        "b,Mutual help groups for depression,12345670.0\n"
        "c,Consumer-run drop-in centres,3.0705536e+07\n"
        "d,No identifier here,\n",
        encoding="utf-8",
    )
    result = import_records([path])
    frame = result.records.frame
    assert frame["pmid"].tolist()[:3] == ["30705535", "12345670", "30705536"]
    assert len(frame) == 4
