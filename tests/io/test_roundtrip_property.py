"""Import is idempotent: importing what peerscreen exported gives the records back.

For every format peerscreen writes and reads (CSV, TSV, JSON Lines, XLSX, Parquet, RIS):
records with dirty text (escaped markup, tags, entities, odd spacing, decomposed accents)
are written in that format, imported (x), exported in any of the formats, and imported
again: `import(export(import(x))) == import(x)`. The readers peerscreen does not write
(MEDLINE, PubMed XML, BibTeX, OpenAlex) get the same check from small files made here.
"""

from __future__ import annotations

import json

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from peerscreen.io.ingest import import_records
from peerscreen.io.readers.base import CITATION_FIELDS
from peerscreen.io.records import COLUMNS, RecordSet
from peerscreen.io.writers import WRITERS, write_records

#: The formats peerscreen both writes and reads, by extension.
FORMATS = (".csv", ".tsv", ".jsonl", ".xlsx", ".parquet", ".ris")
#: Where a record came from differs between the files, by design.
PROVENANCE = ("source_file", "source_position")

# Text as exports hold it. Left out on purpose: ";" (the list separator of flat formats),
# control characters (Excel cannot hold them) and "=" (Excel reads a leading one as a
# formula).
_pieces = st.sampled_from(
    [
        "peer",
        "support",
        "Émile",
        "Mu\u0308ller",
        "&lt;p&gt;",
        "&lt;/p&gt;",
        "<i>",
        "</i>",
        "<jats:p>",
        "CO<sub>2</sub>",
        "&amp;",
        "&amp;lt;b&amp;gt;",
        "a < b",
        "c > d",
        "<Actinopterygii>",
        "&nbsp;",
        "&#233;",
        " ",
        "  ",
        "\n",
        "\t",
        "\xa0",
        "-",
        ",",
        ".",
        "'",
        '"',
        "(1)",
        "2004",
    ]
)
_text = st.lists(_pieces, max_size=8).map("".join)
_maybe_text = st.one_of(st.none(), _text)
_list = st.lists(_text, max_size=3)


@st.composite
def _records(draw) -> RecordSet:
    """1-4 raw (uncleaned) records; some share a DOI, PMID or title so that dedup merges."""
    n = draw(st.integers(1, 4))
    columns: dict[str, list] = {name: [] for name in COLUMNS if name not in PROVENANCE}
    for name in CITATION_FIELDS:
        columns[name] = []
    for i in range(n):
        columns["record_id"].append(f"r{i}")
        columns["title"].append(
            draw(st.one_of(_maybe_text, st.just("Peer support in recovery: a trial")))
        )
        columns["abstract"].append(draw(_maybe_text))
        columns["authors"].append(draw(_list))
        columns["year"].append(draw(st.one_of(st.none(), st.integers(1990, 2030))))
        columns["journal"].append(draw(_maybe_text))
        columns["doi"].append(
            draw(st.sampled_from([None, "10.1000/A1", "https://doi.org/10.1000/b2"]))
        )
        columns["pmid"].append(draw(st.sampled_from([None, "123", "456"])))
        columns["keywords"].append(draw(_list))
        columns["mesh"].append(draw(_list))
        columns["language"].append(draw(st.sampled_from([None, "eng", "fre"])))
        columns["included"].append(draw(st.sampled_from([None, 0, 1])))
        columns["exclusion_reason"].append(
            draw(st.sampled_from([None, "youth_only", " wrong design "]))
        )
        columns["category"].append(draw(st.sampled_from([None, "groups"])))
        columns["outcomes"].append(draw(st.lists(st.sampled_from(["stigma", "hope"]), max_size=2)))
        columns["volume"].append(draw(st.sampled_from([None, "39", " 4 "])))
        columns["issue"].append(draw(st.sampled_from([None, "Supplement_1", "2"])))
        columns["start_page"].append(draw(st.sampled_from([None, "359-376", "e12"])))
        columns["end_page"].append(draw(st.sampled_from([None, "376"])))
        columns["url"].append(
            draw(
                st.sampled_from(
                    [None, "https://example.org/a?x=1&y=2", "http://a.org/1; http://b.org/2"]
                )
            )
        )
        columns["short_title"].append(draw(_maybe_text))
        columns["secondary_title"].append(draw(_maybe_text))
    return RecordSet.from_columns(columns, clean=False)


def _content(records: RecordSet, names: list[str] | None = None) -> pd.DataFrame:
    frame = records.frame
    names = names or [c for c in frame.columns if c not in PROVENANCE]
    return frame[names].reset_index(drop=True)


