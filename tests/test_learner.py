"""The screening learner: scores from labels, and its shortcut around sklearn's re-validation."""

from __future__ import annotations

import numpy as np
from scipy import sparse
from sklearn.linear_model import LogisticRegression
from sklearn.svm import LinearSVC

from peerscreen.learner import ActiveLearner, _decision

TEXTS = [
    "peer support workers in community mental health teams",
    "peer-run mental health crisis respite with peer support",
    "peer support groups for mental health recovery",
    "pharmacokinetics of a new beta blocker in healthy volunteers",
    "dose finding trial of an antihistamine in children",
    "laboratory study of calcium channel kinetics",
    "",
]


def test_direct_decision_equals_sklearn():
    rng = np.random.default_rng(0)
    features = sparse.random(40, 30, density=0.2, format="csr", random_state=1)
    labels = rng.integers(0, 2, 40)
    for head in (LinearSVC(C=0.5), LogisticRegression()):
        head.fit(features, labels)
        assert np.allclose(_decision(head, features), head.decision_function(features))


def test_scores_need_both_classes_and_rank_inclusions_first():
    learner = ActiveLearner(TEXTS, seed=0)
    assert learner.scores(np.array([0]), np.array([1])) is None
    scores = learner.scores(np.array([0, 3]), np.array([1, 0]))
    assert scores.shape == (len(TEXTS),) and ((scores > 0) & (scores < 1)).all()
    unlabelled = [1, 2, 4, 5]
    best_two = sorted(unlabelled, key=lambda i: -scores[i])[:2]
    assert set(best_two) == {1, 2}
    assert learner.has_text.tolist() == [True] * 6 + [False]


def test_textless_records_do_not_move_the_model():
    learner = ActiveLearner(TEXTS, seed=0)
    base = learner.scores(np.array([0, 3]), np.array([1, 0]))
    with_empty = learner.scores(np.array([0, 3, 6]), np.array([1, 0, 0]))
    assert np.allclose(base, with_empty)
    # ...unless the textless record is the only example of its class
    alone = learner.scores(np.array([0, 6]), np.array([1, 0]))
    assert alone is not None and alone.shape == (len(TEXTS),)


def test_guide_texts_train_as_inclusions_and_are_not_scored():
    plain = ActiveLearner(TEXTS, seed=0)
    guided = ActiveLearner(TEXTS, seed=0, guide_texts=["peer-run crisis respite services", ""])
    assert guided.guide_features.shape[0] == 1  # blank guides are dropped
    known, labels = np.array([0, 3]), np.array([1, 0])
    before, after = plain.scores(known, labels), guided.scores(known, labels)
    assert after.shape == (len(TEXTS),)
    # the record the guide describes gains on the one it does not
    assert after[1] - after[2] > before[1] - before[2]
