"""The real exports and benchmark datasets in ../shared/data import with the right counts."""

from __future__ import annotations

import pytest

from peerscreen.io.ingest import import_records, write_duplicates_report
from peerscreen.io.readers import read_file
from peerscreen.io.readers.ris import RIS_CITATION_TAGS
from peerscreen.io.writers import write_records
from tests.conftest import SHARED_DATA, needs_shared

pytestmark = [needs_shared, pytest.mark.shared]

# (records, inclusions, records with neither title nor abstract), counted from the files.
BENCHMARKS = {
    "Chou_2004": (1630, 9, 0),
    "Cohen_2006_Antihistamines": (310, 16, 10),
    "Cohen_2006_AtypicalAntipsychotics": (1120, 146, 34),
    "Cohen_2006_BetaBlockers": (2072, 42, 60),
    "Cohen_2006_CalciumChannelBlockers": (1218, 100, 43),
    "Cohen_2006_Estrogens": (368, 80, 14),
    "Cohen_2006_NSAIDS": (393, 41, 12),
    "Cohen_2006_OralHypoglycemics": (503, 136, 13),
    "Cohen_2006_ProtonPumpInhibitors": (1333, 51, 44),
    "Cohen_2006_SkeletalMuscleRelaxants": (1643, 9, 40),
    "Cohen_2006_Triptans": (671, 24, 24),
    "Cohen_2006_UrinaryIncontinence": (327, 40, 18),
    "Donners_2021": (258, 15, 0),
    "Jeyaraman_2020": (1175, 96, 0),
    "Meijboom_2021": (882, 37, 0),
    "Menon_2022": (975, 74, 0),
    "Nelson_2002": (366, 80, 0),
    "Sep_2021": (271, 40, 0),
}


def test_every_benchmark_file_is_covered():
    found = {p.stem for p in (SHARED_DATA / "benchmarks").glob("*.csv")}
    assert found == set(BENCHMARKS)


@pytest.mark.parametrize("name", sorted(BENCHMARKS))
def test_benchmark_csv_counts(name):
    records, report = read_file(SHARED_DATA / "benchmarks" / f"{name}.csv")
    n, included, without_text = BENCHMARKS[name]
    assert (report.n_records, report.n_included, report.n_without_text) == (
        n,
        included,
        without_text,
    )
    assert report.n_labelled == n
    assert records.frame["record_id"].is_unique
    # deduplication may merge records but never loses an inclusion
    deduped = import_records([SHARED_DATA / "benchmarks" / f"{name}.csv"])
    assert deduped.n_included == included


def test_benchmark_fields_are_read():
    records, _ = read_file(SHARED_DATA / "benchmarks" / "Donners_2021.csv")
    first = records[0]
    assert first.title and first.abstract and first.year
    assert any(r.mesh for r in records)
    assert any(r.keywords for r in records)


def test_openalex_folder_with_labels():
    result = import_records([SHARED_DATA / "raw" / "openalex_Donners_2021"])
    assert result.n_records == 257  # 258 works, one paper twice (see the test below)
    assert result.n_included == 15
    assert result.files[0].format == "openalex"
    frame = result.records.frame
    assert frame["record_id"].str.match(r"^W\d+$").all()
    assert frame["abstract"].notna().sum() >= 240
    assert frame["mesh"].map(len).gt(0).sum() >= 90


def test_openalex_matches_the_benchmark_csv():
    """The same review from two sources: abstracts rebuilt from the inverted index agree."""
    alex, _ = read_file(SHARED_DATA / "raw" / "openalex_Donners_2021")
    bench, _ = read_file(SHARED_DATA / "benchmarks" / "Donners_2021.csv")
    a = alex.frame.set_index("record_id")
    b = bench.frame.set_index("record_id")
    common = a.index.intersection(b.index)
    assert len(common) == 258
    assert (a.loc[common, "included"] == b.loc[common, "included"]).all()
    same = sum(a.at[i, "abstract"] == b.at[i, "abstract"] for i in common)
    assert same >= 0.9 * len(common)


def test_real_ris_exports():
    folder = SHARED_DATA / "raw" / "ris_van_de_Schoot_2017"
    files = sorted(folder.glob("*.ris"))
    result = import_records(files, dedup=False)
    assert [f.n_records for f in result.files] == [363, 38]
    assert all(not f.warnings for f in result.files)
    frame = result.records.frame
    assert frame["title"].notna().all()
    assert frame["authors"].map(len).gt(0).mean() > 0.95
    assert frame["record_id"].is_unique
    deduped = import_records(files)
    assert deduped.n_records < 401
    assert deduped.dedup.by_reason["doi"] > 0


def test_openalex_escaped_title_merges_with_its_duplicate_and_import_is_idempotent(tmp_path):
    """W3003302859's title is `&lt;p&gt;Clinical Evidence ...&lt;/p&gt;` (markup escaped in
    the source): decoded then stripped it is W4313421986's title, so the two merge on the
    first import, and importing the output again merges nothing more."""
    result = import_records([SHARED_DATA / "raw" / "openalex_Donners_2021"])
    merges = {(m.kept, m.dropped): m for m in result.dedup.merges}
    merge = merges[("W4313421986", "W3003302859")]
    assert merge.rule == "title+year"
    assert merge.dropped_title == merge.kept_title
    assert merge.kept_title.startswith("Clinical Evidence and Safety Profile of Emicizumab")
    assert not result.records.frame["title"].str.contains("<", na=False).any()

    report = tmp_path / "duplicates.csv"
    write_duplicates_report(result, report)
    assert "W3003302859" in report.read_text(encoding="utf-8")

    output = write_records(result.records, tmp_path / "donners.csv")
    again = import_records([output])
    assert again.dedup.n_removed == 0
    assert again.n_records == result.n_records == 257


@pytest.mark.parametrize(
    "name", ["schoot-lgmm-ptsd-included-1.ris", "schoot-lgmm-ptsd-included-2.ris"]
)
def test_real_ris_exports_round_trip_with_their_citation_fields(tmp_path, name):
    """Read, write RIS, read again: the same records, and VL, IS, SP, EP, UR, ST and T2 as
    the reference manager exported them (not T2 turned into JO, not dropped)."""
    source = SHARED_DATA / "raw" / "ris_van_de_Schoot_2017" / name
    first, _ = read_file(source)
    written = write_records(first, tmp_path / "out.ris")
    text = written.read_text(encoding="utf-8")
    original = source.read_text(encoding="utf-8")
    for tag in ("VL", "IS", "SP", "UR", "ST", "T2"):
        assert text.count(f"\n{tag}  - ") >= original.count(f"\n{tag}  - ") > 0, tag
    second, _ = read_file(written)
    columns = [c for c in first.frame.columns if c not in ("source_file", "source_position")]
    assert list(second.frame.columns[: len(first.frame.columns)]) == list(first.frame.columns)
    for name_ in columns:
        assert first.frame[name_].tolist() == second.frame[name_].tolist(), name_
    fields = first.frame[list(RIS_CITATION_TAGS)]
    assert fields["volume"].notna().mean() > 0.8
    assert fields["secondary_title"].notna().mean() > 0.9
    if name.endswith("-1.ris"):  # the file's first record, as exported
        extra = first[0].extra
        assert (extra["volume"], extra["issue"], extra["start_page"]) == ("39", "4", "359-376")
        assert extra["secondary_title"] == "International Journal of Psychiatry in Medicine"
        assert extra["url"].startswith("http://www.scopus.com/inward/record.url?eid=")
