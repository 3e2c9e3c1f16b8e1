"""`peerscreen bench`: simulate every benchmark review x seed, or a grid of loop settings
with cross-review validation (`--grid`, `--folds`)."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from peerscreen.cli._util import console, user_errors
from peerscreen.cli.loop_options import LEARNER_OPTION, RETRAIN_OPTION, TEXTLESS_OPTION
from peerscreen.errors import PeerscreenError
from peerscreen.review.models import BACKENDS
from peerscreen.screening.benchmark import (
    read_prior_table,
    run_benchmark,
    summarise,
    summary_markdown,
)
from peerscreen.screening.datasets import benchmark_files
from peerscreen.screening.simulation import SimulationResult
from peerscreen.tracking import configure_tracking, log_simulation


def bench_command(
    folder: Path | None = typer.Argument(
        None, help="Folder of labelled CSVs (default ../shared/data/benchmarks)."
    ),
    seeds: str = typer.Option("0,1,2", "--seeds", help="Comma-separated seeds."),
    backend: str = typer.Option(
        "tfidf-lr", "--backend", "-b", help=f"One of: {', '.join(sorted(BACKENDS))}."
    ),
    learner: str = LEARNER_OPTION,
    query: str = typer.Option("max", "--query", "-q", help="Query strategy."),
    criteria_as_inclusion: bool = typer.Option(
        True,
        "--criteria-as-inclusion/--no-criteria-as-inclusion",
        help="Train on each dataset's published criteria (criteria.toml) as one more "
        "inclusion throughout, where they exist.",
    ),
    textless: str = TEXTLESS_OPTION,
    retrain: str = RETRAIN_OPTION,
    datasets: str | None = typer.Option(
        None, "--datasets", help="Only these dataset names (comma-separated)."
    ),
    results_dir: Path = typer.Option(
        Path("benchmarks/results"), "--results-dir", help="Where <backend>.csv/.md go."
    ),
    output_dir: Path | None = typer.Option(
        None, "--output-dir", help="Also keep each simulation's files here."
    ),
    priors_file: Path | None = typer.Option(
        None,
        "--priors",
        help="CSV of dataset, seed, prior_ids (ids separated by ';'): start each simulation "
        "from these priors instead of a random draw.",
    ),
    tracking_uri: str | None = typer.Option(
        None, "--tracking-uri", help="MLflow server (default sqlite:///mlflow.db)."
    ),
    experiment: str = typer.Option("peerscreen-bench", "--experiment", help="MLflow experiment."),
    no_track: bool = typer.Option(False, "--no-track", help="Do not log to MLflow."),
    grid: list[str] = typer.Option(
        [],
        "--grid",
        help="Vary a loop setting, NAME=V1,V2 (repeatable; year_weight, year_ramp, "
        "criteria_as_inclusion, textless, retrain, learner): every combination is run.",
    ),
    folds: int | None = typer.Option(
        None,
        "--folds",
        help="Cross-review validation: split the reviews into K fixed groups, choose the "
        "grid point on the other groups, score it on each held-out group.",
    ),
) -> None:
    """Simulate every benchmark dataset x seed; write a CSV and a markdown table; one MLflow
    parent run with a child run per simulation. With --grid/--folds: every grid point, then
    the cross-review table (held-out beside in-sample means)."""
    if grid or folds:
        loop = dict(learner=learner, query=query, textless=textless, retrain=retrain)
        _bench_grid(
            folder, datasets, seeds, backend, results_dir, grid, folds or 3,
            priors_file=priors_file, criteria_as_inclusion=criteria_as_inclusion, **loop,
        )  # fmt: skip
        return
    import tempfile

    with user_errors():
        seed_list = [int(s) for s in seeds.split(",") if s.strip()]
        files = _selected_files(folder, datasets)
        priors = read_prior_table(priors_file) if priors_file is not None else None
        results_dir.mkdir(parents=True, exist_ok=True)
        parent = None
        if not no_track:
            configure_tracking(tracking_uri)
            import mlflow

            mlflow.set_experiment(experiment)
            parent = mlflow.start_run(run_name=f"bench-{backend}")
            mlflow.log_params(
                {
                    "backend": backend,
                    "learner": learner,
                    "query": query,
                    "seeds": seeds,
                    "n_datasets": len(files),
                    "priors": str(priors_file) if priors_file else "random",
                    "retrain": retrain,
                    "textless": textless,
                    "criteria_as_inclusion": criteria_as_inclusion,
                }
            )
        scratch = tempfile.TemporaryDirectory()
        keep = output_dir or Path(scratch.name)
        try:
            with _simulations_progress() as progress:
                task = progress.add_task("simulations", total=len(files) * len(seed_list))

                def done(result: SimulationResult, sim_folder: Path | None) -> None:
                    if parent is not None and sim_folder is not None:
                        log_simulation(result, sim_folder, experiment=experiment, nested=True)
                    progress.update(
                        task, advance=1, description=f"{result.dataset} s{result.settings['seed']}"
                    )

                results = run_benchmark(
                    files,
                    seed_list,
                    backend=backend,
                    learner=learner,
                    query=query,
                    output_dir=keep,
                    priors=priors,
                    retrain=retrain,
                    textless=textless,
                    criteria_as_inclusion=criteria_as_inclusion,
                    on_result=done,
                )
            summary = summarise(results)
            command = "peerscreen " + " ".join(shlex.quote(a) for a in sys.argv[1:])
            results.to_csv(results_dir / f"{backend}.csv", index=False)
            (results_dir / f"{backend}.md").write_text(
                summary_markdown(summary, backend=backend, seeds=seed_list, command=command)
            )
            if parent is not None:
                import mlflow

                mean = summary.iloc[-1]
                mlflow.log_metrics(
                    {f"mean_{c}": float(mean[c]) for c in summary.columns if c != "dataset"}
                )
                mlflow.log_artifact(str(results_dir / f"{backend}.csv"))
                mlflow.log_artifact(str(results_dir / f"{backend}.md"))
        finally:
            scratch.cleanup()
            if parent is not None:
                import mlflow

                mlflow.end_run()
    _print_summary(summary)
    console.print(f"wrote {results_dir / f'{backend}.csv'} and {results_dir / f'{backend}.md'}")


def _bench_grid(
    folder: Path | None,
    datasets: str | None,
    seeds: str,
    backend: str,
    results_dir: Path,
    grid_specs: list[str],
    n_folds: int,
    *,
    priors_file: Path | None,
    **loop_settings,
) -> None:
    """`bench --grid/--folds`: run every grid point over every review x seed, then choose
    on K-1 groups of reviews and score on the held-out one (`screening.crossval`)."""
    import pandas as pd

    from peerscreen.screening.benchmark import parse_grid
    from peerscreen.screening.crossval import (
        cross_review_table,
        crossval_markdown,
        grid_points,
        point_label,
        review_folds,
    )

    with user_errors():
        seed_list = [int(s) for s in seeds.split(",") if s.strip()]
        files = _selected_files(folder, datasets)
        fold_of = review_folds([f.stem for f in files], n_folds)
        points = grid_points(parse_grid(grid_specs))
        priors = read_prior_table(priors_file) if priors_file is not None else None
        frames = []
        with _simulations_progress() as progress:
            task = progress.add_task("simulations", total=len(points) * len(files) * len(seed_list))
            for point in points:
                label = point_label(point)

                def done(result: SimulationResult, _folder: Path | None, label=label) -> None:
                    progress.update(task, advance=1, description=f"{label}: {result.dataset}")

                frame = run_benchmark(
                    files,
                    seed_list,
                    backend=backend,
                    priors=priors,
                    on_result=done,
                    **{**loop_settings, **point},
                )
                frame.insert(0, "point", label)
                frames.append(frame)
        results = pd.concat(frames, ignore_index=True)
        table = cross_review_table(results, fold_of)
        command = "peerscreen " + " ".join(shlex.quote(a) for a in sys.argv[1:])
        results_dir.mkdir(parents=True, exist_ok=True)
        results.to_csv(results_dir / f"{backend}-crossval.csv", index=False)
        (results_dir / f"{backend}-crossval.md").write_text(
            crossval_markdown(table, fold_of, command=command) + "\n"
        )
    console.print(table.per_point.round(3).to_string(index=False))
    console.print(table.choices.round(3).to_string(index=False))
    best = table.in_sample_best
    console.print(
        f"in-sample best {best['point']}: WSS@95 {best['wss95']:.3f}; "
        f"held-out WSS@95 {table.held_out_mean():.3f}",
        highlight=False,
    )
    console.print(f"wrote {results_dir / f'{backend}-crossval.csv'} and .md")


def _simulations_progress() -> Progress:
    """The bar over a benchmark's simulations (its description names the one running)."""
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
    return Progress(*columns, TimeElapsedColumn(), console=console)


