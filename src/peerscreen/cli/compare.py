"""`peerscreen compare`: MLflow runs side by side, best first, with a bar chart."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import typer
from rich.console import Console
from rich.table import Table

from peerscreen.cli._util import console, user_errors
from peerscreen.tracking.comparison import (
    bar_chart,
    compare,
    experiment_overview,
    format_table,
    is_number,
)


def compare_command(
    experiment: str | None = typer.Option(
        None,
        "--experiment",
        "-e",
        help="MLflow experiment (peerscreen-bench, peerscreen-simulate, peerscreen-train, ...); "
        "default: the one with the most recent run.",
    ),
    all_experiments: bool = typer.Option(
        False, "--all", help="List every experiment with its run counts, and stop."
    ),
    metric: str = typer.Option(
        "wss95",
        "--metric",
        "-m",
        help="Sort by this metric (wss95 finds mean_wss95 and inclusion_wss95 too).",
    ),
    fmt: str = typer.Option("table", "--format", "-f", help="table, markdown or csv."),
    limit: int | None = typer.Option(None, "--limit", "-n", help="Show only the best N runs."),
    children: bool = typer.Option(
        False, "--children", help="Include child runs (each simulation of a bench)."
    ),
    plot: Path | None = typer.Option(
        Path("compare.png"), "--plot", help="Bar chart PNG of the metric."
    ),
    no_plot: bool = typer.Option(False, "--no-plot", help="Do not write the bar chart."),
    tracking_uri: str | None = typer.Option(
        None, "--tracking-uri", help="MLflow server (default $MLFLOW_TRACKING_URI or sqlite)."
    ),
) -> None:
    """Compare MLflow runs (backend, key params, metrics), sorted best first by --metric."""
    with user_errors():
        if fmt not in ("table", "markdown", "csv"):
            raise typer.BadParameter("choose table, markdown or csv", param_hint="--format")
        if all_experiments:
            overview = experiment_overview(tracking_uri=tracking_uri)
            if fmt == "table":
                _print_table(overview, "runs", "MLflow experiments", title="MLflow experiments")
            else:
                typer.echo(format_table(overview, fmt), nl=False)
            return
        named = experiment is not None
        result = compare(
            experiment,
            metric=metric,
            tracking_uri=tracking_uri,
            include_children=children,
            limit=limit,
        )
        chart = None if no_plot or plot is None else bar_chart(result, str(plot))
    if fmt == "table":
        if not named:
            console.print(
                f"experiment [bold]{result.experiment}[/] (the most recent; "
                "--experiment picks another, --all lists them)",
                highlight=False,
            )
        _print_table(result.table, result.metric, result.experiment)
    else:
        typer.echo(format_table(result.table, fmt), nl=False)
    if chart is not None:
        console.print(f"bar chart: {chart}", highlight=False)


def _print_table(table, metric: str, experiment: str, *, title: str | None = None) -> None:
    view = Table(title=title or f"{experiment}: runs by {metric}", title_justify="left")
    for column in table.columns:
        numeric = table[column].map(is_number).any()
        style = "bold" if column == metric else None
        view.add_column(column, justify="right" if numeric else "left", style=style, no_wrap=True)
    for row in table.itertuples(index=False):
        view.add_row(*[_cell(v) for v in row])
    # A pipe or a file has no width to fit: print every column in full there.
    (console if console.is_terminal else Console(width=400)).print(view)


def _cell(value: object) -> str:
    if is_number(value) and not isinstance(value, int | np.integer):
        return f"{value:.3f}"
    return str(value)


def register(app: typer.Typer) -> None:
    app.command("compare")(compare_command)
