"""Compare MLflow runs side by side: which backend (and settings) ranked best?

Every `train`, `simulate` and `bench` is an MLflow run, so comparing models is a query over
runs. One metric name works for all three kinds of run: `wss95` finds `wss95` in a
simulation, `mean_wss95` in a bench parent run and `inclusion_wss95` in a training run.
Child runs (one per simulation under a bench) are left out unless asked for, so a bench
counts once, by its means.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from peerscreen.errors import PeerscreenError
from peerscreen.tracking import configure_tracking

#: Metrics where a smaller value is better (the sort flips for them).
LOWER_IS_BETTER = ("atd", "wall_seconds", "records_to_95", "records_to_all", "train_seconds")
#: Metrics worth a column beside the sort metric, by kind of run, in this order.
CONTEXT_METRICS = (
    "wss95",
    "wss100",
    "rrf10",
    "atd",
    "buscar_recall",
    "buscar_work_saved",
    "roc_auc",
    "average_precision",
    "category_macro_f1",
    "outcomes_micro_f1",
    "wall_seconds",
)
METRIC_PREFIXES = ("", "mean_", "inclusion_")
#: Parameters that identify a run; others show only where they differ between runs.
KEY_PARAMS = ("backend", "query", "dataset", "seed", "seeds", "review")


class ComparisonError(PeerscreenError):
    pass


@dataclass
class Comparison:
    table: pd.DataFrame  # one row per run, best first by `metric`
    metric: str  # the metric as asked for (e.g. "wss95")
    experiment: str


def resolve_metric(row: pd.Series, metric: str) -> float:
    """The run's value for `metric`, trying the names each kind of run logs it under."""
    for prefix in METRIC_PREFIXES:
        value = row.get(f"metrics.{prefix}{metric}")
        if value is not None and not pd.isna(value):
            return float(value)
    return float("nan")


def fetch_runs(
    experiment: str, *, tracking_uri: str | None = None, include_children: bool = False
) -> pd.DataFrame:
    """Finished runs of `experiment` as MLflow's search frame (params.*, metrics.*, tags.*)."""
    configure_tracking(tracking_uri)
    import mlflow

    found = mlflow.get_experiment_by_name(experiment)
    if found is None:
        names = sorted(e.name for e in mlflow.search_experiments())
        raise ComparisonError(
            f"no MLflow experiment '{experiment}' at {mlflow.get_tracking_uri()} "
            f"(experiments: {', '.join(names) or 'none yet: run train, simulate or bench'})"
        )
    runs = mlflow.search_runs(
        experiment_ids=[found.experiment_id], filter_string="attributes.status = 'FINISHED'"
    )
    if not include_children and "tags.mlflow.parentRunId" in runs:
        runs = runs[runs["tags.mlflow.parentRunId"].isna()]
    return runs.reset_index(drop=True)


def experiment_overview(*, tracking_uri: str | None = None) -> pd.DataFrame:
    """Every experiment in the store, the one with the newest finished run first: its
    finished top-level runs, their child runs, and when and what the newest run was."""
    configure_tracking(tracking_uri)
    import mlflow

    rows = []
    for found in mlflow.search_experiments():
        runs = mlflow.search_runs(
            experiment_ids=[found.experiment_id],
            filter_string="attributes.status = 'FINISHED'",
            order_by=["attributes.start_time DESC"],
        )
        children = (
            runs["tags.mlflow.parentRunId"].notna()
            if "tags.mlflow.parentRunId" in runs
            else pd.Series(False, index=runs.index)
        )
        top = runs[~children]
        newest = top.iloc[0] if len(top) else None
        rows.append(
            {
                "experiment": found.name,
                "runs": len(top),
                "child_runs": int(children.sum()),
                "last_run": "" if newest is None else str(newest.get("tags.mlflow.runName", "")),
                "started": pd.NaT if newest is None else pd.to_datetime(newest["start_time"]),
            }
        )
    table = pd.DataFrame(rows, columns=["experiment", "runs", "child_runs", "last_run", "started"])
    table = table.sort_values("started", ascending=False, na_position="last", kind="stable")
    table["started"] = table["started"].dt.strftime("%Y-%m-%d %H:%M").fillna("")
    return table.reset_index(drop=True)


