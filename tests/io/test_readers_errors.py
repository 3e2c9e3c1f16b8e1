"""Bad input raises InputError naming the file and, where it can, the record or line."""

from __future__ import annotations

from pathlib import Path

import pytest

from peerscreen.errors import InputError, PeerscreenError
from peerscreen.io.readers import MAX_FIELD_CHARS, read_file


def _write(tmp_path: Path, name: str, content: str | bytes) -> Path:
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


BINARY = bytes(range(256)) * 8


@pytest.mark.parametrize("name", ["x.ris", "x.csv", "x.nbib", "x.bib", "x.jsonl", "x.txt"])
def test_binary_file_is_rejected(tmp_path, name):
    path = _write(tmp_path, name, BINARY)
    with pytest.raises(PeerscreenError, match="binary"):
        read_file(path)


def test_csv_without_title_or_abstract_column(tmp_path):
    path = _write(tmp_path, "x.csv", "id,foo,bar\n1,a,b\n")
    with pytest.raises(InputError, match="no title or abstract column") as info:
        read_file(path)
    assert info.value.path == str(path)


def test_csv_with_a_ragged_row_names_the_line(tmp_path):
    path = _write(tmp_path, "x.csv", "title,abstract\na,b\nc,d,e,f\n")
    with pytest.raises(InputError) as info:
        read_file(path)
    assert "expected 2 fields, found 4" in str(info.value)
    assert info.value.location.startswith("line 3")


def test_huge_field_names_the_record(tmp_path):
    big = "word " * (MAX_FIELD_CHARS // 5 + 10)
    path = _write(tmp_path, "x.csv", f"title,abstract\nok,fine\nbig,{big}\n")
    with pytest.raises(InputError, match="characters") as info:
        read_file(path)
    assert "2" in info.value.location


def test_fifty_megabyte_field_from_an_unclosed_quote(tmp_path):
    path = tmp_path / "x.csv"
    with path.open("w", encoding="utf-8") as handle:
        handle.write('title,abstract\nfine,"an unclosed quote ')
        chunk = "a" * 1_000_000
        for _ in range(50):
            handle.write(chunk)
    with pytest.raises(InputError, match=r"longer than|characters") as info:
        read_file(path)
    assert info.value.location is not None


def test_broken_json_names_line_and_column(tmp_path):
    path = _write(tmp_path, "x.json", '[{"title": "a"},\n {"title": ')
    with pytest.raises(InputError, match="broken JSON") as info:
        read_file(path)
    assert info.value.location.startswith("line 2")


def test_broken_jsonl_names_the_line(tmp_path):
    path = _write(tmp_path, "x.jsonl", '{"title": "a"}\n{"title": "b"}\n{"title": \n')
    with pytest.raises(InputError, match="broken JSON") as info:
        read_file(path)
    assert info.value.location == "line 3"


def test_malformed_xml(tmp_path):
    path = _write(tmp_path, "x.xml", "<PubmedArticleSet><PubmedArticle><MedlineCitation>")
    with pytest.raises(InputError, match="malformed XML"):
        read_file(path)


def test_ris_without_records(tmp_path):
    path = _write(tmp_path, "x.ris", "this is not RIS\njust text\n")
    with pytest.raises(InputError, match="no RIS record"):
        read_file(path)


def test_unbalanced_bibtex_names_the_line(tmp_path):
    path = _write(
        tmp_path,
        "x.bib",
        "@article{a,\n  title = {ok},\n}\n\n@article{b,\n title = {never closed\n",
    )
    with pytest.raises(InputError, match="BibTeX") as info:
        read_file(path)
    assert info.value.location.startswith("line")


@pytest.mark.parametrize("content", ["", "   \n"])
def test_empty_files(tmp_path, content):
    with pytest.raises(InputError, match="empty"):
        read_file(_write(tmp_path, "x.csv", content))


def test_missing_file(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        read_file(tmp_path / "nope.csv")


def test_unknown_format_option(tmp_path):
    path = _write(tmp_path, "x.csv", "title\na\n")
    with pytest.raises(InputError, match="unknown --format 'docx'"):
        read_file(path, "docx")


def test_truncated_ris_keeps_the_cut_record_with_a_warning(tmp_path):
    path = _write(
        tmp_path, "x.ris", "TY  - JOUR\nTI  - One\nER  - \n\nTY  - JOUR\nTI  - Two\nAB  - cut"
    )
    records, report = read_file(path)
    assert records.frame["title"].tolist() == ["One", "Two"]
    assert any("cut off" in w for w in report.warnings)


def test_ris_record_without_er_before_next_ty_is_kept(tmp_path):
    path = _write(tmp_path, "x.ris", "TY  - JOUR\nTI  - One\nTY  - JOUR\nTI  - Two\nER  - \n")
    records, report = read_file(path)
    assert records.frame["title"].tolist() == ["One", "Two"]
    assert report.warnings


def test_latin1_csv_is_read_with_a_warning(tmp_path):
    path = _write(tmp_path, "x.csv", "title,abstract\nCaf\xe9 peers,\xfcber\n".encode("latin-1"))
    records, report = read_file(path)
    assert records[0].title == "Café peers"
    assert any("latin-1" in w for w in report.warnings)
