"""Adaptive rank fusion: several learners over the same labels, each weighted by how well it
has ranked the records screened so far in this very run.

Why: a setting tuned on other reviews (how much the publication year counts, say) helps on
most reviews and costs a lot on a few: where a review's inclusions span its whole search
period, the year block pulls the wrong records up. Which learner fits a review can be read
from the review itself as it is screened. Every record a reviewer labels was scored by each
member before its label was known, so each member's ranking of the labelled records is an
honest, out-of-sample test of that member on this review. The members' rank-normalised
scores are averaged with weights `exp(sharpness * (auc - best_auc))`: equal while nothing
is known, then leaning towards the member that ranks this review's inclusions higher. No
weight is tuned on other reviews; `sharpness` is the one setting, chosen by cross-review
validation (`peerscreen bench --grid`).

The history is kept in the learner: a screening session or simulation is one object. A
process that restarts (a new `peerscreen screen` session) starts again from equal weights,
which costs little: the history rebuilds within a few retrains.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from scipy.stats import rankdata

from peerscreen.screening.learner import ActiveLearner, LearnerScores

#: Weight scale on the difference in AUC: at 10, a member 0.1 AUC behind counts e^-1 as much.
DEFAULT_SHARPNESS = 10.0


def rank01(values: np.ndarray) -> np.ndarray:
    """Scores as ranks scaled to [0, 1], ties sharing their mean rank (the textless block,
    which every member scores alike, stays one tied block)."""
    if len(values) < 2:
        return np.zeros(len(values))
    return (rankdata(values, method="average") - 1) / (len(values) - 1)


def rank_auc(labels: np.ndarray, values: np.ndarray) -> float:
    """ROC AUC as the Mann-Whitney statistic, ties counting a half (what `roc_auc_score`
    gives): computed at every retrain, where sklearn's input checks cost a third of a
    fused simulation. Labels must hold both classes."""
    positive = labels == 1
    n_pos = int(positive.sum())
    n_neg = len(labels) - n_pos
    ranks = rankdata(values, method="average")
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


class AdaptiveFusion:
    """Members' rank-normalised scores averaged with weights from each member's AUC on the
    records labelled so far, scored before their labels were known (see the module
    docstring). The first member is the primary: its calibrated p_include is the one shown,
    and its feature flags (`has_text`, `uses_years`) are the learner's."""

    def __init__(
        self,
        members: Mapping[str, ActiveLearner],
        *,
        sharpness: float = DEFAULT_SHARPNESS,
        window: int | None = None,
    ):
        if not members:
            raise ValueError("AdaptiveFusion needs at least one member")
        self.members = dict(members)
        self.sharpness = sharpness
        self.window = window
        self.primary = next(iter(self.members.values()))
        self.has_text = self.primary.has_text
        self.uses_years = self.primary.uses_years
        self._history_ids: list[int] = []
        self._history_labels: list[int] = []
        self._history_ranks: dict[str, list[float]] = {name: [] for name in self.members}
        self._last_ranks: dict[str, np.ndarray] | None = None
        self.last_weights: dict[str, float] = {name: 1.0 for name in self.members}

    @property
    def n_records(self) -> int:
        return self.primary.n_records

    @property
    def guide_features(self) -> Any:
        """The primary's guide rows (the criteria text), which every member trains on."""
        return self.primary.guide_features

    def scores(self, labelled: np.ndarray, labels: np.ndarray) -> np.ndarray | None:
        """The fused ranking score of every record (None until both classes are seen)."""
        ranks = self._member_ranks(labelled, labels, primary=None)
        return None if ranks is None else self._fuse(ranks)

    def scored(self, labelled: np.ndarray, labels: np.ndarray) -> LearnerScores | None:
        """`scores` plus the primary member's calibrated p_include."""
        primary = self.primary.scored(labelled, labels)
        if primary is None:
            return None
        ranks = self._member_ranks(labelled, labels, primary=primary.ranking)
        return None if ranks is None else LearnerScores(self._fuse(ranks), primary.p_include)

    def weights(self) -> dict[str, float]:
        """Each member's weight from its AUC on the labelled history (equal until the
        history holds both classes, and always at sharpness 0)."""
        if self.sharpness == 0:
            return {name: 1.0 for name in self.members}
        start = 0 if self.window is None else max(0, len(self._history_labels) - self.window)
        labels = np.array(self._history_labels[start:])
        if len(labels) == 0 or labels.min() == labels.max():
            return {name: 1.0 for name in self.members}
        aucs = {
            name: rank_auc(labels, np.array(r[start:])) for name, r in self._history_ranks.items()
        }
        best = max(aucs.values())
        return {name: float(np.exp(self.sharpness * (auc - best))) for name, auc in aucs.items()}

    def _member_ranks(
        self, labelled: np.ndarray, labels: np.ndarray, primary: np.ndarray | None
    ) -> dict[str, np.ndarray] | None:
        self._observe(np.asarray(labelled, dtype=int), np.asarray(labels, dtype=int))
        ranks = {}
        for index, (name, member) in enumerate(self.members.items()):
            values = (
                primary if index == 0 and primary is not None else member.scores(labelled, labels)
            )
            if values is None:
                return None
            ranks[name] = rank01(values)
        self._last_ranks = ranks
        return ranks

    def _fuse(self, ranks: dict[str, np.ndarray]) -> np.ndarray:
        self.last_weights = self.weights()
        total = sum(self.last_weights.values())
        return sum(self.last_weights[name] * r for name, r in ranks.items()) / total

    def _observe(self, labelled: np.ndarray, labels: np.ndarray) -> None:
        """Add the records labelled since the last call, with each member's rank of them
        from that call (before their labels were known). The priors, and records labelled
        before any member could score, teach no weight. An undo, or labels that no longer
        extend the history, start the history again."""
        known = len(self._history_ids)
        if len(labelled) < known or list(labelled[:known]) != self._history_ids:
            self._history_ids, self._history_labels = [], []
            self._history_ranks = {name: [] for name in self.members}
            self._last_ranks, known = None, 0
        new_ids, new_labels = labelled[known:], labels[known:]
        self._history_ids.extend(int(i) for i in new_ids)
        if self._last_ranks is None:
            return
        self._history_labels.extend(int(v) for v in new_labels)
        for name, history in self._history_ranks.items():
            history.extend(float(v) for v in self._last_ranks[name][new_ids])
