"""Criteria flags: hits with evidence, negation and scope, the metadata window, speed path."""

import pytest

from peerscreen.review.criteria import CriteriaFlagger, record_text
from peerscreen.review.protocol import load_protocol


@pytest.fixture(scope="module")
def flagger():
    return CriteriaFlagger(load_protocol())


def test_plain_hit_with_evidence_and_offsets(flagger):
    title = "Peer support groups for adolescents with depression"
    result = flagger.flag(title, "Forty adolescents aged 13-17 attended weekly groups.")
    assert "youth_only" in result.codes
    flag = next(f for f in result.exclusions if f.code == "youth_only")
    text = record_text(title, "Forty adolescents aged 13-17 attended weekly groups.")
    assert text[flag.start : flag.end] == flag.evidence
    assert "adolescent" in flag.evidence.lower()
    assert 0 < flag.confidence <= 0.99
    assert flag.where == "title"


@pytest.mark.parametrize(
    "abstract",
    [
        "Membership was not limited to women; men and women attended.",
        "Adults took part; adolescents were excluded.",
        "Unlike an online forum, the groups met face to face in a community hall.",
        "Excluding adolescents, 120 adults with schizophrenia joined the groups.",
    ],
)
def test_negated_mentions_are_not_hits(flagger, abstract):
    result = flagger.flag("Mutual help groups for adults with serious mental illness", abstract)
    assert not {"women_only", "youth_only", "online_or_phone_only"} & set(result.codes)
    assert result.negated


def test_negation_does_not_cross_a_clause(flagger):
    result = flagger.flag(
        "A women-only peer group",
        "Men were not recruited, but the group was for women only and met weekly.",
    )
    assert "women_only" in result.codes


def test_title_hit_counts_more_than_abstract_hit(flagger):
    in_title = flagger.flag("Peer support for bereaved parents", "")
    in_abstract = flagger.flag("Peer support groups", "Groups for bereaved parents met monthly.")
    assert in_title.confidence("bereavement") > in_abstract.confidence("bereavement")


def test_window_is_a_metadata_check(flagger):
    assert "out_of_window" in flagger.flag("Peer specialists", "", year=1976).codes
    assert "out_of_window" in flagger.flag("Peer specialists", "", year=2004, language="de").codes
    assert (
        "out_of_window" not in flagger.flag("Peer specialists", "", year=2004, language="eng").codes
    )
    assert "out_of_window" not in flagger.flag("Peer specialists", "").codes


def test_design_and_population_cues(flagger):
    result = flagger.flag(
        "A randomized controlled trial of peer specialists",
        "Adults with schizophrenia were interviewed in focus groups after the trial.",
    )
    assert "rct" in result.design
    assert result.population
    assert result.category_cues.get("peer_employees")


def test_flag_many_matches_flag(flagger):
    titles = ["Peer support for adolescents", "Consumer-run drop-in centres", None]
    abstracts = ["", "A survey of members.", "Online forum for depression."]
    many = flagger.flag_many(titles, abstracts, [2000, 1975, None], ["en", "en", None])
    one = [
        flagger.flag(t, a, year=y)
        for t, a, y in zip(titles, abstracts, [2000, 1975, None], strict=True)
    ]
    assert [r.describe() for r in many] == [r.describe() for r in one]


def test_generic_engine_runs_another_review():
    from tests.conftest import ROOT

    other = CriteriaFlagger(
        load_protocol(ROOT / "configs" / "examples" / "exercise-depression.toml")
    )
    result = other.flag("Yoga classes for older adults", "", year=1985)
    assert isinstance(result.codes, list)


def test_spacy_pipeline_component():
    import spacy

    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    nlp.add_pipe("peerscreen_criteria")
    doc = nlp("Peer support groups for adolescents. Membership was not limited to women.")
    assert "youth_only" in doc._.criteria.codes
    assert "women_only" not in doc._.criteria.codes
