"""`peerscreen simulate` and `peerscreen bench`: replay screening on labelled data."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from peerscreen.cli._util import console, user_errors
from peerscreen.errors import PeerscreenError
from peerscreen.io.ingest import import_records
from peerscreen.review.models import BACKENDS
from peerscreen.review.protocol import load_protocol
from peerscreen.screening.advice import stopping_advice
from peerscreen.screening.benchmark import (
    read_prior_table,
    run_benchmark,
    summarise,
    summary_markdown,
    write_simulation,
)
from peerscreen.screening.datasets import benchmark_files, published_criteria, resolve_dataset
from peerscreen.screening.query import QUERY_STRATEGIES
from peerscreen.screening.simulation import SimulationResult, check_labelled, simulate
from peerscreen.tracking import configure_tracking, log_simulation

#: Loop options shared by `simulate` and `bench`.
TEXTLESS_OPTION = typer.Option(
    "tied",
    "--textless",
    help="Records with no title and no abstract: 'tied' (one block when the model's "
    "scores fall to theirs, as ASReview) or 'when-dry' (one block once the model's last "
    "20 picks found under half the running inclusion rate).",
)
RETRAIN_OPTION = typer.Option(
    "adaptive",
    "--retrain",
    help="'adaptive': refit after every inclusion and after exclusions reaching 2% of the "
    "labels; 'every': refit after every label, as ASReview does.",
)


def _cold_start_text(dataset: str, config: Path | None, criteria_text: str | None) -> str:
    if criteria_text:
        return criteria_text
    if config is not None:
        return load_protocol(config).criteria_text()
    text = published_criteria(dataset)
    if not text:
        raise PeerscreenError(
            f"no published criteria for '{dataset}' in criteria.toml; "
            "pass --config or --criteria-text"
        )
    return text


def _guide_text(dataset: str, config: Path | None, criteria_text: str | None) -> str | None:
    """The criteria in words to train on, if any source has them (unlike --cold-start,
    training on them is a default, so a dataset without criteria just goes without)."""
    if criteria_text or config is not None:
        return _cold_start_text(dataset, config, criteria_text)
    return published_criteria(dataset) or None


def simulate_command(
    dataset: str = typer.Argument(
        ..., help="A labelled file, or a benchmark name such as Donners_2021."
    ),
    backend: str = typer.Option(
        "tfidf-lr", "--backend", "-b", help=f"One of: {', '.join(sorted(BACKENDS))}."
    ),
    query: str = typer.Option(
        "max", "--query", "-q", help=f"One of: {', '.join(QUERY_STRATEGIES)}."
    ),
    prior_included: int = typer.Option(
        1, "--prior-included", min=0, help="Random prior inclusions."
    ),
    prior_excluded: int = typer.Option(
        1, "--prior-excluded", min=0, help="Random prior exclusions."
    ),
    seed: int = typer.Option(0, "--seed", help="Seed for priors and models."),
    prior_ids: str | None = typer.Option(
        None, "--prior-ids", help="Exact priors: record_ids, comma-separated."
    ),
    cold_start: str | None = typer.Option(
        None, "--cold-start", help="'criteria': no priors; rank by the review's criteria first."
    ),
    config: Path | None = typer.Option(
        None, "--config", help="Protocol whose criteria text drives --cold-start."
    ),
    criteria_text: str | None = typer.Option(
        None, "--criteria-text", help="Criteria in words for --cold-start."
    ),
    criteria_as_inclusion: bool = typer.Option(
        True,
        "--criteria-as-inclusion/--no-criteria-as-inclusion",
        help="Train on the review's criteria text (--criteria-text, --config, or criteria.toml "
        "by dataset name) as one more inclusion throughout, where there is one.",
    ),
    textless: str = TEXTLESS_OPTION,
    retrain: str = RETRAIN_OPTION,
    stop_after: int | None = typer.Option(
        None, "--stop-after", min=1, help="Screen at most N records."
    ),
    output_dir: Path | None = typer.Option(
        None, "--output-dir", "-o", help="Default: out/simulate/<dataset>-s<seed>."
    ),
    tracking_uri: str | None = typer.Option(
        None, "--tracking-uri", help="MLflow server (default sqlite:///mlflow.db)."
    ),
    experiment: str = typer.Option(
        "peerscreen-simulate", "--experiment", help="MLflow experiment."
    ),
    no_track: bool = typer.Option(False, "--no-track", help="Do not log to MLflow."),
) -> None:
    """Replay screening on a labelled dataset; write metrics.json, order.csv, a recall curve."""
    with user_errors():
        path = resolve_dataset(dataset)
        if cold_start not in (None, "criteria"):
            raise PeerscreenError(f"--cold-start takes 'criteria', not '{cold_start}'")
        records = import_records([path], dedup=False).records
        check_labelled(records, str(path))
        text = _cold_start_text(path.stem, config, criteria_text) if cold_start else None
        guide = _guide_text(path.stem, config, criteria_text) if criteria_as_inclusion else None
        priors = [p.strip() for p in prior_ids.split(",") if p.strip()] if prior_ids else None
        with Progress(
            TextColumn("screening {task.fields[found]} found"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        ) as progress:
            task = progress.add_task("sim", total=len(records), found=0)
            result = simulate(
                records,
                dataset=path.stem,
                backend=backend,
                query=query,
                prior_included=prior_included,
                prior_excluded=prior_excluded,
                seed=seed,
                prior_ids=priors,
                cold_start_text=text,
                stop_after=stop_after,
                retrain=retrain,
                textless=textless,
                guide_text=guide,
                progress=lambda steps, found: progress.update(task, completed=steps, found=found),
            )
        folder = write_simulation(
            result, output_dir or Path("out") / "simulate" / f"{path.stem}-s{seed}"
        )
        if not no_track:
            log_simulation(result, folder, experiment=experiment, tracking_uri=tracking_uri)
    _print_simulation(result, folder)


def _print_simulation(result: SimulationResult, folder: Path) -> None:
    m = result.metrics
    table = Table(
        title=f"{result.dataset}: N={m['n']}, R={m['n_included']} (priors excluded)",
        title_justify="left",
    )
    for name in ("WSS@95", "WSS@100", "RRF@10", "ATD", "to 95%", "to all", "seconds"):
        table.add_column(name, justify="right")
    table.add_row(
        f"{m['wss95']:.3f}",
        f"{m['wss100']:.3f}",
        f"{m['rrf10']:.3f}",
        f"{m['atd']:.3f}",
        str(m["records_to_95"]),
        str(m["records_to_all"]),
        f"{m['wall_seconds']:.1f}",
    )
    console.print(table)
    _print_stopping_rules(result)
    console.print(f"wrote {folder}/metrics.json, order.csv, recall_curve.png")


def _print_stopping_rules(result: SimulationResult) -> None:
    """Where each rule would have stopped (a rule that never fired before the last record
    says so, not "stopped at N"), then the advice `screen status` would have given at the
    point 95% of the inclusions were found, beside how many were truly left."""
    stops = Table(
        title="Stopping rules (target recall 0.95)",
        title_justify="left",
        caption="never fired: the rule did not say stop before the last record",
        caption_justify="left",
    )
    for name in ("rule", "stops after", "recall there", "work saved"):
        stops.add_column(name, justify="left" if name == "rule" else "right")
    for rule, outcome in result.stopping.items():
        if outcome["stopped_at"] is None:
            stops.add_row(rule, "never fired", "1.000", "0.000")
            continue
        at = str(outcome["stopped_at"])
        stops.add_row(rule, at, f"{outcome['recall']:.3f}", f"{outcome['work_saved']:.3f}")
    console.print(stops)
    reached = int(result.metrics["records_to_95"])
    if not result.n_included or reached >= result.n:
        return
    seen = result.labels[:reached]
    advice = stopping_advice(seen, result.n)
    truly_left = result.n_included - int(seen.sum())
    console.print(
        f"After {reached} records, where 95% recall was reached, `screen status` would "
        f"have said ({truly_left} inclusions were truly left):",
        highlight=False,
    )
    for line in advice.sentences():
        console.print(f"  {line}", highlight=False)


def bench_command(
    folder: Path | None = typer.Argument(
        None, help="Folder of labelled CSVs (default ../shared/data/benchmarks)."
    ),
    seeds: str = typer.Option("0,1,2", "--seeds", help="Comma-separated seeds."),
    backend: str = typer.Option(
        "tfidf-lr", "--backend", "-b", help=f"One of: {', '.join(sorted(BACKENDS))}."
    ),
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
        "criteria_as_inclusion, textless, retrain): every combination is run.",
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
        loop = dict(query=query, textless=textless, retrain=retrain)
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
    app.command("simulate")(simulate_command)
    app.command("bench")(bench_command)
