"""Each record's status, derived from the decision log: the labels the model trains on.

Single mode: a record's status is its latest decision that was not undone.

Dual mode: two screeners screen each record independently. A resolution (by an owner)
wins; two agreeing decisions give that label; before a resolution (a conflict, or only one
screener so far) the record counts as include if either screener included it, else
exclude. Including on either keeps a possible inclusion in the pool of positives the model
learns from until a person settles it, which is the safe side for recall. A screener
re-deciding a record supersedes only their own earlier decision.

`revision` counts decisions plus undos, which only grows, so scores carrying the revision
they were computed from can be recognised as stale.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from peerscreen.screening.store import Decision

#: Screener name of decisions made before screeners were recorded.
UNRECORDED = "unrecorded"
LABELS = ("include", "exclude")


@dataclass
class LabelState:
    """Each record's current status, from the active (not undone) decisions."""

    revision: int
    status: list[str | None]  # per position: "include", "exclude", "skip" or None
    latest: dict[int, Decision]  # position -> latest active decision
    order: list[int]  # labelled positions (include/exclude) in screening order

    @property
    def labels_in_order(self) -> np.ndarray:
        return np.array([1 if self.status[p] == "include" else 0 for p in self.order], dtype=int)

    def count(self, action: str | None) -> int:
        return sum(1 for s in self.status if s == action)


@dataclass
class RecordVotes:
    """The active decisions on one record in dual mode: each screener's latest own decision
    and the latest resolution."""

    by_screener: dict[str, Decision] = field(default_factory=dict)
    resolution: Decision | None = None

    @property
    def labels(self) -> set[str]:
        """The include/exclude actions among the screeners' decisions (skips left out)."""
        return {d.action for d in self.by_screener.values() if d.action in LABELS}

    @property
    def in_conflict(self) -> bool:
        """Two screeners disagree on include/exclude and no owner has resolved it."""
        return self.resolution is None and self.labels == set(LABELS)

    def status(self) -> str | None:
        """The record's dual-mode status (see the module docstring)."""
        if self.resolution is not None:
            return self.resolution.action
        labels = self.labels
        if "include" in labels:
            return "include"
        if "exclude" in labels:
            return "exclude"
        return "skip" if self.by_screener else None


def screener_of(decision: Decision) -> str:
    return getattr(decision, "screener", None) or UNRECORDED


def mode_of(decision: Decision) -> str:
    return getattr(decision, "mode", None) or "single"


def revision_of(log: list[Decision]) -> int:
    return len(log) + sum(bool(d.undone) for d in log)


def votes_from(log: list[Decision]) -> dict[str, RecordVotes]:
    """record_id -> its active dual-mode votes, from the log in seq order."""
    votes: dict[str, RecordVotes] = {}
    for decision in log:
        if decision.undone:
            continue
        entry = votes.setdefault(decision.record_id, RecordVotes())
        if mode_of(decision) == "resolution":
            entry.resolution = decision
        else:
            entry.by_screener[screener_of(decision)] = decision
    return votes


def label_state_from(
    log: list[Decision], index: dict[str, int], n_records: int, mode: str = "single"
) -> LabelState:
    """The LabelState of `log` (the full log in seq order, undone decisions included);
    `index` maps record ids to positions; `mode` is the project's: 'single' or 'dual'."""
    if mode == "dual":
        return _dual_state(log, index, n_records)
    if mode != "single":
        raise ValueError(f"unknown screening mode '{mode}' (choose from single, dual)")
    return _single_state(log, index, n_records)


def _single_state(log: list[Decision], index: dict[str, int], n_records: int) -> LabelState:
    status: list[str | None] = [None] * n_records
    for decision in log:
        if not decision.undone:
            status[index[decision.record_id]] = decision.action
    return _state(log, index, status)


def _dual_state(log: list[Decision], index: dict[str, int], n_records: int) -> LabelState:
    status: list[str | None] = [None] * n_records
    for record_id, votes in votes_from(log).items():
        status[index[record_id]] = votes.status()
    return _state(log, index, status)


def _state(log: list[Decision], index: dict[str, int], status: list[str | None]) -> LabelState:
    """The LabelState around `status`: each record's latest active decision, and the
    labelled records in the order they were first labelled."""
    latest: dict[int, Decision] = {}
    first_label: dict[int, int] = {}
    for decision in log:
        if decision.undone:
            continue
        position = index[decision.record_id]
        latest[position] = decision
        if decision.label is not None:
            first_label.setdefault(position, decision.seq)
    order = sorted((p for p in first_label if status[p] in LABELS), key=first_label.__getitem__)
    return LabelState(revision=revision_of(log), status=status, latest=latest, order=order)
