"""The cold-start ranking: before any label exists, records ranked by their closeness to
the review's criteria in words."""

from __future__ import annotations

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.preprocessing import normalize


def similarity_to(texts: list[str], query: str, *, semantic: bool = False) -> np.ndarray:
    """How close each text is to `query` (the review's criteria in words): the cold-start
    ranking before any label exists. TF-IDF cosine in a space fitted on all the texts; with
    `semantic=True` and MiniLM installed, the mean of the TF-IDF and MiniLM cosines, each
    rank-normalised to [0, 1] (MiniLM catches paraphrase that shares no words)."""
    vectorizer = TfidfVectorizer(
        ngram_range=(1, 2), sublinear_tf=True, stop_words="english", strip_accents="unicode"
    )
    matrix = vectorizer.fit_transform([*[t or " " for t in texts], query])
    matrix = normalize(matrix)
    lexical = np.asarray((matrix[:-1] @ matrix[-1].T).todense()).ravel()
    if not semantic:
        return lexical
    from peerscreen.review.embeddings import embed, minilm_available

    if not minilm_available():
        return lexical
    vectors = embed([*texts, query])
    dense = vectors[:-1] @ vectors[-1]
    return (_rank01(lexical) + _rank01(dense)) / 2


def _rank01(values: np.ndarray) -> np.ndarray:
    ranks = np.argsort(np.argsort(values, kind="stable"), kind="stable")
    return ranks / max(1, len(values) - 1)