def latest_experiment(*, tracking_uri: str | None = None) -> str:
    """The experiment whose newest finished run started last (what `compare` shows when
    no experiment is named): after one `simulate`, that simulation's experiment."""
    overview = experiment_overview(tracking_uri=tracking_uri)
    with_runs = overview[overview["runs"] > 0]
    if with_runs.empty:
        import mlflow

        raise ComparisonError(
            f"no finished runs at {mlflow.get_tracking_uri()} yet: "
            "run `peerscreen train`, `simulate` or `bench` first"
        )
    return str(with_runs.iloc[0]["experiment"])


def compare(
    experiment: str | None = None,
    *,
    metric: str = "wss95",
    tracking_uri: str | None = None,
    include_children: bool = False,
    limit: int | None = None,
) -> Comparison:
    """`experiment`'s runs best first by `metric` (no experiment: the most recent one)."""
    if experiment is None:
        experiment = latest_experiment(tracking_uri=tracking_uri)
    runs = fetch_runs(experiment, tracking_uri=tracking_uri, include_children=include_children)
    if runs.empty:
        raise ComparisonError(f"experiment '{experiment}' has no finished runs yet")
    return Comparison(
        table=comparison_table(runs, metric, limit=limit), metric=metric, experiment=experiment
    )


def comparison_table(runs: pd.DataFrame, metric: str, *, limit: int | None = None) -> pd.DataFrame:
    """Run, identifying and differing params, the sort metric, then context metrics."""
    values = runs.apply(lambda row: resolve_metric(row, metric), axis=1)
    if values.isna().all():
        available = sorted({c.removeprefix("metrics.") for c in runs if c.startswith("metrics.")})
        raise ComparisonError(
            f"no run logged a metric '{metric}' (metrics: {', '.join(available) or 'none'})"
        )
    table = pd.DataFrame(
        {
            "run": runs.get("tags.mlflow.runName", runs["run_id"]).fillna(runs["run_id"]),
            "run_id": runs["run_id"].str[:8],
            "started": pd.to_datetime(runs["start_time"]).dt.strftime("%Y-%m-%d %H:%M"),
        }
    )
    for name in _shown_params(runs):
        table[name] = runs[f"params.{name}"].fillna("")
    table[metric] = values
    for other in CONTEXT_METRICS:
        if other == metric:
            continue
        column = runs.apply(lambda row, m=other: resolve_metric(row, m), axis=1)
        if column.notna().any():
            table[other] = column
    ascending = metric.removeprefix("mean_") in LOWER_IS_BETTER
    table = table.sort_values(metric, ascending=ascending, na_position="last", kind="stable")
    table = table.reset_index(drop=True)
    return table.head(limit) if limit else table


def _shown_params(runs: pd.DataFrame) -> list[str]:
    """Key params that any run has, then other params whose values differ between runs."""
    params = [c.removeprefix("params.") for c in runs if c.startswith("params.")]
    shown = [p for p in KEY_PARAMS if p in params and runs[f"params.{p}"].notna().any()]
    varying = [
        p
        for p in sorted(params)
        if p not in shown
        and not p.endswith(("digest", "path", "paths", "prior_ids", "version"))
        and runs[f"params.{p}"].nunique(dropna=False) > 1
    ]
    return shown + varying[:6]


def bar_chart(comparison: Comparison, path: str) -> str:
    """A horizontal bar per run (best on top) for the sort metric."""
    from peerscreen.plots import comparison_figure

    table = comparison.table.dropna(subset=[comparison.metric])
    labels = [_label(row) for _, row in table.iterrows()]
    comparison_figure(
        labels,
        table[comparison.metric].to_numpy(dtype=float),
        path,
        metric=comparison.metric,
        title=f"{comparison.experiment}: {comparison.metric}",
    )
    return path


def _label(row: pd.Series) -> str:
    parts = [str(row["run"])]
    for key in ("dataset", "seed", "query"):
        value = row.get(key)
        if isinstance(value, str) and value and value not in parts[0]:
            parts.append(f"{key}={value}")
    return " ".join(parts) + f" ({row['run_id']})"


def format_table(table: pd.DataFrame, fmt: str) -> str:
    """The table as markdown or CSV text (numbers to 3 decimals)."""
    from peerscreen.reporting import markdown_table

    if fmt == "markdown":
        return markdown_table(table)
    if fmt == "csv":
        return table.to_csv(index=False, float_format="%.4f")
    raise ComparisonError(f"unknown format '{fmt}' (choose table, markdown or csv)")


def is_number(value: object) -> bool:
    return isinstance(value, float | int | np.floating) and not pd.isna(value)
