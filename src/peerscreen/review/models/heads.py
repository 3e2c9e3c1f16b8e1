"""Classifier heads shared by backends: a multi-label tagger with per-label thresholds, and
Platt calibration that still works when a class has only a handful of examples."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.calibration import CalibratedClassifierCV
from sklearn.model_selection import KFold, cross_val_predict
from sklearn.multiclass import OneVsRestClassifier


def best_f1_threshold(y_true: np.ndarray, scores: np.ndarray, default: float = 0.5) -> float:
    """The score threshold that maximises F1 for one label (default when it has no positive)."""
    if y_true.sum() == 0:
        return default
    order = np.argsort(-scores)
    sorted_scores, sorted_true = scores[order], y_true[order]
    tp = np.cumsum(sorted_true)
    predicted = np.arange(1, len(scores) + 1)
    f1 = 2 * tp / (predicted + y_true.sum())
    # only cut between distinct scores
    distinct = np.r_[sorted_scores[1:] != sorted_scores[:-1], True]
    best = int(np.argmax(np.where(distinct, f1, -1)))
    upper = sorted_scores[best]
    lower = sorted_scores[best + 1] if best + 1 < len(scores) else upper - 1e-6
    return float((upper + lower) / 2)


class ThresholdedMultiLabel(ClassifierMixin, BaseEstimator):
    """One binary classifier per label, each with its own decision threshold tuned by
    cross-validation to maximise that label's F1 (rare outcome domains need lower cuts)."""

    def __init__(self, estimator: Any = None, *, cv: int = 5, random_state: int | None = 0):
        self.estimator = estimator
        self.cv = cv
        self.random_state = random_state

    def fit(self, X: Any, Y: np.ndarray) -> ThresholdedMultiLabel:
        Y = np.asarray(Y)
        base = OneVsRestClassifier(clone(self.estimator))
        folds = self._folds(len(Y))
        constant = Y.min(axis=0) == Y.max(axis=0)
        if constant.any():
            Y_fit = Y.copy()
            Y_fit[0, constant] = 1 - Y_fit[0, constant]  # keep every column two-class
        else:
            Y_fit = Y
        with warnings.catch_warnings():  # a rare label can be absent from a training fold
            warnings.simplefilter("ignore", UserWarning)
            scores = cross_val_predict(base, X, Y_fit, cv=folds, method="predict_proba")
        self.thresholds_ = f1_thresholds(Y, scores)
        self.model_ = base.fit(X, Y_fit)
        self.n_labels_ = Y.shape[1]
        return self

    def _folds(self, n_records: int) -> KFold:
        """`cv` folds, fewer when there are too few records for that many."""
        n_splits = max(2, min(self.cv, n_records // 2))
        return KFold(n_splits=n_splits, shuffle=True, random_state=self.random_state)

    def predict_proba(self, X: Any) -> np.ndarray:
        return self.model_.predict_proba(X)

    def predict(self, X: Any) -> np.ndarray:
        return (self.predict_proba(X) >= self.thresholds_).astype(int)


class SmallClassCalibrated(ClassifierMixin, BaseEstimator):
    """`CalibratedClassifierCV(estimator, method, cv)` whose folds shrink to the size of the
    rarest class, so a review with a category of two records still trains.

    Why: cross-validated calibration needs every class in every fold; with cv=5 a class of
    three records stopped `train` with a traceback. With the rarest class at k >= 2 examples
    the folds drop to k; with a single example there is nothing to hold out, so the model
    is fitted on everything and its own probabilities (or its decision values through a
    logistic, or a softmax for several classes) are used: they rank correctly but are not
    calibrated."""

    def __init__(
        self, estimator: Any = None, *, method: str = "sigmoid", cv: int = 5, ensemble: bool = True
    ):
        self.estimator = estimator
        self.method = method
        self.cv = cv
        self.ensemble = ensemble

    def fit(self, X: Any, y: Any) -> SmallClassCalibrated:
        y = np.asarray(y)
        self.classes_, counts = np.unique(y, return_counts=True)
        folds = int(min(self.cv, counts.min()))
        if folds >= 2:
            self.model_ = CalibratedClassifierCV(
                clone(self.estimator), method=self.method, cv=folds, ensemble=self.ensemble
            ).fit(X, y)
        else:
            self.model_ = clone(self.estimator).fit(X, y)
        self.calibrated_ = folds >= 2
        return self

    @property
    def calibrated_classifiers_(self) -> list:
        """The calibrated folds (empty when uncalibrated), as on `CalibratedClassifierCV`."""
        return self.model_.calibrated_classifiers_ if self.calibrated_ else []

    @property
    def coef_(self) -> np.ndarray:
        """The uncalibrated model's coefficients, when it has them (for evidence words)."""
        return self.model_.coef_

    def predict_proba(self, X: Any) -> np.ndarray:
        if self.calibrated_:
            return self.model_.predict_proba(X)
        if hasattr(self.model_, "predict_proba"):
            return self.model_.predict_proba(X)
        decision = np.asarray(self.model_.decision_function(X), dtype=float)
        if decision.ndim == 1:
            positive = 1 / (1 + np.exp(-decision))
            return np.column_stack([1 - positive, positive])
        shifted = np.exp(decision - decision.max(axis=1, keepdims=True))
        return shifted / shifted.sum(axis=1, keepdims=True)

    def predict(self, X: Any) -> np.ndarray:
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]


def f1_thresholds(Y: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """Per label, the cut on out-of-fold `scores` that maximises F1; a label constant in
    training gets a cut no score reaches, so it never fires."""
    thresholds = np.array([best_f1_threshold(Y[:, j], scores[:, j]) for j in range(Y.shape[1])])
    thresholds[Y.min(axis=0) == Y.max(axis=0)] = 1.0 + 1e-9
    return thresholds
