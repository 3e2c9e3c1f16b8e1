"""The direct liblinear path gives exactly the estimators' models (see `liblinear`)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import sparse
from sklearn.linear_model import LogisticRegression
from sklearn.svm import LinearSVC

from peerscreen.screening import liblinear
from peerscreen.screening.learner import balanced_weights
from peerscreen.screening.liblinear import fit_linear


def _problem(n_rows: int, n_columns: int, seed: int) -> tuple[sparse.csr_matrix, np.ndarray]:
    rng = np.random.default_rng(seed)
    features = sparse.random(n_rows, n_columns, density=0.2, format="csr", random_state=seed)
    labels = (rng.random(n_rows) < 0.2).astype(int)
    labels[:2] = [0, 1]
    return features, labels


def _assert_same_model(estimator, loss: str, features, labels, seed: int) -> None:
    """`fit_linear` with the estimator's settings gives exactly its coefficients."""
    weights = balanced_weights(labels, 9.8)
    estimator.fit(features, labels, sample_weight=weights)
    coef, intercept = fit_linear(
        features,
        labels,
        loss=loss,
        C=estimator.C,
        tol=estimator.tol,
        random_state=seed,
        sample_weight=weights,
    )
    assert np.array_equal(coef, estimator.coef_)
    assert np.array_equal(intercept, estimator.intercept_)


@pytest.mark.parametrize("shape", [(40, 300), (300, 20)])  # dual and primal under "auto"
@pytest.mark.parametrize("seed", [0, 7])
def test_squared_hinge_is_linear_svc(shape: tuple[int, int], seed: int) -> None:
    features, labels = _problem(*shape, seed)
    svm = LinearSVC(C=0.11, tol=1e-2, random_state=seed)
    _assert_same_model(svm, "squared_hinge", features, labels, seed)


@pytest.mark.parametrize("seed", [0, 3])
def test_logistic_regression_is_liblinear_dual_logistic_regression(seed: int) -> None:
    features, labels = _problem(50, 400, seed)
    model = LogisticRegression(C=5.0, tol=1e-3, solver="liblinear", dual=True, random_state=seed)
    _assert_same_model(model, "logistic_regression", features, labels, seed)


def test_inputs_the_direct_path_does_not_take_go_through_the_estimator(monkeypatch) -> None:
    features, labels = _problem(40, 300, 1)
    weights = balanced_weights(labels, 9.8)
    dense = features.toarray()
    options = dict(loss="squared_hinge", C=0.11, tol=1e-2, random_state=1, sample_weight=weights)
    direct = fit_linear(features, labels, **options)
    monkeypatch.setattr(liblinear, "_liblinear", None)
    assert np.array_equal(fit_linear(dense, labels, **options)[0], direct[0])
    assert np.array_equal(fit_linear(features, labels, **options)[0], direct[0])


def test_the_solver_stays_quiet_whatever_verbosity_it_was_left_at(capfd) -> None:
    features, labels = _problem(40, 300, 2)
    liblinear._liblinear.set_verbosity_wrap(1)  # as a fresh process starts
    fit_linear(
        features,
        labels,
        loss="squared_hinge",
        C=0.11,
        tol=1e-2,
        random_state=2,
        sample_weight=balanced_weights(labels, 9.8),
    )
    assert "optimization finished" not in capfd.readouterr().out