def _selected_files(folder: Path | None, datasets: str | None) -> list[Path]:
    files = benchmark_files(folder)
    if datasets:
        wanted = {d.strip() for d in datasets.split(",")}
        files = [f for f in files if f.stem in wanted]
        missing = wanted - {f.stem for f in files}
        if missing:
            raise PeerscreenError(f"unknown datasets: {', '.join(sorted(missing))}")
    return files


def _print_summary(summary) -> None:
    table = Table(title="Benchmark (mean over seeds)", title_justify="left")
    columns = [
        ("dataset", "dataset"),
        ("wss95", "WSS@95"),
        ("wss100", "WSS@100"),
        ("rrf10", "RRF@10"),
        ("atd", "ATD"),
        ("buscar_recall", "buscar recall"),
        ("buscar_work_saved", "buscar saved"),
        ("wall_seconds", "s"),
    ]
    for _, title in columns:
        table.add_column(title, justify="left" if title == "dataset" else "right")
    for row in summary.itertuples(index=False):
        values = row._asdict()
        table.add_row(
            *[
                str(values[k]).replace("**", "") if k == "dataset" else f"{values[k]:.3f}"
                for k, _ in columns
                if k in values
            ]
        )
    console.print(table)


def register(app: typer.Typer) -> None:
    app.command("bench")(bench_command)
