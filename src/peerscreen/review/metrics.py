"""Evaluation metrics for screening models: one implementation used by train, simulate, bench.

Work saved follows Cohen et al. (2006): WSS@r = (TN + FN) / N - (1 - r), measured at the
highest threshold whose recall reaches r.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from sklearn.metrics import (
    average_precision_score,
    confusion_matrix,
    f1_score,
    precision_recall_fscore_support,
    roc_auc_score,
)


def threshold_for_recall(y: np.ndarray, p: np.ndarray, target: float) -> tuple[float, int]:
    """(threshold, number of records at or above it) for the first point reaching `target`
    recall when records are read in decreasing score order."""
    y = np.asarray(y).astype(int)
    order = np.argsort(-np.asarray(p, dtype=float), kind="stable")
    needed = math.ceil(target * y.sum())
    if needed == 0:
        return float("inf"), 0
    found = np.cumsum(y[order])
    k = int(np.searchsorted(found, needed)) + 1
    # ties: everything scored as high as the k-th record must be read too
    threshold = float(np.asarray(p)[order][k - 1])
    k = int((np.asarray(p) >= threshold).sum())
    return threshold, k


def inclusion_metrics(
    y: np.ndarray, p: np.ndarray, target_recall: float = 0.95
) -> dict[str, float]:
    y = np.asarray(y).astype(int)
    p = np.asarray(p, dtype=float)
    n = len(y)
    threshold, k = threshold_for_recall(y, p, target_recall)
    selected = p >= threshold
    tp = int((selected & (y == 1)).sum())
    recall = tp / max(1, y.sum())
    precision = tp / max(1, selected.sum())
    work_saved = (n - k) / n
    pct = round(target_recall * 100)
    return {
        "roc_auc": float(roc_auc_score(y, p)),
        "average_precision": float(average_precision_score(y, p)),
        f"threshold_at_recall{pct}": threshold,
        f"recall_at_recall{pct}": recall,
        f"precision_at_recall{pct}": precision,
        f"work_saved_at_recall{pct}": work_saved,
        f"wss{pct}": work_saved - (1 - target_recall),
    }


def category_metrics(
    y_true: np.ndarray, y_pred: np.ndarray, labels: list[str]
) -> tuple[dict, np.ndarray]:
    present = [c for c in labels if c in set(y_true) | set(y_pred)]
    metrics = {
        "macro_f1": float(
            f1_score(y_true, y_pred, labels=present, average="macro", zero_division=0)
        ),
        "accuracy": float(np.mean(np.asarray(y_true) == np.asarray(y_pred))),
    }
    return metrics, confusion_matrix(y_true, y_pred, labels=labels)


def outcome_metrics(
    Y: np.ndarray, Y_pred: np.ndarray, codes: list[str], thresholds: np.ndarray | None = None
) -> tuple[dict, pd.DataFrame]:
    precision, recall, f1, support = precision_recall_fscore_support(
        Y, Y_pred, average=None, zero_division=0
    )
    table = pd.DataFrame(
        {"domain": codes, "precision": precision, "recall": recall, "f1": f1, "support": support}
    )
    if thresholds is not None:
        table["threshold"] = thresholds
    metrics = {
        "micro_f1": float(f1_score(Y, Y_pred, average="micro", zero_division=0)),
        "macro_f1": float(f1_score(Y, Y_pred, average="macro", zero_division=0)),
    }
    return metrics, table
