"""Shared heads: calibration that survives classes with one or two examples."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.naive_bayes import ComplementNB
from sklearn.svm import LinearSVC

from peerscreen.review.models.heads import SmallClassCalibrated


def _data(counts: dict[int, int], seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X, y = [], []
    for label, n in counts.items():
        centre = np.zeros(6)
        centre[label] = 3.0
        X.append(np.abs(centre + rng.normal(size=(n, 6))))
        y += [label] * n
    return np.vstack(X), np.array(y)


@pytest.mark.parametrize(
    ("counts", "calibrated"),
    [
        ({0: 30, 1: 10}, True),
        ({0: 30, 1: 2}, True),
        ({0: 30, 1: 1}, False),
        ({0: 20, 1: 9, 2: 1}, False),
    ],
)
def test_folds_shrink_to_the_rarest_class(counts, calibrated):
    X, y = _data(counts)
    head = SmallClassCalibrated(LinearSVC(), cv=5).fit(X, y)
    assert head.calibrated_ is calibrated
    proba = head.predict_proba(X)
    assert proba.shape == (len(y), len(counts))
    assert np.allclose(proba.sum(axis=1), 1) and ((proba >= 0) & (proba <= 1)).all()
    assert (head.predict(X) == y).mean() > 0.8
    # evidence words need the linear weights, wherever they are
    linear = head.calibrated_classifiers_[0].estimator if calibrated else head
    assert linear.coef_.shape[1] == X.shape[1]


def test_uncalibrated_fallback_uses_the_models_own_probabilities():
    X, y = _data({0: 15, 1: 1})
    head = SmallClassCalibrated(ComplementNB(), cv=3).fit(X, y)
    assert not head.calibrated_ and head.calibrated_classifiers_ == []
    assert np.allclose(head.predict_proba(X), head.model_.predict_proba(X))
