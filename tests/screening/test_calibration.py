"""Calibrated p_include: Platt scaling on out-of-fold decision values (issue 16, item 4)."""

from __future__ import annotations

import numpy as np
import pytest

from peerscreen.screening.calibration import (
    apply_platt,
    fold_assignment,
    p_include_in_words,
    platt_fit,
    recalibration_due,
)
from peerscreen.screening.learner import ActiveLearner
from tests.screening.test_learner import TEXTS


def test_platt_fit_recovers_a_known_logistic_curve():
    rng = np.random.default_rng(0)
    d = rng.normal(0, 1, 20_000)
    y = (rng.random(len(d)) < 1 / (1 + np.exp(-(3.0 * d - 1.0)))).astype(int)
    slope, intercept = platt_fit(d, y)
    assert slope == pytest.approx(3.0, abs=0.15) and intercept == pytest.approx(-1.0, abs=0.1)


def test_platt_smoothing_keeps_separable_labels_finite():
    slope, intercept = platt_fit(np.array([-2.0, -1.0, 1.0, 2.0]), np.array([0, 0, 1, 1]))
    p = apply_platt(np.array([-2.0, 2.0]), slope, intercept)
    assert np.isfinite([slope, intercept]).all() and slope > 0
    # Platt's targets: 2 inclusions count as 3/4, 2 exclusions as 1/4; never 0 or 1
    assert 0.05 < p[0] < 0.5 < p[1] < 0.95


def test_scores_that_do_not_order_inclusions_get_no_slope():
    d = np.array([-2.0, -1.0, 1.0, 2.0, 3.0])
    y = np.array([1, 1, 0, 0, 0])  # inclusions scored lowest: no signal to trust
    slope, intercept = platt_fit(d, y)
    assert slope == 0.0
    # the smoothed share of inclusions: (2 x 3/4 + 3 x 1/5) / 5
    assert apply_platt(np.array([0.0]), slope, intercept)[0] == pytest.approx(0.42)


def test_folds_are_stratified_and_need_two_of_each_class():
    labels = np.array([1, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0])
    folds = fold_assignment(labels, seed=0)
    assert folds.max() + 1 == 3  # as many folds as inclusions, at most 5
    for fold in range(3):
        assert set(labels[folds == fold]) == {0, 1}
    assert fold_assignment(np.array([1, 0, 0, 0]), seed=0) is None
    assert fold_assignment(np.array([1, 1, 0]), seed=0) is None


def test_recalibration_is_due_on_inclusions_or_a_share_of_labels():
    assert recalibration_due((200, 10), (201, 11))
    assert not recalibration_due((200, 10), (205, 10))
    assert recalibration_due((200, 10), (210, 10))
    assert recalibration_due((20, 3), (21, 3))  # few labels: every one


def test_p_include_in_words():
    assert p_include_in_words(0.31).startswith("about 3 in 10 ")
    assert p_include_in_words(0.04).startswith("about 4 in 100 ")
    assert p_include_in_words(0.002).startswith("under 1 in 100 ")


def test_scored_keeps_the_ranking_and_spreads_p_include():
    learner = ActiveLearner(TEXTS, seed=0)
    known, labels = np.array([0, 1, 3, 4]), np.array([1, 1, 0, 0])
    scored = learner.scored(known, labels)
    np.testing.assert_array_equal(scored.ranking, learner.scores(known, labels))
    p = scored.p_include
    assert p is not None and ((p > 0) & (p < 1)).all()
    # the unscreened on-topic record above one half, off-topic below (before this, the
    # fold models' calibration applied to the full model put the off-topic one at 0.9)
    assert p[2] > 0.5 > p[5]
    assert scored.ranking[2] > scored.ranking[5]
    # one inclusion only: no p_include yet, the ranking still there
    single = ActiveLearner(TEXTS, seed=0).scored(np.array([0, 3, 4]), np.array([1, 0, 0]))
    assert single.p_include is None and single.ranking.shape == (len(TEXTS),)
