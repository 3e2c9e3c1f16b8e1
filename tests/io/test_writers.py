"""Write-then-read round trips keep every field, in every output format."""

from __future__ import annotations

import string
from pathlib import Path

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
