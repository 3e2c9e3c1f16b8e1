"""Write-then-read round trips keep every field, in every output format."""

from __future__ import annotations

import string
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from peerscreen.errors import OutputError
from peerscreen.io.cleaning import clean_text
from peerscreen.io.readers import read_file
from peerscreen.io.records import Record, RecordSet
from peerscreen.io.writers import WRITERS, write_records

FIELDS = (
    "record_id",
    "title",
    "abstract",
    "authors",
    "year",
    "journal",
    "doi",
    "pmid",
    "keywords",
    "mesh",
    "language",
    "included",
    "exclusion_reason",
    "category",
    "outcomes",
)
FORMATS = [".csv", ".tsv", ".jsonl", ".xlsx", ".parquet", ".ris"]


def _sample() -> RecordSet:
    return RecordSet.from_records(
        [
            Record(
                record_id="r1",
                title="Peer specialists & hospital use: a trial",
                abstract="BACKGROUND: Peers reduced admissions. CONCLUSIONS: Promising.",
                authors=["Sørensen, K.", "Doe, J."],
                year=2004,
                journal="Psychiatric Services",
                doi="10.5555/ps.1",
                pmid="90000001",
                keywords=["peer support", "ACT"],
                mesh=["Self-Help Groups", "Hospitalization"],
                language="eng",
                included=1,
                category="peer_employees",
                outcomes=["hospitalization", "quality_of_life"],
                extra={"decision": "include"},
            ),
            Record(
                record_id="r2",
                title="Online forum for teens",
                year=2008,
                included=0,
                exclusion_reason="youth_only",
                category="mutual_help",
            ),
            Record(record_id="r3"),
        ]
    )


def _as_tuple(record: Record) -> tuple:
    return tuple(getattr(record, name) for name in FIELDS)


@pytest.mark.parametrize("suffix", FORMATS)
def test_round_trip_keeps_every_field(tmp_path: Path, suffix: str):
    records = _sample()
    target = write_records(records, tmp_path / f"out{suffix}")
    back, report = read_file(target)
    assert report.n_records == 3
    assert [_as_tuple(r) for r in back] == [_as_tuple(r) for r in records]
    assert back[0].extra.get("decision") == "include"


def test_every_writer_is_tested():
    assert set(WRITERS) - {".ndjson"} == set(FORMATS)


def test_unknown_extension_is_a_clear_error(tmp_path: Path):
    with pytest.raises(OutputError, match="cannot tell the output format"):
        write_records(_sample(), tmp_path / "out.docx")
    assert list(tmp_path.iterdir()) == []


def test_failed_write_leaves_no_file(tmp_path: Path, monkeypatch):
    def explode(records, path):
        path.write_text("half")
        raise RuntimeError("disk full")

    monkeypatch.setitem(WRITERS, ".csv", explode)
    with pytest.raises(RuntimeError):
        write_records(_sample(), tmp_path / "out.csv")
    assert list(tmp_path.iterdir()) == []


def test_existing_output_survives_a_failed_write(tmp_path: Path, monkeypatch):
    target = tmp_path / "out.csv"
    target.write_text("previous")

    def explode(records, path):
        raise RuntimeError("boom")

    monkeypatch.setitem(WRITERS, ".csv", explode)
    with pytest.raises(RuntimeError):
        write_records(_sample(), target)
    assert target.read_text() == "previous"
    assert [p.name for p in tmp_path.iterdir()] == ["out.csv"]


_text = st.text(alphabet=string.ascii_letters + string.digits + " .,:;'()&<>éüø-\"", max_size=60)
_word = st.text(alphabet=string.ascii_letters + "éü -", min_size=1, max_size=15)
_record = st.builds(
    Record,
    record_id=st.text(
        alphabet=string.ascii_letters + string.digits + "-_", min_size=1, max_size=12
    ),
    title=_text,
    abstract=_text,
    authors=st.lists(_word, max_size=3),
    year=st.one_of(st.none(), st.integers(1900, 2030)),
    journal=_text,
    doi=st.one_of(st.none(), st.from_regex(r"10\.5555/[a-z0-9.]{1,10}", fullmatch=True)),
    pmid=st.one_of(st.none(), st.from_regex(r"[1-9][0-9]{0,7}", fullmatch=True)),
    keywords=st.lists(_word, max_size=3),
    mesh=st.lists(_word, max_size=3),
    included=st.sampled_from([None, 0, 1]),
    category=st.sampled_from([None, "peer_run", "none"]),
    outcomes=st.lists(
        st.sampled_from(["symptoms", "coping", "empowerment"]), max_size=2, unique=True
    ),
)


def _expected(record: Record) -> tuple:
    """What a reader should give back: cleaned text, cleaned list items."""
    cleaned = RecordSet.from_records([record])[0]
    return _as_tuple(cleaned)


@pytest.mark.parametrize("suffix", FORMATS)
@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(records=st.lists(_record, min_size=1, max_size=5, unique_by=lambda r: r.record_id))
def test_round_trip_property(tmp_path_factory, suffix, records):
    records = [r for r in records if clean_text(r.record_id)]
    if not records:
        return
    folder = tmp_path_factory.mktemp("rt")
    source = RecordSet.from_records(records)
    back, _ = read_file(write_records(source, folder / f"out{suffix}"))
    assert [_as_tuple(r) for r in back] == [_expected(r) for r in records]


