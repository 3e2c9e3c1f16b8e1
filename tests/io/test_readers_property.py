"""Any text fed to any reader either parses or raises the project's own error type."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from peerscreen.errors import PeerscreenError
from peerscreen.io.readers import READERS, read_file

# Text with the characters that drive each grammar: delimiters, quotes, tags, braces.
_alphabet = st.sampled_from(list("abcTYERAUPMID -,;\t\n\"'{}[]<>@=:/\\&#|%0123456789é\x00"))
_texts = st.one_of(
    st.text(_alphabet, max_size=300),
    st.text(max_size=200),
    st.builds(lambda body: "TY  - JOUR\n" + body, st.text(_alphabet, max_size=200)),
    st.builds(lambda body: "PMID- 1\n" + body, st.text(_alphabet, max_size=200)),
    st.builds(lambda body: "@article{k,\n" + body, st.text(_alphabet, max_size=200)),
    st.builds(lambda body: "title,abstract\n" + body, st.text(_alphabet, max_size=200)),
    st.builds(lambda body: '[{"title": ' + body, st.text(_alphabet, max_size=100)),
)
_suffix = {
    "csv": ".csv",
    "tsv": ".tsv",
    "xlsx": ".xlsx",
    "parquet": ".parquet",
    "ris": ".ris",
    "medline": ".nbib",
    "pubmed-xml": ".xml",
    "openalex": ".json",
    "bibtex": ".bib",
    "jsonl": ".jsonl",
}


def test_every_reader_has_a_suffix_here():
    assert set(READERS) == set(_suffix)


@pytest.mark.parametrize("fmt", sorted(_suffix))
@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(text=_texts)
def test_reader_parses_or_raises_own_error(tmp_path_factory, fmt, text):
    path = tmp_path_factory.mktemp("p") / f"input{_suffix[fmt]}"
    path.write_bytes(text.encode("utf-8", errors="surrogatepass"))
    try:
        records, report = read_file(path, fmt)
    except PeerscreenError:
        return
    assert report.n_records == len(records)
    assert records.frame["record_id"].is_unique
