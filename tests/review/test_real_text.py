"""Real-text cases: short, team-written sentences phrased the way real abstracts phrase
things. An outcome, a category or an exclusion named in a background sentence is no
finding; the same words in a methods or results sentence are, with offsets a reviewer can
check."""

import json

import pytest

from peerscreen.review.criteria import CriteriaFlagger, record_text
from peerscreen.review.evidence import EvidenceGate
from peerscreen.review.protocol import load_protocol
from peerscreen.review.sentences import sentence_bounds, sentences

TITLE = "Peer specialists for adults with schizophrenia: a randomised trial"


@pytest.fixture(scope="module")
def protocol():
    return load_protocol()


@pytest.fixture(scope="module")
def gate(protocol):
    return EvidenceGate(protocol)


@pytest.fixture(scope="module")
def flagger(protocol):
    return CriteriaFlagger(protocol)


def test_background_quality_of_life_is_no_evidence(gate):
    found = gate.scan(
        "Antipsychotic dosing in schizophrenia",
        "Quality of life is often impaired in schizophrenia. We compared two dosing "
        "schedules in 80 inpatients; relapse was recorded for a year.",
    )
    assert "quality_of_life" not in found.outcomes


def test_measured_quality_of_life_has_evidence_with_offsets(gate):
    abstract = (
        "Quality of life is often impaired in schizophrenia. We randomised 120 adults to "
        "peer specialists or usual care. Quality of life (SF-36) improved in the peer arm "
        "(p < 0.01)."
    )
    found = gate.scan(TITLE, abstract)
    text = record_text(TITLE, abstract)
    evidence = found.outcomes["quality_of_life"]
    assert all(e.role != "background" for e in evidence)
    first = evidence[0]
    assert text[first.start : first.end] == first.phrase
    assert first.sentence.startswith("Quality of life (SF-36) improved")
    assert first.role == "results"


def test_structured_headings_give_the_roles():
    abstract = (
        "BACKGROUND: Loneliness is common in psychosis. METHODS: Social support was "
        "measured with the Social Support Questionnaire. RESULTS: Scores rose by 12%. "
        "CONCLUSIONS: Peer groups may help."
    )
    text = record_text("A title", abstract)
    roles = [s.role for s in sentences(text, len("A title"))]
    assert roles == ["title", "background", "methods", "results", "conclusion"]


def test_unheaded_abstract_roles_from_cues():
    text = (
        "Little is known about peer workers in crisis care. We interviewed 30 service "
        "users. Admissions fell by 20% (p = 0.03). These findings suggest that peers help."
    )
    assert [s.role for s in sentences(text)] == ["background", "methods", "results", "conclusion"]


def test_sentences_do_not_break_inside_numbers_and_abbreviations():
    text = "Scores rose by 1.5 points (p < .05), e.g. on the SF-36 vs. usual care. Next one."
    bounds = sentence_bounds(text)
    assert len(bounds) == 2
    assert text[bounds[1][0] : bounds[1][1]] == "Next one."


def test_sentences_split_where_an_export_glued_them():
    text = "No difference in the clinical outcome.Both methods were safe."
    assert len(sentence_bounds(text)) == 2


def test_negated_outcome_is_no_evidence(gate):
    found = gate.scan(TITLE, "We randomised 60 adults. Costs were not measured in this trial.")
    assert "service_use_costs" not in found.outcomes


def test_confidence_interval_is_no_self_confidence(gate):
    found = gate.scan(TITLE, "Relapse fell (odds ratio 0.6, 95% confidence interval 0.4-0.9).")
    assert "self_esteem_efficacy" not in found.outcomes


def test_acronym_cue_must_match_as_written(gate):
    found = gate.scan("KRAS mutations in tumours", "We measured ras activity in 40 samples.")
    assert "recovery_hope" not in found.outcomes
    measured = gate.scan(TITLE, "Recovery was measured with the RAS at 12 months.")
    assert "recovery_hope" in measured.outcomes


def test_background_exclusion_cue_does_not_fire(flagger):
    result = flagger.flag(
        TITLE,
        "Alcohol use is common among people with schizophrenia. We randomised 120 adults "
        "to peer specialists or usual care.",
    )
    assert "substance_use" not in result.codes
    assert any(f.code == "substance_use" and f.role == "background" for f in result.background)


def test_exclusion_cue_in_methods_fires_with_its_role(flagger):
    result = flagger.flag(TITLE, "We recruited 90 adults with alcohol dependence from clinics.")
    flag = next(f for f in result.exclusions if f.code == "substance_use")
    assert flag.role in {"methods", "results"}


def test_youth_only_does_not_fire_when_the_sentence_names_adults(flagger):
    both = flagger.flag(TITLE, "We enrolled 200 children and adults with epilepsy.")
    assert "youth_only" not in both.codes
    children = flagger.flag(TITLE, "We enrolled 200 children aged 4 to 12 with epilepsy.")
    assert "youth_only" in children.codes


def test_pediatric_population_trips_youth_only(flagger):
    result = flagger.flag("Levetiracetam in pediatric patients with partial seizures", "")
    assert "youth_only" in result.codes


