"""The screening learner: scores from labels, and its shortcut around sklearn's re-validation."""

from __future__ import annotations

import numpy as np
from scipy import sparse
from sklearn.linear_model import LogisticRegression
from sklearn.svm import LinearSVC

from peerscreen.screening.learner import (
    ActiveLearner,
    BalancedLinearSVM,
    _decision,
    balanced_weights,
    year_features,
)

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


def test_year_features_share_columns_between_neighbouring_years():
    block = year_features([1999, 2000, 2010, None])
    assert block.shape[0] == 4
    overlap = (block @ block.T).toarray()
    assert overlap[0, 1] > 0  # 1999 and 2000 share a five-year span
    assert overlap[0, 2] == 0  # 1999 and 2010 share nothing
    assert block[3].nnz == 0  # no year, no features
    assert year_features([None, None]) is None


def test_metadata_columns_weigh_less_until_inclusions_accumulate():
    head = BalancedLinearSVM(metadata_start=3, metadata_weight=0.3, metadata_ramp=5)
    assert head.metadata_scale(1) == 0.3 / 5
    assert head.metadata_scale(5) == head.metadata_scale(50) == 0.3
    assert BalancedLinearSVM(metadata_start=3, metadata_ramp=0).metadata_scale(1) == 0.3


def test_metadata_scale_is_folded_into_the_weights():
    rng = np.random.default_rng(0)
    features = sparse.random(60, 8, density=0.4, format="csr", random_state=2)
    labels = rng.integers(0, 2, 60)
    head = BalancedLinearSVM(metadata_start=5, random_state=0).fit(features, labels)
    scale = np.r_[np.ones(5), np.full(3, head.metadata_scale(int(labels.sum())))]
    scaled = features @ sparse.diags(scale)
    svm = LinearSVC(C=head.C, tol=head.tol, random_state=0)
    svm.fit(scaled, labels, sample_weight=balanced_weights(labels, head.ratio))
    assert np.allclose(head.decision_function(features), svm.decision_function(scaled))
    plain = BalancedLinearSVM(random_state=0).fit(features, labels)
    assert not np.allclose(plain.coef_, head.coef_)


def test_years_join_the_default_model_and_lift_records_from_the_same_years():
    texts = [f"trial of drug {d} in adults" for d in ["alpha", "beta"] * 4]
    years = [1990, 1991, 1990, 1991, 2015, 2016, 2015, None]
    learner = ActiveLearner(texts, seed=0, years=years)
    assert learner.uses_years and not ActiveLearner(texts, seed=0).uses_years
    assert learner.features.shape[1] > ActiveLearner(texts, seed=0).features.shape[1]
    scores = learner.scores(np.array([0, 1, 4, 5]), np.array([1, 1, 0, 0]))
    assert scores[2] > scores[7] > scores[6]  # 1990 > unknown year > 2015
    # a backend whose head does not weigh metadata ignores the years
    nb = ActiveLearner(texts, backend="nb", seed=0, years=years)
    assert not nb.uses_years
    assert nb.features.shape == ActiveLearner(texts, backend="nb", seed=0).features.shape
