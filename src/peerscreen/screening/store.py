"""The record types of screening, shared by the store, the service, the CLI and the server.

A `Decision` is one entry of a project's append-only log (`peerscreen.screening.schema`):
undo marks it undone instead of deleting it, and a record's label is derived from the
active entries (`peerscreen.screening.labels`). `Scores` carry the decision revision they
were computed from, so stale scores are recognised.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from peerscreen.errors import PeerscreenError
from peerscreen.review.criteria import Flag

ACTIONS = ("include", "exclude", "skip")


class ScreeningError(PeerscreenError):
    """A screening project cannot do what was asked (missing, unknown record or code...)."""


@dataclass(frozen=True)
class Decision:
    seq: int
    record_id: str
    action: str
    reason: str | None
    note: str | None
    decided_at: str
    p_include: float | None
    model_version: int
    source: str
    undone: bool = False
    undone_at: str | None = None
    screener: str | None = None  # None: made before screeners were recorded
    mode: str = "single"  # single; first or second (dual screening); resolution

    @property
    def label(self) -> int | None:
        """1 for include, 0 for exclude, None for skip."""
        return {"include": 1, "exclude": 0}.get(self.action)


@dataclass(frozen=True)
class ScreeningRecord:
    """A record as the reviewer sees it: text, metadata, and the criteria flags it trips."""

    position: int
    record_id: str
    title: str | None
    abstract: str | None
    year: int | None
    language: str | None
    fields: dict[str, Any]
    flags: list[Flag]

    def details(self, max_authors: int = 3) -> str:
        """Authors, year, journal and DOI on one line, the missing ones left out: what a
        reviewer uses to recognise a paper (a known group's trial, a retracted journal)."""
        authors = self.fields.get("authors") or []
        if isinstance(authors, str):
            authors = [authors]
        names = "; ".join(str(a) for a in authors[:max_authors])
        if len(authors) > max_authors:
            names += " et al."
        doi = self.fields.get("doi")
        parts = [names, self.year, self.fields.get("journal"), doi and f"doi:{doi}"]
        return " · ".join(str(p) for p in parts if p)


@dataclass(frozen=True)
class Scores:
    """One score per record, from the retrain at `revision` of the decisions.

    `values` order the queue: with `kind` "model" the learner's ranking score, with
    "cold-start" the similarity to the criteria. Neither is a probability. `probabilities`
    is the calibrated p_include (`peerscreen.screening.calibration`): how often screened
    records scored like this one were inclusions; None before a model, and until there are
    two inclusions and two exclusions to calibrate on."""

    version: int
    kind: str
    revision: int
    n_labels: int
    updated_at: str
    values: np.ndarray
    probabilities: np.ndarray | None = None

    def p_include(self, position: int) -> float | None:
        """The calibrated p_include of the record at `position` (None if there is none)."""
        if self.kind != "model" or self.probabilities is None:
            return None
        return float(self.probabilities[position])


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def file_hash(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if hasattr(value, "tolist") and not isinstance(value, str):  # numpy arrays and scalars
        return jsonable(value.tolist())
    if value is None or value is pd.NA or (isinstance(value, float) and value != value):
        return None
    if isinstance(value, str | int | float | bool):
        return value
    return str(value)
