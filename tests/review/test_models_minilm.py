"""The MiniLM backends: embeddings as features, offline, cached, and a clear message
when the transformers extra is missing."""

import pickle

import numpy as np
import pytest

from peerscreen.review.embeddings import MissingOptionalDependencyError, minilm_available
from peerscreen.review.models import get_backend
from peerscreen.review.models.minilm import MiniLMEmbedder
from peerscreen.review.models.review_model import ReviewModel
from peerscreen.review.protocol import load_protocol
from peerscreen.screening.learner import ActiveLearner

needs_minilm = pytest.mark.skipif(not minilm_available(), reason="transformers extra not installed")

TEXTS = [
    "Peer specialists for adults with schizophrenia: a randomized trial",
    "Pharmacokinetics of a beta blocker in healthy volunteers",
    "",
]


@needs_minilm
def test_embedder_gives_unit_vectors_and_pickles_without_the_transformer():
    embedder = MiniLMEmbedder().fit(TEXTS)
    vectors = embedder.transform(TEXTS)
    assert vectors.shape == (3, 384)
    np.testing.assert_allclose(np.linalg.norm(vectors[:2], axis=1), 1, atol=1e-5)
    restored = pickle.loads(pickle.dumps(embedder))
    assert "_model_cache" not in restored.__dict__
    np.testing.assert_allclose(restored.transform(TEXTS), vectors, atol=1e-6)


@needs_minilm
def test_a_cached_text_never_loads_the_transformer(monkeypatch):
    MiniLMEmbedder().fit_transform(TEXTS)  # fills the cache

    def boom(*args, **kwargs):
        raise AssertionError("the transformer was loaded for cached texts")

    monkeypatch.setattr("peerscreen.review.embeddings.MiniLM", boom)
    assert MiniLMEmbedder(weight=0.5).fit_transform(TEXTS).shape == (3, 384)


@needs_minilm
def test_hybrid_features_append_the_embedding_block(small_corpus):
    model = ReviewModel(load_protocol(), backend="tfidf+minilm").fit(
        small_corpus.take(range(0, 150, 2))
    )
    names = model.feature_names_
    assert sum(n.startswith("minilm__") for n in names) == 384
    assert any(n.startswith("word__") for n in names)
    prediction = model.predict(small_corpus.take(range(1, 150, 10)))
    assert prediction["p_include"].between(0, 1).all()
    assert prediction["top_terms"].str.len().gt(0).any()  # words still explain the score


@needs_minilm
def test_minilm_lr_predicts_with_dense_features_and_no_top_terms(small_corpus):
    model = ReviewModel(load_protocol(), backend="minilm-lr").fit(
        small_corpus.take(range(0, 150, 2))
    )
    prediction = model.predict(small_corpus.take(range(1, 150, 10)))
    assert prediction["p_include"].between(0, 1).all()
    assert (prediction["top_terms"] == "").all()


@needs_minilm
@pytest.mark.parametrize("backend", ["minilm-lr", "tfidf+minilm"])
def test_screening_loop_scores_every_record(backend, small_corpus):
    texts = small_corpus.texts()
    labels = small_corpus.frame["included"].to_numpy().astype(int)
    learner = ActiveLearner(texts, backend=backend, seed=0)
    labelled = np.r_[np.flatnonzero(labels == 1)[:3], np.flatnonzero(labels == 0)[:3]]
    scores = learner.scores(labelled, labels[labelled])
    assert scores.shape == (len(texts),)
    assert np.isfinite(scores).all()


@pytest.mark.parametrize("backend", ["minilm-lr", "tfidf+minilm"])
def test_missing_extra_is_a_clear_error(backend, monkeypatch, small_corpus):
    monkeypatch.setattr("peerscreen.review.embeddings.minilm_available", lambda: False)
    with pytest.raises(MissingOptionalDependencyError, match=r"peerscreen\[transformers\]"):
        ReviewModel(load_protocol(), backend=backend).fit(small_corpus)
    with pytest.raises(MissingOptionalDependencyError, match=r"peerscreen\[transformers\]"):
        get_backend(backend).screening_featurizer({**get_backend(backend).defaults})


def test_missing_extra_gives_one_line_from_the_cli(monkeypatch, tmp_path):
    from typer.testing import CliRunner

    from peerscreen.cli import app

    monkeypatch.setattr("peerscreen.review.embeddings.minilm_available", lambda: False)
    result = CliRunner().invoke(app, ["train", "--backend", "minilm-lr"])
    assert result.exit_code == 2
    assert "pip install 'peerscreen[transformers]'" in result.output
    assert "Traceback" not in result.output


def test_rank_fusion_averages_the_two_rankings():
    from scipy import sparse

    from peerscreen.review.models.minilm import RankFusion

    rng = np.random.default_rng(0)
    lexical, semantic = rng.random((40, 6)), rng.random((40, 4))
    y = np.r_[np.ones(8, dtype=int), np.zeros(32, dtype=int)]
    lexical[:8, 0] += 2  # the lexical block separates the classes on its own
    X = sparse.csr_matrix(np.hstack([lexical, semantic]))
    fusion = RankFusion(embedding_columns=4, random_state=0).fit(X, y)
    scores = fusion.decision_function(X)
    assert scores.shape == (40,)
    assert scores.min() >= -4 and scores.max() <= 4
    assert scores[:8].mean() > scores[8:].mean()
    lexical_only = RankFusion(embedding_columns=4, semantic_share=0.0, random_state=0).fit(X, y)
    expected = np.argsort(-fusion.lexical_.decision_function(X[:, :6]), kind="stable")
    ranked = np.argsort(-lexical_only.decision_function(X), kind="stable")
    assert list(ranked) == list(expected)