# -- outputs made to read ---------------------------------------------------------------------
def _ranked_queue() -> pd.DataFrame:
    """A small ranked queue, shaped as `rank` writes it."""
    return pd.DataFrame(
        {
            "rank": [1, 2, 3],
            "record_id": ["r1", "r2", "r3"],
            "title": ["Peer specialists and hospital use: a randomised trial " * 3, "Short", None],
            "p_include": [0.98765432, 0.61538461, 0.0001234],
            "decision": ["include", "check", "exclude"],
            "reviewer_decision": [None, None, None],
            "p_category": [0.55555, float("nan"), 0.1],
            "abstract": ["Background. " * 200, "An abstract.", None],
            "authors": [["Sørensen, K.", "Doe, J."], [], ["Roe, A."]],
            "keywords": [["peer support", "ACT"], [], []],
        }
    )


def test_xlsx_is_ready_to_read(tmp_path: Path):
    from openpyxl import load_workbook

    path = write_records(_ranked_queue(), tmp_path / "ranked.xlsx")
    sheet = load_workbook(path).active
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == "A1:J4"
    assert all(cell.font.b for cell in sheet[1])
    header = [cell.value for cell in sheet[1]]
    width = {name: sheet.column_dimensions[chr(65 + i)].width for i, name in enumerate(header)}
    assert width["abstract"] >= 80  # wide: the abstract is read in the sheet
    assert width["title"] <= 60 and sheet["C2"].alignment.wrap_text  # capped and wrapped
    assert 6 <= width["rank"] <= 10  # sized to its contents, not to Excel's default
    assert all(w <= 100 for w in width.values())


def test_xlsx_colours_the_decision_bands(tmp_path: Path):
    from openpyxl import load_workbook

    sheet = load_workbook(write_records(_ranked_queue(), tmp_path / "ranked.xlsx")).active
    fills = [sheet.cell(row, 5).fill.fgColor.rgb[-6:] for row in (2, 3, 4)]
    assert fills == ["E2EFDA", "FFF2CC", "EDEDED"]  # include green, check amber, exclude grey
    assert sheet.cell(2, 4).fill.fill_type is None  # only the band column is coloured


def test_xlsx_offers_reviewer_choices_in_the_empty_decision_column(tmp_path: Path):
    from openpyxl import load_workbook

    sheet = load_workbook(write_records(_ranked_queue(), tmp_path / "ranked.xlsx")).active
    assert [sheet.cell(row, 6).value for row in (2, 3, 4)] == [None, None, None]
    (choices,) = sheet.data_validations.dataValidation
    assert str(choices.sqref) == "F2:F4" and "include" in choices.formula1


def test_probabilities_rounded_in_csv_and_xlsx_not_in_parquet(tmp_path: Path):
    from openpyxl import load_workbook

    queue = _ranked_queue()
    csv = pd.read_csv(write_records(queue, tmp_path / "q.csv"))
    assert csv["p_include"].tolist() == [0.988, 0.615, 0.0]
    assert "0.98765432" not in (tmp_path / "q.csv").read_text()
    sheet = load_workbook(write_records(queue, tmp_path / "q.xlsx")).active
    assert [sheet.cell(row, 4).value for row in (2, 3, 4)] == [0.988, 0.615, 0.0]
    assert sheet.cell(2, 7).value == 0.556 and sheet.cell(3, 7).value is None
    parquet = pd.read_parquet(write_records(queue, tmp_path / "q.parquet"))
    assert parquet["p_include"].tolist() == queue["p_include"].tolist()


@pytest.mark.parametrize("suffix", [".csv", ".tsv", ".xlsx"])
def test_lists_use_one_separator_and_read_back(tmp_path: Path, suffix: str):
    records = _sample()
    path = write_records(records, tmp_path / f"out{suffix}")
    frame = (
        pd.read_excel(path, dtype=str)
        if suffix == ".xlsx"
        else pd.read_csv(path, dtype=str, sep="\t" if suffix == ".tsv" else ",")
    )
    assert frame.loc[0, "authors"] == "Sørensen, K.; Doe, J."
    assert frame.loc[0, "keywords"] == "peer support; ACT"
    assert frame.loc[0, "outcomes"] == "hospitalization; quality_of_life"
    back, _ = read_file(path)
    assert back[0].authors == ["Sørensen, K.", "Doe, J."]
    assert back[0].outcomes == ["hospitalization", "quality_of_life"]


def test_xlsx_sink_streams_chunks_into_one_ready_workbook(tmp_path: Path):
    from openpyxl import load_workbook

    from peerscreen.batch.sinks import open_sink

    queue = _ranked_queue()
    target = tmp_path / "ranked.xlsx"
    sink = open_sink(tmp_path / "part.xlsx", target)
    for start in range(0, len(queue), 2):
        sink.write(queue.iloc[start : start + 2])
    sink.close()
    sheet = load_workbook(tmp_path / "part.xlsx").active
    assert sheet.freeze_panes == "A2" and sheet.auto_filter.ref == "A1:J4"
    assert [sheet.cell(row, 2).value for row in (2, 3, 4)] == ["r1", "r2", "r3"]
    assert sheet.cell(4, 5).fill.fgColor.rgb[-6:] == "EDEDED"
    assert sheet.cell(2, 4).value == 0.988


def test_an_empty_table_writes_a_header_only_workbook(tmp_path: Path):
    from openpyxl import load_workbook

    empty = _ranked_queue().iloc[:0]
    sheet = load_workbook(write_records(empty, tmp_path / "empty.xlsx")).active
    assert [c.value for c in sheet[1]] == list(empty.columns)
    assert sheet.max_row == 1


def test_xlsx_refuses_a_cell_excel_would_cut_naming_the_record(tmp_path: Path):
    queue = _ranked_queue()
    queue.loc[2, "abstract"] = "x" * 40_000
    with pytest.raises(OutputError, match="field 'abstract' of record 3 exceeds Excel's"):
        write_records(queue, tmp_path / "ranked.xlsx")
    assert list(tmp_path.iterdir()) == []
