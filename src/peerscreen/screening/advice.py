"""Stopping advice in a reviewer's words: how much has been found, how much is probably
left, how much more to screen, and what each stopping rule says.

The numbers come from buscar's hypergeometric model (`peerscreen.screening.stopping`):
the most recently screened records are treated as a random draw from those that were not
yet screened when they came up. Prioritised screening puts likely inclusions first, so
the records still unscreened are if anything poorer in inclusions than that draw: the
bounds lean to the safe side.

`stopping_advice` is a pure function of the labels in screening order (1 = inclusion,
skipped records left out: a skipped record is still unscreened) and the number of
records; `screen status`, `simulate` and any other front end print its `sentences()`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from peerscreen.screening.stopping import (
    KNEE_MIN_SCREENED,
    STOPPING_RULES,
    StopEstimate,
    buscar_inclusions_left,
    buscar_records_to_stop,
)


@dataclass(frozen=True)
class StoppingSummary:
    """Where screening stands against a recall target, from the labels so far.

    `inclusions_left` is the middle estimate (as likely too high as too low),
    `inclusions_left_upper` the most there can be at `confidence`; the recall figures
    follow from them (None until an inclusion is found). `records_to_stop` is how many
    more records buscar needs if none of them is an inclusion (0: stop now; None: not
    before the last record)."""

    n_records: int
    n_screened: int
    n_included: int
    target_recall: float
    confidence: float
    inclusions_left: int
    inclusions_left_upper: int
    records_to_stop: int | None
    rules: dict[str, StopEstimate] = field(default_factory=dict)

    @property
    def n_unscreened(self) -> int:
        return self.n_records - self.n_screened

    @property
    def recall_estimate(self) -> float | None:
        return _recall(self.n_included, self.inclusions_left)

    @property
    def recall_lower(self) -> float | None:
        """Recall so far is at least this at `confidence` (buscar's model)."""
        return _recall(self.n_included, self.inclusions_left_upper)

    @property
    def target_reached(self) -> bool:
        return self.n_unscreened == 0 or self.records_to_stop == 0

    def headline(self) -> str | None:
        """The one sentence to act on (stop, or how much more to screen); None before any
        record is screened."""
        return self.sentences()[-1] if self.n_screened else None

    def sentences(self) -> list[str]:
        """The advice as plain sentences, one per line, for a terminal or a web page."""
        target, conf = _percent(self.target_recall), _percent(self.confidence)
        if self.n_unscreened == 0:
            return [
                f"Every record has been screened: {self.n_included} included; "
                "nothing is left to find in this search."
            ]
        if self.n_screened == 0:
            return [f"Nothing screened yet: {self.n_records} records to screen."]
        lines = [self._recall_sentence(conf), self._left_sentence(conf)]
        if self.records_to_stop == 0:
            lines.append(f"{target} recall is reached at {conf} confidence: you can stop.")
        elif self.records_to_stop is None:
            lines.append(
                f"{target} recall at {conf} confidence is out of reach before the last "
                f"record: screen all {self.n_unscreened} records left."
            )
        else:
            lines.append(
                f"Screen about {self.records_to_stop} more records to reach {target} "
                f"recall at {conf} confidence (if they hold no inclusion; each one found "
                "adds to that)."
            )
        return lines

    def _recall_sentence(self, conf: str) -> str:
        if self.n_included == 0:
            return (
                f"No inclusion found yet in {self.n_screened} records, so recall cannot be "
                "estimated."
            )
        estimate, lower = self.recall_estimate, self.recall_lower
        assert estimate is not None and lower is not None
        return (
            f"Recall so far: about {estimate:.0%} of the inclusions "
            f"(at least {math.floor(lower * 100)}% at {conf} confidence)."
        )

    def _left_sentence(self, conf: str) -> str:
        left, upper = self.inclusions_left, self.inclusions_left_upper
        among = f"among the {self.n_unscreened} records not yet screened"
        if left == 0:
            return f"Probably no inclusion left (at most {upper} at {conf} confidence) {among}."
        noun = "inclusion" if left == 1 else "inclusions"
        return f"About {left} {noun} probably left (at most {upper} at {conf} confidence) {among}."


def stopping_advice(
    labels: np.ndarray,
    n_records: int,
    *,
    target_recall: float = 0.95,
    confidence: float = 0.95,
) -> StoppingSummary:
    """The advice for `labels` (screening order, 1 = inclusion, skips left out) among
    `n_records` records, with every registered stopping rule's verdict."""
    labels = np.asarray(labels, dtype=int)
    return StoppingSummary(
        n_records=n_records,
        n_screened=len(labels),
        n_included=int(labels.sum()),
        target_recall=target_recall,
        confidence=confidence,
        inclusions_left=buscar_inclusions_left(labels, n_records, 0.5),
        inclusions_left_upper=buscar_inclusions_left(labels, n_records, confidence),
        records_to_stop=buscar_records_to_stop(labels, n_records, target_recall, confidence),
        rules={
            name: rule(labels, n_records, target_recall, confidence)
            for name, rule in STOPPING_RULES.items()
        },
    )


def describe_rule(
    estimate: StopEstimate,
    n_screened: int,
    *,
    target_recall: float = 0.95,
    confidence: float = 0.95,
) -> str:
    """One rule's verdict in words: "stop" with why, or what it is still waiting for (a
    rule that has not fired says so, rather than a bare number)."""
    detail = estimate.detail
    if estimate.rule == "buscar" and "p_value" in detail:
        p, alpha = detail["p_value"], 1 - confidence
        if estimate.stop:
            return (
                f"stop: {_percent(target_recall)} recall reached at {_percent(confidence)} "
                f"confidence (p {p:.3g} < {alpha:.3g})"
            )
        return (
            f"not yet: p {p:.3g} that recall is still under {_percent(target_recall)}; "
            f"stops when it falls under {alpha:.3g}"
        )
    if estimate.rule == "knee" and "slope_ratio" in detail:
        if n_screened < KNEE_MIN_SCREENED:
            return (
                f"not yet: judges the gain curve from {KNEE_MIN_SCREENED} records screened "
                f"({n_screened} so far)"
            )
        if detail["slope_ratio"] == 0:
            return "not yet: no inclusion found, so the gain curve has no knee"
        verdict = "stop: the gain curve has flattened" if estimate.stop else "not yet"
        return (
            f"{verdict}: slope before its knee {detail['slope_ratio']:.3g} times the slope "
            f"after it (stops at {detail['threshold']:.3g})"
        )
    if estimate.rule == "consecutive-exclusions" and "run" in detail:
        run, needed = int(detail["run"]), int(detail["needed"])
        verdict = "stop" if estimate.stop else "not yet"
        return (
            f"{verdict}: {run} exclusions in a row (stops at {needed}; a rule of thumb "
            "with no statistical guarantee)"
        )
    numbers = ", ".join(f"{k} {v:.3g}" for k, v in detail.items())
    return ("stop" if estimate.stop else "not yet") + (f" ({numbers})" if numbers else "")


def _recall(found: int, left: int) -> float | None:
    return found / (found + left) if found else None


def _percent(share: float) -> str:
    """0.95 -> "95%", 0.999 -> "99.9%": as precise as the figure needs, no more."""
    value = share * 100
    return f"{value:.0f}%" if abs(value - round(value)) < 0.05 else f"{value:.1f}%"
