"""PNG figures for MLflow runs and reports (matplotlib, headless)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from sklearn.metrics import precision_recall_curve, roc_curve


def roc_pr_figure(y: np.ndarray, p: np.ndarray, path: Path, title: str = "") -> Path:
    fpr, tpr, _ = roc_curve(y, p)
    precision, recall, _ = precision_recall_curve(y, p)
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4.2))
    left.plot(fpr, tpr, lw=2)
    left.plot([0, 1], [0, 1], ls="--", color="grey")
    left.set(xlabel="false positive rate", ylabel="true positive rate", title="ROC")
    right.plot(recall, precision, lw=2)
    right.axhline(np.mean(y), ls="--", color="grey", label="prevalence")
    right.set(xlabel="recall", ylabel="precision", title="Precision-recall", ylim=(0, 1.02))
    right.legend(loc="lower left")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def confusion_figure(matrix: np.ndarray, labels: list[str], path: Path, title: str = "") -> Path:
    fig, ax = plt.subplots(figsize=(5.5, 4.8))
    ax.imshow(matrix, cmap="Blues")
    ax.set_xticks(range(len(labels)), labels, rotation=35, ha="right")
    ax.set_yticks(range(len(labels)), labels)
    ax.set(xlabel="predicted", ylabel="true", title=title or "Confusion matrix")
    peak = matrix.max() if matrix.size else 0
    for i in range(matrix.shape[0]):
        for j in range(matrix.shape[1]):
            ax.text(
                j,
                i,
                str(matrix[i, j]),
                ha="center",
                va="center",
                color="white" if matrix[i, j] > peak / 2 else "black",
            )
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def recall_curve(labels: np.ndarray, n: int, n_included: int, path: Path, title: str = "") -> Path:
    """Inclusions found against records screened, with the random and perfect curves."""
    found = np.r_[0, np.cumsum(labels)]
    x = np.arange(len(found))
    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    ax.plot(x, found, lw=2, label="model")
    ax.plot([0, n], [0, n_included], ls="--", color="grey", label="random")
    ax.plot([0, n_included, n], [0, n_included, n_included], ls=":", color="green", label="perfect")
    ax.axhline(0.95 * n_included, color="red", lw=0.8, alpha=0.6, label="95% recall")
    ax.set(
        xlabel="records screened",
        ylabel="inclusions found",
        xlim=(0, n),
        ylim=(0, n_included * 1.03 + 0.1),
        title=title or "Recall curve",
    )
    ax.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def comparison_figure(
    labels: list[str], values: np.ndarray, path: Path | str, *, metric: str, title: str = ""
) -> Path:
    """One horizontal bar per run, in the given order from the top, value printed at its end."""
    height = 1.2 + 0.38 * max(1, len(labels))
    fig, ax = plt.subplots(figsize=(8, height))
    positions = np.arange(len(labels))[::-1]
    ax.barh(positions, values, color="#4878a8")
    ax.set_yticks(positions, labels)
    for y, value in zip(positions, values, strict=True):
        ax.text(value, y, f" {value:.3f}", va="center", fontsize=8)
    ax.set(xlabel=metric, title=title or metric)
    ax.margins(x=0.12)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return Path(path)
