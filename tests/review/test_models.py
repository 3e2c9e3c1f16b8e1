"""Review models: contract tests over the backend registry, heads, bands, reproducibility."""

from __future__ import annotations

import numpy as np
import pytest

from peerscreen.review.models import get_backend
from peerscreen.review.models.heads import ThresholdedMultiLabel, best_f1_threshold
from peerscreen.review.models.registry import UnknownBackendError
from peerscreen.review.models.review_model import bands_from_scores


def test_unknown_backend_lists_the_valid_names():
    with pytest.raises(UnknownBackendError, match="tfidf-lr"):
        get_backend("nope")


def test_unknown_backend_parameter_is_named():
    with pytest.raises(UnknownBackendError, match="no parameter 'Cee'"):
        get_backend("tfidf-lr").params({"Cee": 1})


def test_model_learns_something(trained):
    assert trained.metrics["inclusion_roc_auc"] > 0.8
    assert trained.metrics["category_macro_f1"] > 0.5


def test_top_terms_are_words(trained, small_corpus):
    terms = trained.model.predict(small_corpus.take([0, 1, 2]))["top_terms"]
    assert all(isinstance(t, str) for t in terms)
    assert any(t for t in terms)
    assert not any("char__" in t or "=" in t for t in terms)


def test_best_f1_threshold():
    y = np.array([0, 0, 1, 1, 1])
    scores = np.array([0.1, 0.4, 0.35, 0.8, 0.9])
    threshold = best_f1_threshold(y, scores)
    assert 0.1 < threshold <= 0.35


def test_thresholded_multilabel_handles_a_label_never_seen():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 3))
    Y = np.c_[(X[:, 0] > 0).astype(int), np.zeros(40, dtype=int)]
    from sklearn.linear_model import LogisticRegression

    tagger = ThresholdedMultiLabel(LogisticRegression(), cv=3).fit(X, Y)
    predicted = tagger.predict(X)
    assert predicted[:, 1].sum() == 0
    assert (predicted[:, 0] == Y[:, 0]).mean() > 0.8


def test_bands_reach_the_target_recall():
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 300)
    p = np.clip(y * 0.4 + rng.normal(0.3, 0.2, 300), 0, 1)
    bands = bands_from_scores(y, p, 0.95)
    kept = p >= bands.exclude_below
    assert y[kept].sum() / y.sum() >= 0.95
    assert bands.include_from >= bands.exclude_below
    decisions = bands.decide(p)
    assert set(decisions) <= {"include", "check", "exclude"}
