"""The loop's linear fits, straight to liblinear: the same solver, seed and answer as
`LinearSVC` / `LogisticRegression(solver="liblinear")`, without their per-fit checks.

Why: a simulation refits its heads hundreds of times on matrices this package built and
validated once. sklearn's estimators re-validate every input, encode the labels, build a
random state and check the sample weights on every fit; on the benchmark's larger reviews
(Cohen_2006_BetaBlockers, SkeletalMuscleRelaxants) that was half of each fit's time, and
the solver the other half. `tests/screening/test_liblinear.py` holds this path to the
estimators' exact coefficients, so a scikit-learn release that changes liblinear's
private entry point fails there; `fit_linear` then falls back to the public estimators.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np
from scipy import sparse
from sklearn.linear_model import LogisticRegression
from sklearn.svm import LinearSVC

try:  # private, stable for years; guarded so a change costs speed, not correctness
    from sklearn.svm import _liblinear
    from sklearn.svm._base import _get_liblinear_solver_type
except ImportError:  # pragma: no cover - depends on the installed scikit-learn
    _liblinear = None

#: The losses `fit_linear` takes, with the estimator's max_iter default.
LOSSES = {"squared_hinge": 1000, "logistic_regression": 100}
#: Both classes weigh 1 (the balance lives in the sample weights, `balanced_weights`).
_CLASS_WEIGHT = np.ones(2)


def fit_linear(
    X: Any,
    y: np.ndarray,
    *,
    loss: str,
    C: float,
    tol: float,
    random_state: int,
    sample_weight: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """(coef_ of shape (1, n_features), intercept_ of shape (1,)) of an L2 linear model on
    0/1 labels y: `LinearSVC` for loss "squared_hinge" (dual chosen as its "auto" does),
    `LogisticRegression(solver="liblinear", dual=True)` for "logistic_regression"."""
    y = np.asarray(y)
    dual = loss == "logistic_regression" or X.shape[0] < X.shape[1]
    if not _direct_path_fits(X, y, random_state):
        return _fit_estimator(X, y, loss, C, tol, random_state, sample_weight, dual)
    _liblinear.set_verbosity_wrap(0)  # a process-wide switch, on until someone sets it
    raw_coef, _ = _liblinear.train_wrap(
        X,
        np.asarray(y, dtype=np.float64),
        True,
        _get_liblinear_solver_type("ovr", "l2", loss, dual),
        tol,
        1.0,  # bias: fit_intercept with intercept_scaling 1
        C,
        _CLASS_WEIGHT,
        LOSSES[loss],
        _seed_for(random_state),
        0.1,
        np.ascontiguousarray(sample_weight, dtype=np.float64),
    )
    return raw_coef[:, :-1], raw_coef[:, -1].copy()


def _direct_path_fits(X: Any, y: np.ndarray, random_state: Any) -> bool:
    """Whether the inputs are what the estimators would hand liblinear unchanged: a CSR
    float64 matrix with 32-bit indices, labels exactly {0, 1}, an integer seed."""
    return (
        _liblinear is not None
        and isinstance(random_state, int | np.integer)
        and sparse.issparse(X)
        and X.format == "csr"
        and X.dtype == np.float64
        and X.indices.dtype == np.int32
        and X.indptr.dtype == np.int32
        and set(np.unique(y).tolist()) == {0, 1}
    )


@lru_cache(maxsize=64)
def _seed_for(random_state: int) -> int:
    """The seed the estimators pass liblinear for this random_state (their first draw)."""
    return int(np.random.RandomState(random_state).randint(np.iinfo("i").max))


def _fit_estimator(
    X: Any,
    y: np.ndarray,
    loss: str,
    C: float,
    tol: float,
    random_state: Any,
    sample_weight: np.ndarray,
    dual: bool,
) -> tuple[np.ndarray, np.ndarray]:
    """The public estimators' fit: inputs the direct path does not take."""
    if loss == "squared_hinge":
        model: Any = LinearSVC(C=C, tol=tol, random_state=random_state, dual=dual)
    else:
        model = LogisticRegression(
            C=C, tol=tol, solver="liblinear", dual=True, random_state=random_state
        )
    model.fit(X, y, sample_weight=sample_weight)
    return model.coef_, np.ravel(model.intercept_)
