"""Every registered screening learner keeps the loop's contract; the fusion weighs members by
how they ranked the records labelled so far."""

from __future__ import annotations

import numpy as np
import pytest

from peerscreen.errors import PeerscreenError
from peerscreen.io.records import RecordSet
from peerscreen.screening.fusion import AdaptiveFusion, rank01, rank_auc
from peerscreen.screening.learner import LearnerScores
from peerscreen.screening.learners import DEFAULT_LEARNER, LEARNERS, build_learner, get_learner
from peerscreen.screening.simulation import simulate

ON_TOPIC = [
    "peer support workers in community mental health teams",
    "peer-run mental health crisis respite with peer support",
    "peer support groups for mental health recovery",
    "mutual support by peers for people with serious mental illness",
    "peer specialists and recovery in mental health services",
]
OFF_TOPIC = [
    "pharmacokinetics of a new beta blocker in healthy volunteers",
    "dose finding trial of an antihistamine in children",
    "laboratory study of calcium channel kinetics",
    "surgical outcomes after hip replacement in older adults",
    "a randomised trial of statins for cholesterol",
    "imaging of knee cartilage with magnetic resonance",
]
TEXTS = [*ON_TOPIC, *OFF_TOPIC, ""]
YEARS = [2005, 2008, 2010, 2012, 2015, 1995, 1998, 2001, 2004, 2007, 2010, None]


@pytest.fixture(params=sorted(LEARNERS))
def learner_name(request):
    return request.param


def test_registry_knows_its_default_and_names_unknown_learners():
    assert DEFAULT_LEARNER in LEARNERS
    with pytest.raises(PeerscreenError, match=r"unknown learner 'nope'.*choose from"):
        get_learner("nope")


def test_every_learner_keeps_the_loop_contract(learner_name):
    learner = build_learner(learner_name, TEXTS, seed=0, years=YEARS)
    assert learner.n_records == len(TEXTS)
    assert learner.has_text.tolist() == [True] * 11 + [False]
    assert isinstance(learner.uses_years, bool)
    assert learner.scores(np.array([0]), np.array([1])) is None
    labelled, labels = np.array([0, 5, 1, 6]), np.array([1, 0, 1, 0])
    scores = learner.scores(labelled, labels)
    assert scores.shape == (len(TEXTS),) and np.isfinite(scores).all()
    unlabelled = [i for i in range(11) if i not in labelled]
    top_three = sorted(unlabelled, key=lambda i: -scores[i])[:3]
    assert set(top_three) == {2, 3, 4}, f"{learner_name} put off-topic records first"
    scored = learner.scored(labelled, labels)
    assert isinstance(scored, LearnerScores) and scored.ranking.shape == (len(TEXTS),)


def test_every_learner_is_deterministic_for_a_seed(learner_name):
    labelled, labels = np.array([0, 5, 1, 6, 7]), np.array([1, 0, 1, 0, 0])
    runs = [
        build_learner(learner_name, TEXTS, seed=3, years=YEARS).scores(labelled, labels)
        for _ in range(2)
    ]
    assert np.allclose(runs[0], runs[1])


def test_every_learner_runs_a_simulation(learner_name):
    frame = {
        "record_id": [str(i) for i in range(len(TEXTS))],
        "title": TEXTS,
        "abstract": [""] * len(TEXTS),
        "year": YEARS,
        "included": [1] * 5 + [0] * 7,
    }
    import pandas as pd

    records = RecordSet(pd.DataFrame(frame))
    result = simulate(records, dataset="toy", learner=learner_name, seed=0)
    assert result.settings["learner"] == learner_name
    assert sorted(result.order) == sorted(set(result.order))
    assert int(result.labels.sum()) == result.n_included


class FixedMember:
    """A stand-in member whose scores are given, to test the fusion's weighting alone."""

    def __init__(self, values):
        self.values = np.asarray(values, dtype=float)
        self.has_text = np.ones(len(values), dtype=bool)
        self.uses_years = False
        self.n_records = len(values)

    def scores(self, labelled, labels):
        return None if len(set(labels.tolist())) < 2 else self.values

    def scored(self, labelled, labels):
        values = self.scores(labelled, labels)
        return None if values is None else LearnerScores(values, None)


def test_fusion_leans_towards_the_member_that_ranked_labelled_records_well():
    truth = np.array([1, 0, 1, 0, 1, 0, 0, 0])
    good = FixedMember([0.9, 0.1, 0.8, 0.2, 0.7, 0.3, 0.2, 0.1])  # inclusions first
    bad = FixedMember([0.1, 0.9, 0.2, 0.8, 0.3, 0.7, 0.6, 0.5])  # exclusions first
    fusion = AdaptiveFusion({"good": good, "bad": bad}, sharpness=10.0)
    priors = np.array([0, 1])
    fusion.scores(priors, truth[priors])
    assert fusion.weights() == {"good": 1.0, "bad": 1.0}, "priors were scored by no member"
    later = np.array([0, 1, 2, 3, 4, 5])
    fused = fusion.scores(later, truth[later])
    weights = fusion.weights()
    assert weights["good"] == 1.0 and weights["bad"] < 1e-3
    assert np.allclose(fused, rank01(good.values), atol=1e-3)


def test_fusion_forgets_its_history_after_an_undo():
    truth = np.array([1, 0, 1, 0, 1, 0])
    good = FixedMember([0.9, 0.1, 0.8, 0.2, 0.7, 0.3])
    bad = FixedMember([0.1, 0.9, 0.2, 0.8, 0.3, 0.7])
    fusion = AdaptiveFusion({"good": good, "bad": bad})
    fusion.scores(np.array([0, 1]), truth[[0, 1]])
    fusion.scores(np.array([0, 1, 2, 3]), truth[[0, 1, 2, 3]])
    assert fusion.weights()["bad"] < 1.0
    fusion.scores(np.array([0, 1, 2]), truth[[0, 1, 2]])  # the last decision undone
    assert fusion.weights() == {"good": 1.0, "bad": 1.0}


def test_rank01_keeps_ties_tied():
    ranks = rank01(np.array([0.2, 0.5, 0.5, 0.9]))
    assert ranks[1] == ranks[2] and ranks[0] == 0.0 and ranks[3] == 1.0


def test_rank_auc_is_the_roc_auc_with_ties_counting_half():
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(0)
    for _ in range(50):
        labels = rng.integers(0, 2, 30)
        labels[:2] = [0, 1]
        values = rng.integers(0, 4, 30).astype(float)  # many ties
        assert rank_auc(labels, values) == pytest.approx(roc_auc_score(labels, values))


def test_fusion_at_sharpness_zero_keeps_equal_weights_whatever_the_history():
    truth = np.array([1, 0, 1, 0, 1, 0])
    good = FixedMember([0.9, 0.1, 0.8, 0.2, 0.7, 0.3])
    bad = FixedMember([0.1, 0.9, 0.2, 0.8, 0.3, 0.7])
    fusion = AdaptiveFusion({"good": good, "bad": bad}, sharpness=0.0)
    fusion.scores(np.array([0, 1]), truth[[0, 1]])
    fused = fusion.scores(np.array([0, 1, 2, 3]), truth[[0, 1, 2, 3]])
    assert fusion.weights() == {"good": 1.0, "bad": 1.0}
    assert np.allclose(fused, (rank01(good.values) + rank01(bad.values)) / 2)
