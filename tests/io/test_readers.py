"""Every reader on small fixtures the team wrote (tests/fixtures), against expected.json."""

from __future__ import annotations

import json

import pytest

from peerscreen.errors import InputError
from peerscreen.io.readers import detect_format, read_file
from tests.conftest import FIXTURES

EXPECTED = json.loads((FIXTURES / "expected.json").read_text(encoding="utf-8"))
GOOD = sorted(k for k in EXPECTED if not k.startswith("_"))
BAD = EXPECTED["_bad_inputs"]

FORMATS = {
    "records.csv": "csv",
    "records.tsv": "csv",
    "records_semicolon.csv": "csv",
    "records_bom.csv": "csv",
    "records_latin1.csv": "csv",
    "asreview_style.csv": "csv",
    "tagged_headers.csv": "csv",
    "records.xlsx": "xlsx",
    "endnote.ris": "ris",
    "zotero.ris": "ris",
    "scopus.ris": "ris",
    "wos.ris": "ris",
    "embase.ris": "ris",
    "labelled.ris": "ris",
    "pubmed.nbib": "medline",
    "pubmed.xml": "pubmed-xml",
    "openalex/list.json": "openalex",
    "openalex/page.json": "openalex",
    "openalex/folder": "openalex",
    "openalex/folder/works_0_2.json": "openalex",
    "openalex/folder/works_2_4.json": "openalex",
    "refs.bib": "bibtex",
    "labels.jsonl": "jsonl",
}


def test_every_good_fixture_has_a_format():
    assert set(GOOD) == set(FORMATS)


@pytest.mark.parametrize("name", GOOD)
def test_reader_matches_expected(name):
    records, report = read_file(FIXTURES / name)
    assert report.format == FORMATS[name]
    expected = EXPECTED[name]
    assert report.n_records == len(expected)
    for position, (record, want) in enumerate(zip(records, expected, strict=True), 1):
        for key, value in want.items():
            got = getattr(record, key)
            assert got == value, f"{name} record {position} field {key}: {got!r} != {value!r}"


@pytest.mark.parametrize("name", GOOD)
def test_format_is_sniffed_without_the_extension(name, tmp_path):
    path = FIXTURES / name
    if path.is_dir():
        return
    renamed = tmp_path / "export.txt"
    renamed.write_bytes(path.read_bytes())
    assert detect_format(renamed) == FORMATS[name]


def test_latin1_fixture_warns():
    _, report = read_file(FIXTURES / "records_latin1.csv")
    assert any("latin-1" in w for w in report.warnings)


@pytest.mark.parametrize("name", sorted(BAD))
def test_bad_inputs(name):
    spec = BAD[name]
    if spec["expect"] == "error":
        with pytest.raises(InputError) as info:
            read_file(FIXTURES / name)
        assert str(FIXTURES / name) in str(info.value)
        return
    try:
        records, report = read_file(FIXTURES / name)
    except InputError:
        assert spec["expect"] != "records"
        return
    if spec["expect"] == "empty_or_error":
        assert len(records) == 0
    else:
        want = spec["records_if_read"]
        assert [r.title for r in records] == [w["title"] for w in want]
        assert [r.abstract for r in records] == [w["abstract"] for w in want]
        assert report.warnings
