"""Stopping rules: when is it safe to stop screening?

Each rule is a pure function of the labels in screening order (1 = inclusion) and the total
number of records, returning a `StopEstimate`. Registered by name in `STOPPING_RULES`.

- `buscar`: the hypergeometric test of Callaghan & Mueller-Hansen (2020), "Statistical
  stopping criteria for automated screening in systematic reviews". For every window of the
  most recently screened records, treat the window as a random draw from the records that
  were still unscreened when it began (conservative: prioritised screening front-loads
  inclusions), and test H0 "recall is below the target". Stop when the smallest p-value is
  below 1 - confidence. The same test, asked of every possible number of inclusions left
  instead of only the one the target implies, bounds what is left (`buscar_inclusions_left`)
  and how many more exclusions would make it stop (`buscar_records_to_stop`).
- `knee`: the knee method of Cormack & Grossman (2016): stop once the slope of the gain curve
  before its knee is at least `156 - min(found, 150)` times the slope after it, and at least
  150 records have been screened.
- `consecutive-exclusions`: stop after `max(50, 5% of N)` exclusions in a row (the common
  practitioner heuristic; no statistical guarantee).

A rule's `stop` means the rule itself fired: having screened every record is not a stop
(`first_stop` never reports one at N), so a rule that never fires is reported as such.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from scipy.stats import hypergeom

from peerscreen.errors import PeerscreenError


@dataclass(frozen=True)
class StopEstimate:
    rule: str
    stop: bool
    detail: dict[str, float] = field(default_factory=dict)


StoppingRule = Callable[[np.ndarray, int, float, float], StopEstimate]


#: The knee method does not judge the gain curve before this many records are screened.
KNEE_MIN_SCREENED = 150


class UnknownStoppingRuleError(PeerscreenError):
    pass


def buscar_p_value(labels: np.ndarray, n_total: int, target_recall: float = 0.95) -> float:
    """Smallest p-value over windows of the last screened records for H0: recall < target."""
    labels = np.asarray(labels, dtype=int)
    screened = len(labels)
    found = int(labels.sum())
    if screened == 0 or screened >= n_total:
        return 0.0 if screened >= n_total else 1.0
    window_hits = np.cumsum(labels[::-1])  # inclusions among the last n records
    window_sizes = _candidate_windows(labels)
    window_hits = window_hits[window_sizes - 1]
    urn_sizes = n_total - screened + window_sizes  # unscreened when each window began
    # fewest inclusions the urn must have held for recall to be below target
    needed = np.floor(found / target_recall - (found - window_hits)) + 1
    needed = np.clip(needed, 0, urn_sizes)
    p_values = hypergeom.cdf(window_hits, urn_sizes, needed.astype(int), window_sizes)
    return float(np.min(p_values))


def _candidate_windows(labels: np.ndarray) -> np.ndarray:
    """Sizes of the windows (of the last screened records) that can hold the smallest
    p-value: the whole list, and every window just after an inclusion.

    Why the others can be skipped: taking one more exclusion into a window keeps its hits
    and the number of inclusions H0 needs, and adds one record to both the draw and the urn.
    The extra draw can only add successes, so the p-value cannot rise. The smallest p-value
    therefore lies at a window that cannot grow over an exclusion. That cuts the test from
    one term per screened record to one per inclusion, with the same minimum."""
    before_window = labels[::-1][1:]  # before_window[w - 1]: the record just before size w
    sizes = np.flatnonzero(before_window == 1) + 1
    return np.r_[sizes, len(labels)]


def _missing_p_value(labels: np.ndarray, n_total: int, missing: int) -> float:
    """buscar's p-value for H0 "at least `missing` inclusions are still unscreened": the
    smallest, over the windows of `_candidate_windows`, chance of drawing as few inclusions
    as the window holds from the urn it was drawn from, had that urn held the window's
    inclusions plus `missing` more."""
    sizes = _candidate_windows(labels)
    hits = np.cumsum(labels[::-1])[sizes - 1]
    urn_sizes = n_total - len(labels) + sizes
    p_values = hypergeom.cdf(hits, urn_sizes, np.minimum(hits + missing, urn_sizes), sizes)
    return float(np.min(p_values))


def buscar_inclusions_left(labels: np.ndarray, n_total: int, confidence: float = 0.95) -> int:
    """The most inclusions that can still be unscreened at `confidence` under buscar's
    model: the largest number whose H0 the test cannot reject (0.5 gives a middle estimate,
    as likely too high as too low).

    Why a search: the p-value only falls as the number left grows (more inclusions in the
    urn make a thin window less likely), so a bisection over 0..unscreened finds the edge
    in a dozen tests. Recall's lower bound follows: found / (found + this)."""
    labels = np.asarray(labels, dtype=int)
    unscreened = n_total - len(labels)
    if unscreened <= 0 or len(labels) == 0:
        return max(0, unscreened)
    alpha = 1 - confidence
    low, high = 0, unscreened  # p(low) >= alpha always (p(0) = 1); find the last such
    if _missing_p_value(labels, n_total, high) >= alpha:
        return high
    while high - low > 1:
        middle = (low + high) // 2
        if _missing_p_value(labels, n_total, middle) >= alpha:
            low = middle
        else:
            high = middle
    return low


