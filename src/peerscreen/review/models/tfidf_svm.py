"""`tfidf-svm`: the `tfidf-lr` features with a linear SVM, probabilities by sigmoid calibration.

A hinge loss ignores well-classified records, which on sparse n-grams often ranks as well as
logistic regression; the SVM has no probabilities of its own, so Platt scaling on
cross-validated decision values supplies `p_include`.
"""

from __future__ import annotations

from sklearn.svm import LinearSVC

from peerscreen.review.models.heads import SmallClassCalibrated, ThresholdedMultiLabel
from peerscreen.review.models.registry import Backend, register_backend
from peerscreen.review.models.tfidf_lr import DEFAULTS as TFIDF_DEFAULTS
from peerscreen.review.models.tfidf_lr import make_featurizer

DEFAULTS = {**TFIDF_DEFAULTS, "C": 0.5}


def _svm(params: dict, seed: int) -> LinearSVC:
    return LinearSVC(C=params["C"], class_weight="balanced", random_state=seed)


def _calibrated(params: dict, seed: int) -> SmallClassCalibrated:
    return SmallClassCalibrated(_svm(params, seed), method="sigmoid", cv=params["calibration_cv"])


register_backend(
    Backend(
        name="tfidf-svm",
        description="word + char TF-IDF, criteria flags, class-weighted linear SVM (calibrated)",
        featurizer=make_featurizer,
        inclusion_head=lambda params, seed: SmallClassCalibrated(
            _svm(params, seed), method="sigmoid", cv=params["calibration_cv"], ensemble=False
        ),
        category_head=_calibrated,
        outcome_head=lambda params, seed: ThresholdedMultiLabel(
            _calibrated({**params, "calibration_cv": 3}, seed),
            cv=params["threshold_cv"],
            random_state=seed,
        ),
        defaults=DEFAULTS,
    )
)
