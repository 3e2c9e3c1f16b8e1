"""Contract tests over the whole backend registry: every backend registered, built-in or
added later, must fit, predict well-formed scores, be reproducible from its seed,
round-trip through MLflow's pyfunc format, and drive the active learner.

A backend whose optional dependency is missing is skipped with the reason its own error
gives (MiniLM backends need the transformers extra).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from peerscreen.io.cleaning import split_list
from peerscreen.review.embeddings import MissingOptionalDependencyError, minilm_available
from peerscreen.review.models import BACKENDS
from peerscreen.review.models.review_model import ReviewModel
from peerscreen.review.protocol import load_protocol
from peerscreen.screening.learner import ActiveLearner

NAMES = sorted(BACKENDS)
#: Columns the pyfunc model returns; each must survive the save/load round trip.
ROUND_TRIP_COLUMNS = ("p_include", "decision", "category", "outcomes")
#: Cheaper settings for the backends that have these parameters (two fits per backend):
#: fewer calibration and threshold folds, no character n-grams (liblinear's time on them
#: dominates the TF-IDF backends), fewer spaCy epochs. Nothing checked here depends on
#: them; `test_models.py` and the training tests run the defaults.
FAST_PARAMS = {"calibration_cv": 2, "threshold_cv": 2, "use_char": False, "max_epochs": 3}


def _fit(name: str, records, seed: int = 0) -> ReviewModel:
    if "minilm" in name and not minilm_available():
        pytest.skip(
            f"{name}: needs the transformers extra (pip install 'peerscreen[transformers]')"
        )
    params = {k: v for k, v in FAST_PARAMS.items() if k in BACKENDS[name].defaults}
    model = ReviewModel(load_protocol(), backend=name, params=params, random_state=seed)
    try:
        return model.fit(records)
    except MissingOptionalDependencyError as exc:
        pytest.skip(f"{name}: {exc}")


@pytest.fixture(scope="module")
def records(small_corpus):
    """The 150-record slice of the corpus (fewer starves the rarer outcome domains)."""
    return small_corpus


@pytest.fixture(scope="module", params=NAMES)
def fitted(request, records):
    """(backend name, model fitted with seed 0, its predictions on the training records)."""
    model = _fit(request.param, records)
    return request.param, model, model.predict(records, top_terms=0)


def test_registry_lists_every_backend_once():
    assert len(NAMES) == len(set(NAMES)) >= 4
    assert {"tfidf-lr", "spacy-textcat"} <= set(NAMES)


def test_predictions_have_one_row_per_record_and_valid_values(fitted, records):
    name, model, predictions = fitted
    protocol = model.protocol
    assert len(predictions) == len(records)
    p = predictions["p_include"].to_numpy()
    assert p.dtype.kind == "f" and np.isfinite(p).all()
    assert ((p >= 0) & (p <= 1)).all(), name
    assert set(predictions["decision"]) <= {"include", "check", "exclude"}
    assert set(predictions["category"]) <= set(protocol.category_codes)
    assert ((predictions["p_category"] >= 0) & (predictions["p_category"] <= 1)).all()
    for outcomes in predictions["outcomes"]:
        assert set(split_list(outcomes)) <= set(protocol.outcome_codes)
    # the heads themselves: probabilities of the right shape
    matrix, _ = model.transform(records)
    proba = model.inclusion_.predict_proba(matrix)
    assert proba.shape == (len(records), 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1, atol=1e-6)
    categories = model.category_.predict_proba(matrix)
    assert categories.shape == (len(records), len(model.category_.classes_))
    scores = model.outcomes_.predict_proba(matrix)
    assert scores.shape == (len(records), len(protocol.outcome_codes))
    assert ((scores >= 0) & (scores <= 1)).all()


def test_model_ranks_inclusions_above_exclusions(fitted, records):
    name, _, predictions = fitted
    y = records.frame["included"].astype(int).to_numpy()
    p = predictions["p_include"].to_numpy()
    assert p[y == 1].mean() > p[y == 0].mean(), name


def test_same_seed_gives_the_same_ranking(fitted, records):
    name, _, predictions = fitted
    again = _fit(name, records).predict(records, top_terms=0)
    p, q = predictions["p_include"].to_numpy(), again["p_include"].to_numpy()
    np.testing.assert_allclose(q, p, rtol=1e-6, atol=1e-9)
    assert list(np.argsort(-q, kind="stable")) == list(np.argsort(-p, kind="stable"))
    assert list(again["category"]) == list(predictions["category"])
    assert list(again["outcomes"]) == list(predictions["outcomes"])


def test_mlflow_pyfunc_round_trip(fitted, records, tmp_path):
    import mlflow.pyfunc

    from peerscreen.tracking import load_review_model, save_pyfunc

    name, model, _ = fitted
    sample = records.frame.head(12)
    frame = pd.DataFrame({"title": sample["title"], "abstract": sample["abstract"]})
    frame = frame.reset_index(drop=True)
    expected = model.predict(frame, top_terms=0)
    folder = save_pyfunc(model, tmp_path / "model")

    loaded = mlflow.pyfunc.load_model(str(folder)).predict(frame)
    restored = load_review_model(folder).predict(frame, top_terms=0)
    for column in ROUND_TRIP_COLUMNS:
        for got in (loaded, restored):
            if column == "p_include":
                np.testing.assert_allclose(got[column].to_numpy(), expected[column], atol=1e-9)
            else:
                assert list(got[column]) == list(expected[column]), (name, column)


def test_active_learner_scores_every_record(fitted, records):
    name, _, _ = fitted
    texts = records.texts()
    y = records.frame["included"].astype(int).to_numpy()
    labelled = np.r_[np.nonzero(y == 1)[0][:5], np.nonzero(y == 0)[0][:15]]
    learner = ActiveLearner(texts, backend=name, seed=0)
    assert learner.scores(labelled[:3], y[labelled[:3]]) is None  # one class only: no model
    scores = learner.scores(labelled, y[labelled])
    assert scores is not None and scores.shape == (len(texts),)
    assert np.isfinite(scores).all() and ((scores >= 0) & (scores <= 1)).all()
    again = ActiveLearner(texts, backend=name, seed=0).scores(labelled, y[labelled])
    np.testing.assert_allclose(again, scores)
