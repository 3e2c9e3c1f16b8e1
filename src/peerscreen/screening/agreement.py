"""Inter-rater agreement of two screeners on include/exclude, with 95% confidence intervals.

Pure functions over paired labels (the records both screeners decided, skips left out):

- `percent_agreement`: the share of records given the same label; Wilson score interval
  (it stays inside [0, 1] and behaves at 0% and 100%, unlike the normal approximation).
- `cohens_kappa`: agreement beyond what the two screeners' own include rates give by
  chance; CI from the large-sample standard error of Fleiss, Cohen & Everitt (1969).
- `gwet_ac1`: Gwet's first-order agreement coefficient (Gwet 2008), which stays stable when
  inclusions are rare (screening's usual case, where kappa can be low despite near-perfect
  agreement: the "kappa paradox"); CI from Gwet's variance formula for two raters.

Each returns an `Estimate`. Degenerate cases give None rather than a made-up number: no
records -> every value None; every record given the same single label by both screeners
-> kappa undefined (chance agreement is 1), while AC1 is still defined; fewer than two
records -> no interval for kappa and AC1 (a variance needs two observations).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

#: Two-sided 95% normal quantile.
Z95 = 1.959963984540054
_AS_LABEL = {"include": 1, "exclude": 0, 1: 1, 0: 0}  # True == 1, False == 0


@dataclass(frozen=True)
class Estimate:
    """An agreement figure and its 95% CI; None where undefined, with `note` saying why."""

    value: float | None
    low: float | None = None
    high: float | None = None
    note: str | None = None


@dataclass(frozen=True)
class Table:
    """The 2x2 table of two screeners' labels as proportions: `both_in`, `first_only`
    (first included, second excluded), `second_only`, `both_out`; `n` records."""

    n: int
    both_in: float
    first_only: float
    second_only: float
    both_out: float

    @property
    def observed(self) -> float:
        return self.both_in + self.both_out

    @property
    def first_in(self) -> float:
        return self.both_in + self.first_only

    @property
    def second_in(self) -> float:
        return self.both_in + self.second_only


def table(first: Sequence, second: Sequence) -> Table:
    """The 2x2 table of paired labels ('include'/'exclude', 1/0 or True/False)."""
    if len(first) != len(second):
        raise ValueError(f"paired labels differ in length ({len(first)} and {len(second)})")
    counts = [[0, 0], [0, 0]]  # [first][second], 1 = include
    for a, b in zip(first, second, strict=True):
        counts[_label(a)][_label(b)] += 1
    n = len(first)
    share = (lambda c: c / n) if n else (lambda c: 0.0)
    return Table(
        n, share(counts[1][1]), share(counts[1][0]), share(counts[0][1]), share(counts[0][0])
    )


def _label(value: object) -> int:
    try:
        return _AS_LABEL[value]  # type: ignore[index]
    except (KeyError, TypeError):
        raise ValueError(f"not an include/exclude label: {value!r}") from None


def _interval(value: float, variance: float, n: int) -> Estimate:
    if n < 2:
        return Estimate(value, note="fewer than two records: no interval")
    half = Z95 * math.sqrt(max(variance, 0.0))
    return Estimate(value, max(-1.0, value - half), min(1.0, value + half))


_NO_RECORDS = Estimate(None, note="no records screened by both")


def percent_agreement(first: Sequence, second: Sequence) -> Estimate:
    """Share of records both screeners labelled alike, with its Wilson 95% interval."""
    t = table(first, second)
    if t.n == 0:
        return _NO_RECORDS
    p, n, z2 = t.observed, t.n, Z95**2
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = Z95 * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n)
    return Estimate(p, max(0.0, centre - half), min(1.0, centre + half))


def cohens_kappa(first: Sequence, second: Sequence) -> Estimate:
    """Cohen's kappa with the Fleiss-Cohen-Everitt (1969) large-sample 95% interval."""
    t = table(first, second)
    if t.n == 0:
        return _NO_RECORDS
    margins = {1: (t.first_in, t.second_in), 0: (1 - t.first_in, 1 - t.second_in)}
    chance = sum(a * b for a, b in margins.values())
    if chance >= 1 - 1e-12:
        return Estimate(None, note="undefined: both screeners gave every record the same label")
    kappa = (t.observed - chance) / (1 - chance)
    cells = {(1, 1): t.both_in, (1, 0): t.first_only, (0, 1): t.second_only, (0, 0): t.both_out}
    total = 0.0
    for (i, j), p in cells.items():
        # weight_ij - (1 - kappa) * (second's share of i + first's share of j)
        spread = (1.0 if i == j else 0.0) - (1 - kappa) * (margins[i][1] + margins[j][0])
        total += p * spread**2
    variance = (total - (kappa - chance * (1 - kappa)) ** 2) / (t.n * (1 - chance) ** 2)
    return _interval(kappa, variance, t.n)


def gwet_ac1(first: Sequence, second: Sequence) -> Estimate:
    """Gwet's AC1 with the 95% interval from Gwet's (2008) variance for two raters."""
    t = table(first, second)
    if t.n == 0:
        return _NO_RECORDS
    shares = {1: (t.first_in + t.second_in) / 2}
    shares[0] = 1 - shares[1]
    chance = sum(s * (1 - s) for s in shares.values())  # / (q - 1), q = 2 categories
    ac1 = (t.observed - chance) / (1 - chance)
    cells = {(1, 1): t.both_in, (1, 0): t.first_only, (0, 1): t.second_only, (0, 0): t.both_out}
    total = 0.0
    for (k, m), p in cells.items():
        spread = (1.0 if k == m else 0.0) - 2 * (1 - ac1) * (1 - (shares[k] + shares[m]) / 2)
        total += p * spread**2
    variance = (total - (t.observed - 2 * (1 - ac1) * chance) ** 2) / (t.n * (1 - chance) ** 2)
    return _interval(ac1, variance, t.n)
