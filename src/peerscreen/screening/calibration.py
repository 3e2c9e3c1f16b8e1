"""Turning the screening model's scores into a probability a reviewer can read.

The default screening model is a linear SVM weighted towards inclusions: its decision value
ranks records well but is no probability (after 15 labels, every record of a 258-record
project showed 0.62-0.67 as "p_include"). `p_include` is now Platt scaling (Platt 1999,
with the numerically safe fit of Lin, Lin & Weng 2007) fitted on *out-of-fold* decision
values of the screened records: each screened record scored by a model that did not see
its label, so the fit learns how often records scored like this turned out to be
inclusions, not how well the model remembers its training set. The same fold models score
the unscreened records (their mean decision), so the fit is applied on the scale it was
fitted on (`ActiveLearner.scored`).

Few labels: Platt's target smoothing (an inclusion counts as (n+ + 1)/(n+ + 2), an
exclusion as 1/(n- + 2)) is a prior that keeps the fit finite when the screened records
separate perfectly, and a slope that comes out negative (the model's scores do not yet
tell inclusions apart out of fold) is replaced by none at all: every record then gets the
smoothed share of inclusions so far. p_include is for reading and export only: the queue
still orders records by the latest model's own score, unchanged, so the two can differ in
order by a little (p_include comes from the fold models of the latest calibration).

What it estimates: among records *screened so far* with a score like this one, the share
that were inclusions. Screened records are the model's picks, so for the records nobody
has screened it leans high rather than low.
"""

from __future__ import annotations

import math

import numpy as np

#: Fewest screened inclusions, and exclusions, before there is a p_include at all: with
#: one of a class there is no out-of-fold score for it.
MIN_PER_CLASS = 2
#: Folds for the out-of-fold decision values (fewer when a class has fewer records).
MAX_FOLDS = 5


#: Labels added or removed, as a share of the labels, that make a calibration due again.
RECALIBRATE_SHARE = 0.05


def recalibration_due(previous: tuple[int, int], now: tuple[int, int]) -> bool:
    """Whether the (labels, inclusions) counts moved far enough from those of the last
    calibration to fit it again: any change in inclusions (an inclusion moves the model
    most), or labels changed by `RECALIBRATE_SHARE` (at 200 labels: every 10th)."""
    (n_before, included_before), (n_now, included_now) = previous, now
    if included_before != included_now:
        return True
    return abs(n_now - n_before) >= max(1, int(RECALIBRATE_SHARE * n_now))


def fold_assignment(labels: np.ndarray, seed: int) -> np.ndarray | None:
    """A fold number per labelled record, stratified so every fold holds both classes
    (None when a class has under `MIN_PER_CLASS` records)."""
    labels = np.asarray(labels, dtype=int)
    counts = [int((labels == c).sum()) for c in (0, 1)]
    if min(counts) < MIN_PER_CLASS:
        return None
    n_folds = min(MAX_FOLDS, *counts)
    rng = np.random.default_rng(seed)
    folds = np.empty(len(labels), dtype=int)
    for c in (0, 1):
        members = rng.permutation(np.flatnonzero(labels == c))
        folds[members] = np.arange(len(members)) % n_folds
    return folds


def platt_fit(decisions: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    """(slope, intercept) of p = 1 / (1 + exp(-(slope * d + intercept))), fitted by Newton's
    method with backtracking on Platt's smoothed targets; slope never below 0."""
    d = np.asarray(decisions, dtype=float)
    y = np.asarray(labels, dtype=int)
    n_pos, n_neg = int(y.sum()), int(len(y) - y.sum())
    target = np.where(y == 1, (n_pos + 1) / (n_pos + 2), 1 / (n_neg + 2))
    a, b = 0.0, math.log((n_pos + 1) / (n_neg + 1))
    loss = _loss(a, b, d, target)
    for _ in range(100):
        p = _sigmoid(a * d + b)
        gradient = np.array([np.dot(d, p - target), np.sum(p - target)])
        w = p * (1 - p)
        hessian = np.array([[np.dot(d * d, w), np.dot(d, w)], [np.dot(d, w), w.sum()]])
        hessian += 1e-12 * np.eye(2)
        step = np.linalg.solve(hessian, -gradient)
        size = 1.0
        while size > 1e-10:
            new = (a + size * step[0], b + size * step[1])
            new_loss = _loss(*new, d, target)
            if new_loss < loss + 1e-4 * size * float(gradient @ step):
                break
            size /= 2
        else:
            break
        (a, b), converged = new, loss - new_loss < 1e-10
        loss = new_loss
        if converged or np.abs(gradient).max() < 1e-8:
            break
    if a < 0:  # the scores do not order inclusions first out of fold: no slope at all
        return 0.0, math.log(target.mean() / (1 - target.mean()))
    return float(a), float(b)


def apply_platt(decisions: np.ndarray, slope: float, intercept: float) -> np.ndarray:
    return _sigmoid(slope * np.asarray(decisions, dtype=float) + intercept)


def p_include_in_words(p: float) -> str:
    """What a calibrated p_include says, as a count a reviewer can picture ("about 3 in 10
    screened records scored like this were inclusions")."""
    if p >= 0.095:
        share = f"about {round(p * 10)} in 10"
    elif p >= 0.0095:
        share = f"about {round(p * 100)} in 100"
    else:
        share = "under 1 in 100"
    return f"{share} of the records screened so far that scored like this were included"


def _sigmoid(z: np.ndarray | float) -> np.ndarray:
    return 1 / (1 + np.exp(-np.clip(z, -500, 500)))


def _loss(a: float, b: float, d: np.ndarray, target: np.ndarray) -> float:
    """Cross-entropy of the smoothed targets, computed without overflow."""
    z = a * d + b
    return float(np.sum(np.logaddexp(0, z) - target * z))
