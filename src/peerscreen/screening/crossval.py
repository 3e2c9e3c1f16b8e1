"""Cross-review validation of screening-loop settings: choose on some reviews, score on others.

Why: a setting (the year block's weight, whether the criteria join the fit, ...) chosen on
the same reviews it is scored on says little about the next review, and a team's next review
is always one the tool has never seen. `review_folds` splits the benchmark reviews into K
fixed groups; `cross_review_table` then, for each group in turn, picks the grid point with
the best mean WSS@95 on the *other* groups and scores that choice on the held-out group.

Per candidate family (a grid of settings) it reports:
- in-sample: the best grid point chosen and scored on all reviews (what a tuned default
  claims);
- held-out: the mean over reviews of the score of the point chosen without that review's
  group (what the same tuning procedure would give on reviews it never saw).
A family with a single point has no choice to make, so both figures are the same.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import pandas as pd

from peerscreen.errors import PeerscreenError

#: The metric settings are chosen on.
SELECTION_METRIC = "wss95"


def review_folds(names: list[str], k: int) -> dict[str, int]:
    """A fixed group per review: names sorted, then dealt round-robin into `k` groups, so the
    same files always give the same groups (listed in RESULTS.md) and the twelve Cohen sets,
    which sort together, spread over every group."""
    if k < 2:
        raise PeerscreenError(f"--folds needs at least 2 groups (got {k})")
    ordered = sorted(set(names))
    if len(ordered) < k:
        raise PeerscreenError(f"--folds {k} needs at least {k} reviews (got {len(ordered)})")
    return {name: i % k for i, name in enumerate(ordered)}


def grid_points(grid: dict[str, list]) -> list[dict]:
    """Every combination of the grid's values, in the order given (one dict per point)."""
    if not grid:
        return [{}]
    keys = list(grid)
    return [dict(zip(keys, values, strict=True)) for values in itertools.product(*grid.values())]


def point_label(point: dict) -> str:
    return ", ".join(f"{k}={v}" for k, v in point.items()) or "defaults"


@dataclass(frozen=True)
class CrossReviewResult:
    """`per_point`: each grid point's mean over reviews (in-sample, no choice made).
    `choices`: per held-out group, the point chosen on the other groups and its scores.
    `held_out`: per review, the score of the point chosen without its group."""

    per_point: pd.DataFrame
    choices: pd.DataFrame
    held_out: pd.DataFrame

    @property
    def in_sample_best(self) -> pd.Series:
        return self.per_point.sort_values(SELECTION_METRIC, ascending=False).iloc[0]

    def held_out_mean(self, metric: str = SELECTION_METRIC) -> float:
        return float(self.held_out[metric].mean())


def cross_review_table(results: pd.DataFrame, folds: dict[str, int]) -> CrossReviewResult:
    """`results`: one row per simulation with columns point, dataset and the metrics. Means
    are over seeds per review, then over reviews (each review weighs the same)."""
    metrics = [c for c in ("wss95", "wss100", "rrf10", "buscar_recall") if c in results]
    per_review = results.groupby(["point", "dataset"], sort=False)[metrics].mean().reset_index()
    per_review["fold"] = per_review["dataset"].map(folds)
    if per_review["fold"].isna().any():
        absent = sorted(per_review.loc[per_review["fold"].isna(), "dataset"].unique())
        raise PeerscreenError(f"no fold for {', '.join(absent)}")
    per_point = per_review.groupby("point", sort=False)[metrics].mean().reset_index()
    choices, held = [], []
    for fold in sorted(per_review["fold"].unique()):
        train = per_review[per_review["fold"] != fold]
        means = train.groupby("point", sort=False)[SELECTION_METRIC].mean()
        chosen = means.idxmax()  # first best in grid order on ties
        test = per_review[(per_review["fold"] == fold) & (per_review["point"] == chosen)]
        held.append(test)
        choices.append(
            {
                "fold": int(fold),
                "chosen": chosen,
                "train_wss95": float(means[chosen]),
                "held_out_wss95": float(test[SELECTION_METRIC].mean()),
                "reviews": ", ".join(sorted(test["dataset"])),
            }
        )
    return CrossReviewResult(per_point, pd.DataFrame(choices), pd.concat(held, ignore_index=True))


def crossval_markdown(result: CrossReviewResult, folds: dict[str, int], *, command: str) -> str:
    """The cross-review section: groups, every point's in-sample mean, the choice per group
    and the held-out mean beside the in-sample best."""
    from peerscreen.reporting import markdown_table

    groups = pd.DataFrame(
        [
            {"group": g, "reviews": ", ".join(n for n, f in sorted(folds.items()) if f == g)}
            for g in sorted(set(folds.values()))
        ]
    )
    best = result.in_sample_best
    return "\n\n".join(
        [
            f"## Cross-review validation ({len(groups)} groups)",
            f"Command: `{command}`. Each group's setting is chosen by mean WSS@95 on the other "
            "groups and scored on it; in-sample is the best point chosen and scored on all.",
            markdown_table(groups),
            markdown_table(result.per_point.round(3)),
            markdown_table(result.choices.round(3)),
            f"In-sample best: {best['point']} (WSS@95 {best[SELECTION_METRIC]:.3f}); "
            f"held-out WSS@95 {result.held_out_mean():.3f}.",
        ]
    )