def _assert_idempotent(first: RecordSet, folder, target_ext: str) -> None:
    exported = write_records(first, folder / f"exported{target_ext}")
    second = import_records([exported]).records
    names = [c for c in first.frame.columns if c not in PROVENANCE]
    # an extra field no record has is no field in RIS (which writes fields, not columns)
    lost = set(names) - set(second.frame.columns)
    assert all(first.frame[name].isna().all() for name in lost), lost
    names = [name for name in names if name not in lost]
    left, right = _content(first, names), _content(second, names)
    for name in names:
        assert left[name].tolist() == right[name].tolist(), (target_ext, name)


def test_every_writer_is_checked():
    assert set(WRITERS) - {".ndjson"} == set(FORMATS)


@pytest.mark.parametrize("source_ext", FORMATS)
@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(raw=_records(), target_ext=st.sampled_from(FORMATS))
def test_import_of_an_export_gives_the_same_records(tmp_path_factory, source_ext, raw, target_ext):
    folder = tmp_path_factory.mktemp("rt")
    source = write_records(raw, folder / f"source{source_ext}")
    first = import_records([source]).records
    _assert_idempotent(first, folder, target_ext)


# -- the readers peerscreen does not write: small files of each, with escaped markup --------
_DIRTY_TITLE = "&lt;p&gt;Peer support &amp; CO<sub>2</sub>: a &lt; b&lt;/p&gt;"
_XML_TITLE = _DIRTY_TITLE.replace("<sub>", "&lt;sub&gt;").replace("</sub>", "&lt;/sub&gt;")
_SOURCES = {
    "records.nbib": (
        f"PMID- 111\nTI  - {_DIRTY_TITLE}\nAB  - Peer  workers &lt;i&gt;helped&lt;/i&gt;.\n"
        "FAU - Smith, Jane\nDP  - 2004 Jan\nJT  - Psychiatr Serv\nVI  - 56\nIP  - 2\n"
        "PG  - 417-23\nMH  - Self-Help Groups/*organization\n\n"
    ),
    "records.xml": (
        "<PubmedArticleSet><PubmedArticle><MedlineCitation><PMID>222</PMID><Article>"
        "<Journal><JournalIssue><Volume>7</Volume><Issue>1</Issue><PubDate><Year>2010</Year>"
        "</PubDate></JournalIssue><Title>Journal &amp;amp; Review</Title></Journal>"
        f"<ArticleTitle>{_XML_TITLE}"
        "</ArticleTitle><Pagination><MedlinePgn>10-9</MedlinePgn></Pagination>"
        "<Abstract><AbstractText Label='AIMS'>Peer &amp;lt;b&amp;gt;support&amp;lt;/b&amp;gt;"
        "</AbstractText></Abstract></Article></MedlineCitation></PubmedArticle>"
        "</PubmedArticleSet>"
    ),
    "records.bib": (
        "@article{key1,\n  title = {Peer support \\& recovery: &lt;i&gt;a review&lt;/i&gt;},\n"
        '  author = {M\\"uller, Anna and Smith, J.},\n  year = {2001},\n'
        "  journal = {Psychiatr Serv},\n  volume = {52},\n  number = {3},\n"
        "  pages = {145--155},\n  url = {https://example.org/x},\n}\n"
    ),
    "records.json": json.dumps(
        [
            {
                "id": "https://openalex.org/W1",
                "title": _DIRTY_TITLE,
                "publication_year": 2020,
                "biblio": {"volume": "5", "issue": None, "first_page": "1", "last_page": "9"},
                "abstract_inverted_index": {"Peer": [0], "&lt;i&gt;support&lt;/i&gt;": [1]},
                "authorships": [{"author": {"display_name": "Ann Lee"}}],
            }
        ]
    ),
}


@pytest.mark.parametrize("name", sorted(_SOURCES))
@pytest.mark.parametrize("target_ext", FORMATS)
def test_other_readers_import_idempotently(tmp_path, name, target_ext):
    source = tmp_path / name
    source.write_text(_SOURCES[name], encoding="utf-8")
    first = import_records([source]).records
    assert "<" not in first[0].title.replace("a < b", "")
    assert "&lt;" not in first[0].title
    _assert_idempotent(first, tmp_path, target_ext)


_CITATIONS = {
    "records.nbib": {"volume": "56", "issue": "2", "start_page": "417", "end_page": "23"},
    "records.xml": {"volume": "7", "issue": "1", "start_page": "10", "end_page": "9"},
    "records.bib": {
        "volume": "52",
        "issue": "3",
        "start_page": "145",
        "end_page": "155",
        "url": "https://example.org/x",
    },
    "records.json": {"volume": "5", "issue": None, "start_page": "1", "end_page": "9"},
}


@pytest.mark.parametrize("name", sorted(_SOURCES))
def test_other_readers_fill_the_citation_fields(tmp_path, name):
    source = tmp_path / name
    source.write_text(_SOURCES[name], encoding="utf-8")
    record = import_records([source]).records[0]
    assert {k: record.extra.get(k) for k in _CITATIONS[name]} == _CITATIONS[name]