def buscar_records_to_stop(
    labels: np.ndarray, n_total: int, target_recall: float = 0.95, confidence: float = 0.95
) -> int | None:
    """How many more records buscar needs before it says stop, if none of them is an
    inclusion (0: it says stop now; None: not before every record is screened).

    The best case on purpose: each inclusion found on the way moves the stop further, so
    this is the least screening left, not a promise. Appending exclusions can only lower
    the p-value (see `_candidate_windows`), so a bisection finds the first one enough."""
    labels = np.asarray(labels, dtype=int)
    unscreened = n_total - len(labels)
    alpha = 1 - confidence

    def stops_after(extra: int) -> bool:
        padded = np.r_[labels, np.zeros(extra, dtype=int)]
        return buscar_p_value(padded, n_total, target_recall) < alpha

    if unscreened <= 0 or stops_after(0):
        return 0
    if not stops_after(unscreened - 1):
        return None
    low, high = 0, unscreened - 1  # stops_after(low) is False, stops_after(high) True
    while high - low > 1:
        middle = (low + high) // 2
        if stops_after(middle):
            high = middle
        else:
            low = middle
    return high


def buscar(
    labels: np.ndarray, n_total: int, target_recall: float = 0.95, confidence: float = 0.95
) -> StopEstimate:
    p = buscar_p_value(labels, n_total, target_recall)
    return StopEstimate("buscar", p < 1 - confidence, {"p_value": p})


def knee(
    labels: np.ndarray, n_total: int, target_recall: float = 0.95, confidence: float = 0.95
) -> StopEstimate:
    labels = np.asarray(labels, dtype=int)
    screened, found = len(labels), int(labels.sum())
    if screened < KNEE_MIN_SCREENED or found == 0:
        return StopEstimate(
            "knee", False, {"slope_ratio": 0.0, "threshold": 156.0 - min(found, 150)}
        )
    gain = np.cumsum(labels)
    x = np.arange(1, screened + 1)
    # knee: the point of the gain curve farthest above the line from the origin to the end
    distance = gain * screened - x * found
    i = int(np.argmax(distance))
    knee_x, knee_y = x[i], gain[i]
    slope_before = knee_y / knee_x
    slope_after = (found - knee_y + 1) / max(1, screened - knee_x)
    ratio = float(slope_before / slope_after)
    threshold = 156 - min(found, 150)
    return StopEstimate(
        "knee",
        ratio >= threshold,
        {"slope_ratio": ratio, "threshold": float(threshold)},
    )


def consecutive_exclusions(
    labels: np.ndarray, n_total: int, target_recall: float = 0.95, confidence: float = 0.95
) -> StopEstimate:
    labels = np.asarray(labels, dtype=int)
    needed = max(50, math.ceil(0.05 * n_total))
    hits = np.flatnonzero(labels)
    run = len(labels) - (hits[-1] + 1 if len(hits) else 0)
    return StopEstimate(
        "consecutive-exclusions",
        run >= needed,
        {"run": float(run), "needed": float(needed)},
    )


STOPPING_RULES: dict[str, StoppingRule] = {
    "buscar": buscar,
    "knee": knee,
    "consecutive-exclusions": consecutive_exclusions,
}


def get_stopping_rule(name: str) -> StoppingRule:
    try:
        return STOPPING_RULES[name]
    except KeyError:
        raise UnknownStoppingRuleError(
            f"unknown stopping rule '{name}' (choose from {', '.join(STOPPING_RULES)})"
        ) from None


def first_stop(
    labels: np.ndarray,
    n_total: int,
    rule: str,
    *,
    target_recall: float = 0.95,
    confidence: float = 0.95,
    step: int = 1,
) -> int | None:
    """The first number of screened records at which `rule` says stop (None if never).

    Only counts before every record is screened: at N there is nothing left to save, and
    reporting "stopped at N" (with no work saved) made a rule that never fired look as if
    it had. Evaluated every `step` records (buscar is O(n) per call; step keeps long
    replays fast).
    """
    function = get_stopping_rule(rule)
    labels = np.asarray(labels, dtype=int)
    last = min(len(labels), n_total - 1)
    for k in range(1, last + 1):
        if k % step and k != last:
            continue
        if function(labels[:k], n_total, target_recall, confidence).stop:
            return k
    return None