def test_parents_of_children_is_not_a_youth_population(flagger):
    result = flagger.flag(TITLE, "The parents of children with autism attended a support group.")
    assert "youth_only" not in result.codes


def test_category_needs_peer_support_outside_background(gate):
    background = gate.scan(
        "Gabapentin for neuropathic pain",
        "Support groups are often recommended for chronic pain. We randomised 300 adults "
        "to gabapentin or placebo; pain scores fell by 30%.",
    )
    assert gate.category_gate("mutual_help", 0.9, background) == "none"
    measured = gate.scan(TITLE, "Adults who attended peer-led groups reported less distress.")
    assert gate.category_gate("mutual_help", 0.9, measured) == "mutual_help"


def test_evidence_json_lists_code_phrase_offsets_sentence_and_role(gate):
    from peerscreen.review.evidence import evidence_json

    found = gate.scan(TITLE, "Quality of life (SF-36) improved in the peer arm (p < 0.01).")
    items = json.loads(evidence_json(found.outcomes["quality_of_life"]))
    assert set(items[0]) == {"code", "phrase", "start", "end", "sentence", "role"}
    assert items[0]["code"] == "quality_of_life"


def test_title_only_record_has_only_the_title(gate):
    found = gate.scan("Quality of life after surgery: 95% improved", None)
    assert [s.role for s in found.sentences] == ["title"]
    assert "quality_of_life" in found.outcomes


# -- youth_only: the studied population all under 18 (issue 14) --------------------------------
@pytest.mark.parametrize(
    ("title", "abstract"),
    [
        # an adult age for the sample, in a sentence of its own, cancels every hit
        ("Gabapentin for epilepsy in children", "We treated 45 patients aged 2 to 45 years."),
        (
            "Seizure control after surgery for childhood epilepsy",
            "We reviewed 80 patients (mean age 31 years) operated on between 1990 and 2000.",
        ),
        # a life stage or a disease name is no population
        (TITLE, "We report a 34-year-old man with seizures since childhood."),
        ("Particulated juvenile cartilage allograft for knee defects", ""),
        # animals, and adults in a role towards children
        (TITLE, "Defects were created in the knees of twenty 4-month-old rabbits."),
        (
            TITLE,
            "We interviewed 20 staff of child and adolescent mental health services about "
            "working with peer workers.",
        ),
        (TITLE, "Mothers of young children joined the group; parents whose children were ill."),
    ],
)
def test_youth_only_does_not_fire_without_a_population_all_under_18(flagger, title, abstract):
    assert "youth_only" not in flagger.flag(title, abstract).codes


@pytest.mark.parametrize(
    ("title", "abstract"),
    [
        (TITLE, "We enrolled 60 pupils aged 12-16 from three secondary schools."),
        ("Status epilepticus after a febrile illness", "A 9-year-old boy presented with seizures."),
        ("Levetiracetam as add-on therapy", "Participants (mean age 10.5 years) were randomised."),
    ],
)
def test_youth_only_fires_on_ages_under_18(flagger, title, abstract):
    assert "youth_only" in flagger.flag(title, abstract).codes


def test_adult_ages_of_the_helpers_leave_a_youth_population_with_its_own_ages(flagger):
    abstract = "We enrolled 40 adolescents aged 13-17. Peer mentors, aged 19-24, met them weekly."
    assert "youth_only" in flagger.flag(TITLE, abstract).codes


def test_a_youth_age_in_the_same_sentence_as_an_adult_age_is_out_of_scope(flagger):
    result = flagger.flag(TITLE, "Children aged 3 to 19 years took part.")
    assert "youth_only" not in result.codes
    assert any(f.code == "youth_only" for f in result.out_of_scope)


# -- outcome cues that are other things on real text ---------------------------------------------
@pytest.mark.parametrize(
    ("code", "other_sense", "outcome"),
    [
        (
            "social_support",
            "Chondrocytes were obtained after enzymatic isolation and expanded in culture.",
            "Members reported reduced isolation and loneliness at six months (p = 0.02).",
        ),
        (
            "self_esteem_efficacy",
            "Clinicians should have confidence in prescribing the new product.",
            "Members gained confidence in managing their symptoms (p < 0.05).",
        ),
        (
            "self_esteem_efficacy",
            "Joint space was measured on the Rosenberg view radiograph.",
            "Self-esteem was measured with the Rosenberg Self-Esteem Scale.",
        ),
        (
            "engagement_access",
            "We recruited 200 patients from primary care practices.",
            "Connection to primary care rose from 40% to 65% in the peer arm.",
        ),
        (
            "engagement_access",
            "The scaffold improved cell retention in the defect.",
            "Retention in treatment at six months was 80% in the peer arm.",
        ),
        (
            "satisfaction",
            "Twelve studies satisfied the inclusion criteria.",
            "Most members (84%) were satisfied with the groups.",
        ),
    ],
)
def test_an_outcome_word_in_another_sense_is_no_evidence(gate, code, other_sense, outcome):
    assert code not in gate.scan(TITLE, "We randomised 90 adults. " + other_sense).outcomes
    assert code in gate.scan(TITLE, "We randomised 90 adults. " + outcome).outcomes
