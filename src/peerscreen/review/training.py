"""Train a review's models and measure them honestly.

Evaluation is stratified 5-fold cross-validation with near-duplicate records (TF-IDF cosine
>= 0.8, e.g. a conference abstract and its journal article) kept in the same fold, so a
model is never scored on a record it has effectively seen. The decision bands of the final
model come from the same out-of-fold scores.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy.sparse.csgraph import connected_components
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.model_selection import StratifiedGroupKFold

from peerscreen.io.cleaning import split_list
from peerscreen.io.records import RecordSet
from peerscreen.review.metrics import category_metrics, inclusion_metrics, outcome_metrics
from peerscreen.review.models.review_model import (
    NotEnoughLabelsError,
    ReviewModel,
    bands_from_scores,
)
from peerscreen.review.protocol import Protocol

NEAR_DUPLICATE_SIMILARITY = 0.8


def near_duplicate_groups(
    texts: list[str], threshold: float = NEAR_DUPLICATE_SIMILARITY
) -> np.ndarray:
    """A group id per text; texts linked by cosine similarity >= threshold share one."""
    if len(texts) < 2:
        return np.zeros(len(texts), dtype=int)
    vectors = TfidfVectorizer(sublinear_tf=True, min_df=1).fit_transform([t or " " for t in texts])
    similar = vectors @ vectors.T
    similar.data = (similar.data >= threshold).astype(np.int8)
    similar.eliminate_zeros()
    _, labels = connected_components(similar, directed=False)
    return labels


def data_digest(records: RecordSet) -> str:
    """Hash of what training reads (text and labels), logged so runs are traceable."""
    frame = records.frame
    digest = hashlib.sha256()
    for row in frame[
        ["record_id", "title", "abstract", "included", "category", "outcomes"]
    ].itertuples(index=False):
        digest.update(repr(tuple(row)).encode())
    return digest.hexdigest()[:16]


@dataclass
class CrossValidation:
    p_include: np.ndarray
    category_pred: np.ndarray | None
    outcome_pred: np.ndarray | None
    groups: np.ndarray
    folds: np.ndarray


@dataclass
class TrainResult:
    model: ReviewModel
    metrics: dict[str, float]
    cv: CrossValidation
    y: np.ndarray
    confusion: np.ndarray | None = None
    category_labels: list[str] = field(default_factory=list)
    outcome_table: pd.DataFrame | None = None
    params: dict[str, Any] = field(default_factory=dict)


def _labels(frame: pd.DataFrame, protocol: Protocol) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Inclusion labels, which records carry category/outcome labels, and the outcome matrix
    (no columns for a protocol without outcome domains)."""
    y = frame["included"].astype(int).to_numpy()
    has_category = frame["category"].notna().to_numpy()
    codes = protocol.outcome_codes
    Y = np.array([[int(c in set(o)) for c in codes] for o in frame["outcomes"]], dtype=int)
    return y, has_category, Y.reshape(len(frame), len(codes))


def cross_validate(
    records: RecordSet,
    protocol: Protocol,
    *,
    backend: str = "tfidf-lr",
    params: dict[str, Any] | None = None,
    seed: int = 0,
    n_splits: int = 5,
    progress: Callable[[int], None] | None = None,
) -> CrossValidation:
    frame = records.frame
    y, has_category, _ = _labels(frame, protocol)
    groups = near_duplicate_groups(records.texts())
    splitter = StratifiedGroupKFold(n_splits=n_splits, shuffle=True, random_state=seed)
    p_include = np.zeros(len(frame))
    # a protocol without categories or outcomes (a review that only screens) has no such
    # heads to score, whatever labels the data carries
    tags_categories = bool(has_category.any() and protocol.categories)
    tags_outcomes = bool(has_category.any() and protocol.outcomes)
    category_pred = np.array([None] * len(frame), dtype=object) if tags_categories else None
    outcome_pred = np.zeros((len(frame), len(protocol.outcome_codes)), dtype=int)
    folds = np.zeros(len(frame), dtype=int)
    for fold, (train, test) in enumerate(splitter.split(np.zeros(len(y)), y, groups)):
        model = ReviewModel(protocol, backend=backend, params=params, random_state=seed)
        model.fit(frame.iloc[train].reset_index(drop=True))
        predictions = model.predict(frame.iloc[test].reset_index(drop=True), top_terms=0)
        p_include[test] = predictions["p_include"].to_numpy()
        folds[test] = fold
        if category_pred is not None and "category" in predictions:
            category_pred[test] = predictions["category"].to_numpy()
        if "outcomes" in predictions:
            codes = protocol.outcome_codes
            for row, chosen in zip(test, predictions["outcomes"], strict=True):
                outcome_pred[row] = [int(c in split_list(chosen)) for c in codes]
        if progress:
            progress(fold + 1)
    return CrossValidation(
        p_include, category_pred, outcome_pred if tags_outcomes else None, groups, folds
    )


def train(
    records: RecordSet,
    protocol: Protocol,
    *,
    backend: str = "tfidf-lr",
    params: dict[str, Any] | None = None,
    seed: int = 0,
    target_recall: float = 0.95,
    n_splits: int = 5,
    progress: Callable[[int], None] | None = None,
) -> TrainResult:
    """Cross-validate, then fit the final model on every labelled record."""
    labelled = records.frame["included"].notna().to_numpy()
    if labelled.sum() < 2 * n_splits:
        raise NotEnoughLabelsError(
            f"need at least {2 * n_splits} labelled records to train, got {labelled.sum()}"
        )
    records = records.take(np.nonzero(labelled)[0])
    frame = records.frame
    y, has_category, Y = _labels(frame, protocol)
    cv = cross_validate(
        records,
        protocol,
        backend=backend,
        params=params,
        seed=seed,
        n_splits=n_splits,
        progress=progress,
    )
    metrics = {
        f"inclusion_{k}": v for k, v in inclusion_metrics(y, cv.p_include, target_recall).items()
    }
    result_kwargs: dict[str, Any] = {}
    if cv.category_pred is not None:
        labels = list(protocol.category_codes)
        cat_metrics, confusion = category_metrics(
            frame["category"][has_category].astype(str).to_numpy(),
            cv.category_pred[has_category].astype(str),
            labels,
        )
        metrics.update({f"category_{k}": v for k, v in cat_metrics.items()})
        result_kwargs.update(confusion=confusion, category_labels=labels)
    model = ReviewModel(protocol, backend=backend, params=params, random_state=seed).fit(records)
    if cv.outcome_pred is not None:
        thresholds = getattr(model.outcomes_, "thresholds_", None)
        out_metrics, table = outcome_metrics(
            Y[has_category], cv.outcome_pred[has_category], protocol.outcome_codes, thresholds
        )
        metrics.update({f"outcomes_{k}": v for k, v in out_metrics.items()})
        result_kwargs["outcome_table"] = table
    model.bands = bands_from_scores(y, cv.p_include, target_recall)
    model.cv_scores = (y.astype(np.int8), cv.p_include.astype(np.float32))
    metrics["n_records"] = float(len(frame))
    metrics["n_included"] = float(y.sum())
    model.info = {
        "backend": backend,
        "seed": seed,
        "n_records": len(frame),
        "n_included": int(y.sum()),
        "config_digest": protocol.digest(),
        "data_digest": data_digest(records),
        "review": protocol.review.name,
        "target_recall": target_recall,
        "cv_metrics": {k: round(v, 4) for k, v in metrics.items()},
    }
    return TrainResult(
        model=model, metrics=metrics, cv=cv, y=y, params=model.params, **result_kwargs
    )
