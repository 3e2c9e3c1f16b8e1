"""Clause scope: cues a sentence concedes or contrasts away are not flags; the rest still are.

The sentences are written by the team in the style of the corpus's abstracts. The first
is the intended inclusion reported in issue 16 (flagged `online_or_phone_only`).
"""

from __future__ import annotations

import pytest

from peerscreen.review.criteria import CriteriaFlagger
from peerscreen.review.protocol import Scope, load_protocol

TITLE = "Mutual help groups for adults with serious mental illness"


@pytest.fixture(scope="module")
def flagger():
    return CriteriaFlagger(load_protocol())


@pytest.mark.parametrize(
    ("abstract", "code"),
    [
        (
            "Although several participants also used online forums, we asked only about "
            "the in-person meetings.",
            "online_or_phone_only",
        ),
        (
            "We asked only about the in-person meetings, although several participants also "
            "used online forums.",
            "online_or_phone_only",
        ),
        (
            "Although participants used e-mail, chat rooms and online forums, we studied "
            "only the weekly groups.",
            "online_or_phone_only",
        ),
        (
            "While some groups kept in touch by e-mail, all support was given at weekly "
            "meetings in person.",
            "online_or_phone_only",
        ),
        (
            "Participants also used online forums, but we analysed only the in-person meetings.",
            "online_or_phone_only",
        ),
        (
            "Several members also posted messages on an internet forum; however, this study "
            "examined only the face-to-face meetings.",
            "online_or_phone_only",
        ),
        (
            "Although adolescents were invited, only adults with schizophrenia took part.",
            "youth_only",
        ),
    ],
)
def test_conceded_or_contrasted_cues_are_not_flags(flagger, abstract, code):
    result = flagger.flag(TITLE, abstract)
    assert code not in result.codes
    assert code in {f.code for f in result.out_of_scope}  # kept apart, not lost


@pytest.mark.parametrize(
    ("abstract", "code"),
    [
        ("The intervention was delivered only by telephone.", "online_or_phone_only"),
        ("Support was delivered online, but attendance was high.", "online_or_phone_only"),
        (
            "Although online forums were available, the support was delivered by telephone only.",
            "online_or_phone_only",
        ),
        (
            "Members met once, but contact between meetings was by telephone only.",
            "online_or_phone_only",
        ),
        (
            "Peer support was delivered entirely online, but outcomes were measured only at "
            "baseline.",
            "online_or_phone_only",
        ),
        ("Forty adolescents aged 13-17 attended weekly groups.", "youth_only"),
    ],
)
def test_asserted_cues_still_fire(flagger, abstract, code):
    assert code in flagger.flag(TITLE, abstract).codes


def test_scope_is_configured_in_the_protocol():
    protocol = load_protocol()
    assert protocol.scope.concessive  # the default config spells the block out
    off = protocol.model_copy(update={"scope": Scope(concessive=[], contrastive=[])})
    abstract = (
        "Although several participants also used online forums, we asked only about the "
        "in-person meetings."
    )
    assert "online_or_phone_only" in CriteriaFlagger(off).flag(TITLE, abstract).codes


def test_a_protocol_saved_before_scope_existed_still_builds():
    protocol = load_protocol()
    del protocol.__dict__["scope"]  # as unpickled from a model saved by an older version
    result = CriteriaFlagger(protocol).flag(
        TITLE, "Although some used online forums, we studied only the meetings."
    )
    assert "online_or_phone_only" not in result.codes


def test_fast_path_applies_the_same_scope(flagger):
    abstracts = [
        "Although several participants also used online forums, we asked only about the "
        "in-person meetings.",
        "The intervention was delivered only by telephone.",
        "Participants also used online forums, but we analysed only the in-person meetings.",
    ]
    titles = [TITLE] * len(abstracts)
    assert flagger.flag_many(titles, abstracts) == [
        flagger.flag(t, a) for t, a in zip(titles, abstracts, strict=True)
    ]
