"""The word matrix is built once per exact record set, backend and parameters."""

from __future__ import annotations

from sklearn.feature_extraction.text import TfidfVectorizer

from peerscreen.screening import feature_cache
from peerscreen.screening.feature_cache import word_matrix


class CountingFeaturizer:
    builds = 0

    def __init__(self, params: dict):
        CountingFeaturizer.builds += 1
        self.vectorizer = TfidfVectorizer(**params)

    def fit_transform(self, texts):
        return self.vectorizer.fit_transform(texts)


def test_nothing_is_kept_outside_a_benchmark() -> None:
    CountingFeaturizer.builds = 0
    texts = ["peer support group", "drug trial in adults"]
    word_matrix("tfidf-lr", {}, texts, CountingFeaturizer)
    word_matrix("tfidf-lr", {}, texts, CountingFeaturizer)
    assert CountingFeaturizer.builds == 2
    with feature_cache.kept():
        word_matrix("tfidf-lr", {}, texts, CountingFeaturizer)
        word_matrix("tfidf-lr", {}, texts, CountingFeaturizer)
    assert CountingFeaturizer.builds == 3
    assert not feature_cache._MATRICES  # dropped on leaving the block


@feature_cache.kept()
def test_same_texts_and_settings_reuse_the_matrix_and_anything_else_builds_anew() -> None:
    CountingFeaturizer.builds = 0
    texts = ["peer support group", "drug trial in adults", "peer workers"]
    first = word_matrix("tfidf-lr", {}, texts, CountingFeaturizer)
    assert word_matrix("tfidf-lr", {}, list(texts), CountingFeaturizer) is first
    assert CountingFeaturizer.builds == 1
    bigrams = word_matrix("tfidf-lr", {"ngram_range": (1, 2)}, texts, CountingFeaturizer)
    assert bigrams.shape[1] > first.shape[1]
    other = word_matrix("tfidf-lr", {}, [*texts[:2], "peer mentors"], CountingFeaturizer)
    assert other is not first
    assert CountingFeaturizer.builds == 3


@feature_cache.kept()
def test_only_the_latest_matrices_are_kept() -> None:
    CountingFeaturizer.builds = 0
    sets = [
        [f"record {i} about topic {j}" for j in range(3)]
        for i in range(feature_cache.MAX_CACHED + 1)
    ]
    for texts in sets:
        word_matrix("tfidf-lr", {}, texts, CountingFeaturizer)
    word_matrix("tfidf-lr", {}, sets[-1], CountingFeaturizer)  # still kept
    assert CountingFeaturizer.builds == len(sets)
    word_matrix("tfidf-lr", {}, sets[0], CountingFeaturizer)  # the oldest was dropped
    assert CountingFeaturizer.builds == len(sets) + 1
