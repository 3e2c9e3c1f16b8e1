"""Every flag carries the whole sentence it came from, with offsets, and shows it."""

from __future__ import annotations

import dataclasses

import pytest

from peerscreen.review.criteria import CriteriaFlagger, Flag, record_text
from peerscreen.review.protocol import load_protocol

TITLE = "Peer support groups in a community mental health service"
ABSTRACT = (
    "Groups met weekly for a year. Forty adolescents aged 13-17 attended. "
    "Attendance was recorded by the facilitators."
)


@pytest.fixture(scope="module")
def flagger():
    return CriteriaFlagger(load_protocol())


def test_flag_has_its_sentence_and_offsets(flagger):
    flag = next(f for f in flagger.flag(TITLE, ABSTRACT).exclusions if f.code == "youth_only")
    text = record_text(TITLE, ABSTRACT)
    assert flag.sentence == "Forty adolescents aged 13-17 attended."
    assert text[flag.sentence_start : flag.sentence_end] == flag.sentence
    assert flag.sentence_start <= flag.start < flag.end <= flag.sentence_end


def test_title_is_its_own_sentence(flagger):
    """A title without a full stop no longer runs on into the abstract's first sentence."""
    title = "Peer support for adolescents with depression"
    flag = flagger.flag(title, "Groups met weekly. Members rated them highly.").exclusions[0]
    assert flag.where == "title"
    assert flag.sentence == title
    abstract_hit = flagger.flag("Mutual help groups", "Adolescents joined the groups.")
    assert abstract_hit.exclusions[0].sentence == "Adolescents joined the groups."


def test_output_column_shows_the_sentence(flagger):
    described = flagger.flag(TITLE, ABSTRACT).describe()
    assert 'youth_only: "adolescents" (' in described
    assert 'in "Forty adolescents aged 13-17 attended."' in described


def test_metadata_flags_have_no_sentence(flagger):
    flag = flagger.flag("Peer specialists", "", year=1976).exclusions[0]
    assert flag.where == "metadata"
    assert (flag.sentence, flag.sentence_start, flag.sentence_end) == ("", 0, 0)
    assert " in " not in flag.describe()


def test_flags_saved_by_an_older_version_still_load():
    """screening/project.py rebuilds flags with Flag(**stored): old JSON lacks the offsets."""
    old = {
        "code": "youth_only",
        "evidence": "adolescents",
        "start": 10,
        "end": 21,
        "confidence": 0.8,
        "where": "abstract",
        "context": "Forty adolescents attended.",
    }
    flag = Flag(**old)
    assert (flag.sentence_start, flag.sentence_end) == (0, 0)
    assert set(dataclasses.asdict(flag)) >= set(old)
