"""The team-written corpus meets the protocol and the quotas its datasheet quotes."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from peerscreen.io.readers import read_file
from peerscreen.review.protocol import load_protocol
from tests.conftest import ROOT

CORPUS = ROOT / "data" / "corpus" / "peer_support.jsonl"


@pytest.fixture(scope="module")
def rows():
    return [json.loads(line) for line in CORPUS.read_text(encoding="utf-8").splitlines()]


@pytest.fixture(scope="module")
def protocol():
    return load_protocol()


def test_codes_follow_the_protocol(rows, protocol):
    for row in rows:
        assert row["included"] in (0, 1)
        assert row["category"] in protocol.category_codes
        assert set(row["outcomes"]) <= set(protocol.outcome_codes)
        if row["included"]:
            assert row["exclusion_reason"] is None
            assert row["category"] != protocol.none_category
        else:
            assert row["exclusion_reason"] in protocol.exclusion_codes


def test_quotas(rows, protocol):
    assert len(rows) >= 450
    assert sum(r["included"] for r in rows) >= 150
    categories = Counter(r["category"] for r in rows)
    assert all(categories[c] >= 40 for c in protocol.category_codes)
    outcomes = Counter(o for r in rows for o in r["outcomes"])
    assert all(outcomes[o] >= 15 for o in protocol.outcome_codes)
    exclusions = Counter(r["exclusion_reason"] for r in rows if not r["included"])
    assert all(exclusions[e] >= 15 for e in protocol.exclusion_codes)
    assert 20 <= sum(r["record_id"].startswith("tab-") for r in rows) <= 30
    assert sum(not r["abstract"] for r in rows) >= 5


def test_ids_and_titles_are_unique(rows):
    assert len({r["record_id"] for r in rows}) == len(rows)
    assert len({r["title"].strip().lower() for r in rows}) == len(rows)


def test_corpus_reads_as_records(rows):
    records, report = read_file(CORPUS)
    assert report.format == "jsonl"
    assert len(records) == len(rows)
    assert report.n_included == sum(r["included"] for r in rows)
    first = records[0]
    assert first.category and isinstance(first.outcomes, list)
