"""`peerscreen simulate`: replay screening on one labelled dataset."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from peerscreen.cli._util import console, user_errors
from peerscreen.cli.loop_options import LEARNER_OPTION, RETRAIN_OPTION, TEXTLESS_OPTION
from peerscreen.errors import PeerscreenError
from peerscreen.io.ingest import import_records
from peerscreen.review.models import BACKENDS
from peerscreen.review.protocol import load_protocol
from peerscreen.screening.advice import stopping_advice
from peerscreen.screening.benchmark import (
    write_simulation,
)
from peerscreen.screening.datasets import published_criteria, resolve_dataset
from peerscreen.screening.query import QUERY_STRATEGIES
from peerscreen.screening.simulation import SimulationResult, check_labelled, simulate
from peerscreen.tracking import log_simulation


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
    learner: str = LEARNER_OPTION,
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
                learner=learner,
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


def register(app: typer.Typer) -> None:
    app.command("simulate")(simulate_command)
