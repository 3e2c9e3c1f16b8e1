"""`peerscreen train`, `rank` and `tag`: fit the review's models, rank and tag new records."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from peerscreen.batch.scoring import ScoringSpec
from peerscreen.batch.sources import BatchOptions
from peerscreen.batch.streaming import rank_files, tag_files
from peerscreen.cli._util import (
    FORMAT_OPTION,
    MODEL_TRACKING_OPTION,
    NO_DEDUP_OPTION,
    console,
    user_errors,
)
from peerscreen.cli.batch import (
    CHUNK_OPTION,
    RESUME_OPTION,
    WORKERS_OPTION,
    interrupt_note,
    print_batch_notes,
    scoring_progress,
)
from peerscreen.cli.spark import (
    ENGINE_OPTION,
    INPUT_OPTION,
    MASTER_OPTION,
    Engine,
    local_tag_files,
    tag_on_spark,
)
from peerscreen.io.ingest import import_records
from peerscreen.paths import DEFAULT_CONFIG, DEFAULT_CORPUS, DEFAULT_MODEL_DIR
from peerscreen.review.models import BACKENDS
from peerscreen.review.protocol import load_protocol
from peerscreen.review.ranking import RankSummary
from peerscreen.review.training import TrainResult, train
from peerscreen.tracking import load_review_model, log_training_run, save_pyfunc

_MODEL_HELP = "Model folder or MLflow URI (models:/NAME/VERSION, runs:/ID/model)."


def _parse_overrides(values: list[str]) -> dict:
    import json

    params = {}
    for item in values:
        key, sep, raw = item.partition("=")
        if not sep:
            raise typer.BadParameter(f"expected KEY=VALUE, got '{item}'", param_hint="--set")
        try:
            params[key.strip()] = json.loads(raw)
        except json.JSONDecodeError:
            params[key.strip()] = raw
    return params


def train_command(
    config: Path = typer.Option(
        DEFAULT_CONFIG,
        "--config",
        "-c",
        help="Review protocol (TOML).",
        show_default="configs/review.toml",
    ),
    data: list[Path] = typer.Option(
        None, "--data", "-d", help="Labelled records (any format); default: the embedded corpus."
    ),
    backend: str = typer.Option(
        "tfidf-lr", "--backend", "-b", help=f"Model backend: {', '.join(sorted(BACKENDS))}."
    ),
    promote: bool = typer.Option(
        False, "--promote", help="Also write the model to models/default (what `rank` uses)."
    ),
    model_dir: Path = typer.Option(
        DEFAULT_MODEL_DIR,
        "--model-dir",
        help="Where --promote writes.",
        show_default="models/default",
    ),
    seed: int = typer.Option(0, "--seed", help="Random seed (folds, models)."),
    target_recall: float = typer.Option(
        0.95, "--target-recall", min=0.5, max=1.0, help="Recall the decision bands aim for."
    ),
    tracking_uri: str | None = typer.Option(
        None,
        "--tracking-uri",
        help="MLflow server; default $MLFLOW_TRACKING_URI or sqlite:///mlflow.db.",
    ),
    experiment: str = typer.Option("peerscreen-train", "--experiment", help="MLflow experiment."),
    register_as: str | None = typer.Option(
        None, "--register-as", help="Registered model name (default peerscreen-<review>)."
    ),
    overrides: list[str] = typer.Option(
        [], "--set", help="Backend parameter KEY=VALUE (JSON values), e.g. --set C=2."
    ),
) -> None:
    """Fit the inclusion, category and outcome models; cross-validate; log to MLflow."""
    with user_errors():
        protocol = load_protocol(config)
        paths = list(data) if data else [DEFAULT_CORPUS]
        records = import_records(paths).records
        params = _parse_overrides(overrides)
        with _progress() as progress:
            task = progress.add_task("cross-validating (5 folds)", total=5)
            result = train(
                records,
                protocol,
                backend=backend,
                params=params,
                seed=seed,
                target_recall=target_recall,
                progress=lambda fold: progress.update(task, completed=fold),
            )
        name = register_as or f"peerscreen-{protocol.review.name}"
        with console.status("logging to MLflow"):
            run = log_training_run(
                result,
                experiment=experiment,
                register_as=name,
                config_path=config,
                data_paths=[str(p) for p in paths],
                tracking_uri=tracking_uri,
            )
        if promote:
            save_pyfunc(result.model, model_dir)
    _print_training(result, target_recall)
    version = f" version {run.registered_version}" if run.registered_version else ""
    console.print(
        f"MLflow run [bold]{run.run_id}[/] in '{run.experiment}' ({run.tracking_uri}); "
        f"registered [bold]{run.registered_name}[/]{version}"
    )
    if promote:
        console.print(f"promoted to [bold]{model_dir}[/]")


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    )


def _print_training(result: TrainResult, target_recall: float) -> None:
    pct = round(target_recall * 100)
    m = result.metrics
    table = Table(
        title=f"Cross-validated ({int(m['n_records'])} records, {int(m['n_included'])} included)",
        title_justify="left",
    )
    table.add_column("model")
    table.add_column("metric")
    table.add_column("value", justify="right")
    rows = [
        ("inclusion", "ROC-AUC", m["inclusion_roc_auc"]),
        ("inclusion", "average precision", m["inclusion_average_precision"]),
        ("inclusion", f"precision at {pct}% recall", m[f"inclusion_precision_at_recall{pct}"]),
        ("inclusion", f"work saved at {pct}% recall", m[f"inclusion_work_saved_at_recall{pct}"]),
        ("inclusion", f"WSS@{pct}", m[f"inclusion_wss{pct}"]),
    ]
    if "category_macro_f1" in m:
        rows.append(("category", "macro-F1", m["category_macro_f1"]))
    if "outcomes_micro_f1" in m:
        rows += [
            ("outcomes", "micro-F1", m["outcomes_micro_f1"]),
            ("outcomes", "macro-F1", m["outcomes_macro_f1"]),
        ]
    for model, metric, value in rows:
        table.add_row(model, metric, f"{value:.3f}")
    console.print(table)
    if result.outcome_table is not None:
        domains = Table(title="Outcome domains (out-of-fold)", title_justify="left")
        for name in ("domain", "precision", "recall", "f1", "support", "threshold"):
            domains.add_column(name, justify="left" if name == "domain" else "right")
        for row in result.outcome_table.itertuples(index=False):
            domains.add_row(
                row.domain,
                f"{row.precision:.2f}",
                f"{row.recall:.2f}",
                f"{row.f1:.2f}",
                str(row.support),
                f"{row.threshold:.2f}",
            )
        console.print(domains)
    bands = result.model.bands
    console.print(
        f"decision bands: exclude below p={bands.exclude_below:.3f}, "
        f"include from p={bands.include_from:.3f}"
    )


def rank_command(
    files: list[Path] = typer.Argument(
        ..., help="Records to rank (any supported format).", show_default=False
    ),
    model: str = typer.Option(
        str(DEFAULT_MODEL_DIR), "--model", "-m", help=_MODEL_HELP, show_default="models/default"
    ),
    output: Path | None = typer.Option(
        None, "-o", "--output", help="Ranked output (.csv .jsonl .xlsx .parquet .ris)."
    ),
    top: int = typer.Option(15, "--top", "-n", help="Rows to show."),
    target_recall: float = typer.Option(
        0.95, "--target-recall", min=0.5, max=1.0, help="Recall the bands and summary aim for."
    ),
    fmt: str | None = FORMAT_OPTION,
    no_dedup: bool = NO_DEDUP_OPTION,
    tracking_uri: str | None = MODEL_TRACKING_OPTION,
    workers: int = WORKERS_OPTION,
    resume: bool = RESUME_OPTION,
    chunk_size: int = CHUNK_OPTION,
) -> None:
    """Rank records by predicted inclusion, with decision bands, flags, category and outcomes."""
    options = BatchOptions(
        fmt=fmt, dedup=not no_dedup, chunk_size=chunk_size, workers=workers, resume=resume
    )
    spec = ScoringSpec(model, tracking_uri, with_inclusion=True, target_recall=target_recall)
    with user_errors(), interrupt_note(output, resume):
        review_model = _local_model(model, tracking_uri, workers)
        with scoring_progress("ranking") as progress:
            result = rank_files(
                files, output, spec, options, top=top, model=review_model, progress=progress
            )
    _print_queue(result.head, result.summary, top)
    print_batch_notes(result)
    if output is not None:
        console.print(f"wrote {result.n_records} ranked records to {output}")


def _local_model(model: str, tracking_uri: str | None, workers: int):
    """The model, loaded here when this process scores (with workers, each loads its own)."""
    return load_review_model(model, tracking_uri) if workers <= 1 else None


def _print_queue(table, summary: RankSummary, top: int) -> None:
    n = summary.n_records
    queue = Table(title=f"Screening queue (top {min(top, n)} of {n})", title_justify="left")
    queue.add_column("#", justify="right")
    queue.add_column("p", justify="right")
    queue.add_column("decision")
    queue.add_column("category")
    queue.add_column("title", overflow="fold", ratio=1)
    queue.add_column("flags", overflow="fold")
    colours = {"include": "green", "check": "yellow", "exclude": "red"}
    for row in table.head(top).itertuples(index=False):
        decision = f"[{colours[row.decision]}]{row.decision}[/]"
        queue.add_row(
            str(row.rank),
            f"{row.p_include:.2f}",
            decision,
            str(getattr(row, "category", "")),
            str(row.title or "(no title)")[:140],
            str(row.exclusion_reason or ""),
        )
    console.print(queue)
    counts = ", ".join(f"{n} {d}" for d, n in summary.decisions.items())
    console.print(f"decisions: {counts}")
    console.print(f"[bold]{summary.sentence()}[/]")
    if summary.beyond_bands:
        console.print(summary.explanation(), style="dim")


def tag_command(
    files: list[Path] = typer.Argument(
        None, help="Records to tag (any supported format).", show_default=False
    ),
    output: Path = typer.Option(
        ...,
        "-o",
        "--output",
        help="Tagged output (.csv .jsonl .xlsx .parquet .ris); --engine spark: a Parquet folder.",
    ),
    model: str = typer.Option(
        str(DEFAULT_MODEL_DIR), "--model", "-m", help=_MODEL_HELP, show_default="models/default"
    ),
    fmt: str | None = FORMAT_OPTION,
    no_dedup: bool = NO_DEDUP_OPTION,
    tracking_uri: str | None = MODEL_TRACKING_OPTION,
    workers: int = WORKERS_OPTION,
    resume: bool = RESUME_OPTION,
    chunk_size: int = CHUNK_OPTION,
    engine: Engine = ENGINE_OPTION,
    input_path: str | None = INPUT_OPTION,
    master: str | None = MASTER_OPTION,
) -> None:
    """Tag records with peer-support category, outcome domains and criteria flags (no ranking)."""
    if engine is Engine.spark:
        tag_on_spark(files, input_path, output, model, master, fmt, tracking_uri)
        return
    files = local_tag_files(files, input_path, master)
    options = BatchOptions(
        fmt=fmt, dedup=not no_dedup, chunk_size=chunk_size, workers=workers, resume=resume
    )
    spec = ScoringSpec(model, tracking_uri)
    with user_errors(), interrupt_note(output, resume):
        review_model = _local_model(model, tracking_uri, workers)
        with scoring_progress("tagging") as progress:
            result = tag_files(files, output, spec, options, model=review_model, progress=progress)
    counts = result.categories
    console.print("categories: " + ", ".join(f"{n} {c}" for c, n in counts.items()))
    print_batch_notes(result)
    console.print(f"wrote {result.n_records} tagged records to {output}")


def register(app: typer.Typer) -> None:
    app.command("train")(train_command)
    app.command("rank")(rank_command)
    app.command("tag")(tag_command)
