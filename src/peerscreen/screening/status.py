"""A project's status: counts, exclusions per reason, model state and stopping advice."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from peerscreen.errors import PeerscreenError
from peerscreen.screening.advice import StoppingSummary, stopping_advice
from peerscreen.screening.stopping import StopEstimate

if TYPE_CHECKING:
    from peerscreen.screening.project import LabelState, ScreeningProject


@dataclass(frozen=True)
class ProjectStatus:
    n_records: int
    n_labelled: int
    n_included: int
    n_excluded: int
    n_skipped: int
    n_remaining: int
    n_decisions: int  # active decisions (undone ones are kept in the log, not counted)
    n_undone: int
    model_version: int
    model_kind: str
    scores_stale: bool
    stopping: dict[str, StopEstimate] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)
    config_note: str | None = None
    advice: StoppingSummary | None = None
    #: exclusions per protocol code (every code, 0 when unused, then any code the protocol
    #: no longer has), and those without a reason: the PRISMA flow diagram's figures
    exclusion_reasons: dict[str, int] = field(default_factory=dict)
    n_excluded_no_reason: int = 0

    @property
    def n_unscreened(self) -> int:
        """Records still to screen: never seen, and skipped (a skip is not a screening)."""
        return self.n_records - self.n_labelled


def project_status(
    project: ScreeningProject, *, target_recall: float = 0.95, confidence: float = 0.95
) -> ProjectStatus:
    """Counts, model version, exclusions per reason, the stopping advice and each
    stopping rule's verdict (no retraining). Only includes and excludes count as
    screened: a skipped record is still in the pool the stopping rules reason about."""
    state = project.label_state()
    scores = project.scores()
    advice = stopping_advice(
        state.labels_in_order,
        project.n_records,
        target_recall=target_recall,
        confidence=confidence,
    )
    log = project.decisions(include_undone=True)
    codes: list[str] = []
    with contextlib.suppress(PeerscreenError):
        codes = list(project.protocol.exclusion_codes)  # also sets config_note
    reasons = _exclusion_counts(state, codes)
    n_included, n_excluded = state.count("include"), state.count("exclude")
    return ProjectStatus(
        n_records=project.n_records,
        n_labelled=n_included + n_excluded,
        n_included=n_included,
        n_excluded=n_excluded,
        n_skipped=state.count("skip"),
        n_remaining=state.count(None),
        n_decisions=sum(not d.undone for d in log),
        n_undone=sum(d.undone for d in log),
        model_version=scores.version,
        model_kind=scores.kind,
        scores_stale=scores.revision != state.revision,
        stopping=dict(advice.rules),
        advice=advice,
        exclusion_reasons={k: v for k, v in reasons.items() if k is not None},
        n_excluded_no_reason=reasons.get(None, 0),
        settings={
            **project.settings,
            "config": project.meta["config_path"],
            "config_hash": project.meta["config_hash"],
        },
        config_note=project.config_note,
    )


def _exclusion_counts(state: LabelState, codes: list[str]) -> dict[str | None, int]:
    """Current exclusions per reason (None: no reason): the protocol's codes first, in
    its order, each even when unused, as a PRISMA diagram lists them."""
    counts: dict[str | None, int] = dict.fromkeys(codes, 0)
    for position, decision in state.latest.items():
        if state.status[position] == "exclude":
            counts[decision.reason] = counts.get(decision.reason, 0) + 1
    return counts
