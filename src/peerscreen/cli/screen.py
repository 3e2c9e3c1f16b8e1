"""`peerscreen screen`: screen records one at a time while a model learns from each decision.

The project file (`peerscreen.screening`) owns all state; these commands parse, call it and
print. `screen next` is the interactive loop: it shows a record with its criteria evidence
highlighted, takes a key, commits the decision, retrains, and shows the next record.
"""

from __future__ import annotations

import getpass
from pathlib import Path

import click
import numpy as np
import typer
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from peerscreen.cli import _keys
from peerscreen.cli._prompts import ask_decision
from peerscreen.cli._util import FORMAT_OPTION, NO_DEDUP_OPTION, console, err_console, user_errors
from peerscreen.cli.data import print_import_report
from peerscreen.cli.loop_options import LEARNER_OPTION
from peerscreen.io.writers import write_records
from peerscreen.paths import DEFAULT_CONFIG
from peerscreen.review.authoring import protocol_origin
from peerscreen.review.criteria import record_text
from peerscreen.review.models import BACKENDS
from peerscreen.screening import (
    ProjectStatus,
    Scores,
    ScreeningError,
    ScreeningProject,
    ScreeningRecord,
    create_project,
    open_project,
)
from peerscreen.screening.advice import describe_rule
from peerscreen.screening.calibration import MIN_PER_CLASS, p_include_in_words
from peerscreen.screening.query import QUERY_STRATEGIES
from peerscreen.screening.service import ScreeningService

screen_app = typer.Typer(
    help="Screen records interactively; the model retrains after every decision.",
    no_args_is_help=True,
    rich_markup_mode=None,
)

_PROJECT_HELP = (
    "Screening project file (from `screen init`), or a team database "
    "(a file or postgresql+psycopg://USER@HOST/DB)."
)


def _project_argument() -> str:
    return typer.Argument(..., help=_PROJECT_HELP, show_default=False)


def _project_name_option() -> str | None:
    return typer.Option(
        None, "--project", "-p", help="Which project, where the database holds several."
    )


def _screener_option() -> str:
    return typer.Option(
        getpass.getuser(),
        "--as",
        help="Screener name the decisions are recorded under (default: your OS user).",
        show_default=False,
    )


def _warn_config(project: ScreeningProject) -> None:
    if project.config_note:
        err_console.print(f"[yellow]warning:[/] {escape(project.config_note)}", highlight=False)


# -- init -----------------------------------------------------------------------------------
def init_command(
    project: Path = typer.Argument(
        ..., help="Project file to create, e.g. review.screen.", show_default=False
    ),
    files: list[Path] = typer.Argument(
        ..., help="Export files (or OpenAlex folders) to screen.", show_default=False
    ),
    config: Path | None = typer.Option(
        None, "--config", "-c", help="Review protocol (TOML); default configs/review.toml."
    ),
    backend: str = typer.Option(
        "tfidf-lr", "--backend", "-b", help=f"Model backend: {', '.join(sorted(BACKENDS))}."
    ),
    learner: str = LEARNER_OPTION,
    query: str = typer.Option(
        "max", "--query", "-q", help=f"Query strategy: {', '.join(QUERY_STRATEGIES)}."
    ),
    seed: int = typer.Option(0, "--seed", help="Random seed (model, random query strategies)."),
    mode: str = typer.Option(
        "single",
        "--mode",
        help="single: one screener per record; dual: two independent screeners per record, "
        "conflicts resolved by an owner (in `peerscreen serve`).",
    ),
    criteria_as_inclusion: bool = typer.Option(
        True,
        "--criteria-as-inclusion/--no-criteria-as-inclusion",
        help="Train the model on the protocol's criteria in words as one more inclusion.",
    ),
    fmt: str | None = FORMAT_OPTION,
    no_dedup: bool = NO_DEDUP_OPTION,
    force: bool = typer.Option(False, "--force", help="Replace an existing screening project."),
) -> None:
    """Create a screening project from exports: import, deduplicate, flag, rank by the criteria."""
    with user_errors():
        console.print(escape(protocol_origin(config)), highlight=False, soft_wrap=True)
        with console.status("importing, flagging and ranking records"):
            opened, result = create_project(
                project,
                files,
                config=config,
                backend=backend,
                learner=learner,
                query=query,
                seed=seed,
                mode=mode,
                force=force,
                fmt=fmt,
                dedup=not no_dedup,
                criteria_as_inclusion=criteria_as_inclusion,
            )
        opened.close()
    print_import_report(result)
    console.print(
        f"created [bold]{escape(str(project))}[/]: {result.n_records} records to screen "
        f"(config {escape(str(config or DEFAULT_CONFIG))}, backend {backend}, learner {learner}, "
        f"query {query}" + (", dual screening" if mode == "dual" else "") + ")"
    )
    console.print(f"start screening: peerscreen screen next {escape(str(project))}")


# -- next -----------------------------------------------------------------------------------
def highlighted(record: ScreeningRecord) -> Text:
    """Title (bold) and abstract with every criteria-flag evidence span in bold red, inside
    its whole sentence underlined (the sentence decides what the phrase means)."""
    text = Text(record_text(record.title, record.abstract))
    if record.title:
        text.stylize("bold", 0, len(record.title))
    for flag in record.flags:
        if flag.sentence_end > flag.sentence_start:
            text.stylize("underline", flag.sentence_start, flag.sentence_end)
    for flag in record.flags:
        if flag.end > flag.start:
            text.stylize("bold red", flag.start, flag.end)
    if not record.title:
        text = Text("(no title)", style="dim") + text
    if not record.abstract:
        text.append("(no abstract)", style="dim")
    return text


def record_details(record: ScreeningRecord, max_authors: int = 3) -> str:
    """Authors, year, journal and DOI on one line (`ScreeningRecord.details`)."""
    return record.details(max_authors)


def _show(project: ScreeningProject, record: ScreeningRecord, scores: Scores, done: int) -> None:
    score, meaning = _score_words(scores, record.position)
    console.print()
    console.rule(
        f"[bold]{escape(record.record_id)}[/] · {score} · {done}/{project.n_records} screened",
        align="left",
    )
    if meaning:
        console.print(meaning, style="dim", highlight=False)
    console.print(highlighted(record))
    details = record_details(record)
    if details:
        console.print(Text(details, style="dim"))
    for flag in record.flags:
        evidence = f'"{flag.evidence}"' if flag.where != "metadata" else flag.evidence
        console.print(
            Text.assemble(
                ("  flag ", "dim"),
                (flag.code, "red"),
                f" {evidence} ({flag.confidence:.2f}, {flag.where})",
            )
        )


def _retrain(project: ScreeningProject) -> Scores:
    with console.status("retraining"):
        return project.retrain()


def _screen(project: ScreeningProject, screener: str, limit: int | None, ask_notes: bool) -> int:
    """The interactive loop; returns the number of decisions made.

    Records come from the screening service, as in the server: in a team database another
    screener at work never gets the record shown here (a lease), and in dual mode this
    screener gets the records that still need their vote. On a terminal the screen is
    cleared before each record, so the outcome of the last answer ("saved: ...", "undid:
    ...") is printed again above the new record."""
    service = ScreeningService(project, background=False)  # this loop retrains itself
    made = 0
    notice = ""
    project.warm_up()  # features build while the reviewer reads the first record
    try:
        while limit is None or made < limit:
            state = project.label_state()
            scores = project.scores()
            if scores.revision != state.revision:
                scores = _retrain(project)
            record = service.next_for(screener)
            if record is None:
                console.print("[green]every record has been screened[/]")
                break
            if _keys.single_keys():
                console.clear()
                if notice:
                    console.print(notice, highlight=False)
            _show(project, record, scores, len(state.order))  # skipped: still to screen
            previous = _own_latest(project, state, record.position, screener)
            if previous is not None:
                console.print(f"  (currently: {previous.action})", style="dim")
            answer = ask_decision(project, record, ask_notes)
            if answer.action == "quit":
                break
            if answer.action == "undo":
                undone = service.undo(screener)
                notice = (
                    "nothing to undo"
                    if undone is None
                    else f"undid: {undone.action} {escape(undone.record_id)}"
                )
                console.print(notice)
                if undone is not None:
                    _retrain(project)
                continue
            decision = service.decide(
                screener,
                record.record_id,
                answer.action,
                reason=answer.reason,
                note=answer.note,
                source="screen next",
            )
            reason = f" ({decision.reason})" if decision.reason else ""
            notice = f"[green]saved[/]: {decision.action}{reason} {escape(record.record_id)}"
            console.print(notice)
            made += 1
            _retrain(project)
    finally:
        service.release(screener)
    return made


def _own_latest(project: ScreeningProject, state, position: int, screener: str):
    """The decision shown as "currently": the record's (single mode) or, in dual mode,
    only this screener's own (the other screener's stays hidden)."""
    latest = state.latest.get(position)
    if project.mode != "dual":
        return latest
    record_id = project.record_ids[position]
    own = [d for d in project.decisions() if d.record_id == record_id and d.screener == screener]
    return own[-1] if own else None


def _interrupted(project: ScreeningProject) -> None:
    """Ctrl-C: close the project (every decision shown as saved is already committed), say
    so in one line, and exit 130 as shells expect of an interrupted command."""
    project.close()
    console.print()
    err_console.print("[yellow]interrupted[/]: every confirmed decision is saved")
    raise typer.Exit(130)


def next_command(
    project: str = _project_argument(),
    project_name: str | None = _project_name_option(),
    count: int | None = typer.Option(
        None, "-n", "--count", min=1, help="Stop after this many decisions."
    ),
    notes: bool = typer.Option(
        True, "--notes/--no-notes", help="Ask for a note after each include or exclude."
    ),
    screener: str = _screener_option(),
) -> None:
    """Screen interactively: i include, e exclude, s skip, u undo, q quit (? for help)."""
    with user_errors():
        opened = open_project(project, project_name)
        _ = opened.protocol
        _warn_config(opened)
        try:
            made = _screen(opened, screener, count, notes)
        except (EOFError, typer.Abort, click.exceptions.Abort):  # the input ended
            console.print()
            made = None
        except KeyboardInterrupt:
            _interrupted(opened)
        status = opened.status()
        opened.close()
    if made is None:
        console.print("stopped; every confirmed decision is saved")
    else:
        console.print(f"{made} decision{'s' * (made != 1)} this session")
    _print_counts_line(status)
    _print_stopping(status, only_stops=True)


# -- label ----------------------------------------------------------------------------------
def label_command(
    project: str = _project_argument(),
    project_name: str | None = _project_name_option(),
    record_id: str = typer.Argument(..., help="The record's id (as in `export`)."),
    decision: str = typer.Argument(..., metavar="include|exclude", help="The decision."),
    reason: str | None = typer.Option(
        None, "--reason", "-r", help="Exclusion code from the protocol (with exclude)."
    ),
    note: str | None = typer.Option(None, "--note", help="A free-text note."),
    retrain: bool = typer.Option(
        True, "--retrain/--no-retrain", help="Retrain now (else the next `screen next` does)."
    ),
    screener: str = _screener_option(),
) -> None:
    """Record one decision from a script; it is committed before the model retrains."""
    with user_errors():
        if decision not in ("include", "exclude"):
            raise ScreeningError(f"decision must be include or exclude, not '{decision}'")
        opened = open_project(project, project_name)
        service = ScreeningService(opened, background=False)
        made = service.decide(
            screener, record_id, decision, reason=reason, note=note, source="screen label"
        )
        because = f" ({made.reason})" if made.reason else ""
        console.print(f"saved: {made.action}{because} {escape(record_id)}")
        if retrain:
            scores = opened.retrain()
            console.print(f"model v{scores.version} ({scores.kind}, {scores.n_labels} labels)")
        opened.close()


# -- status ---------------------------------------------------------------------------------
def _score_words(scores: Scores, position: int) -> tuple[str, str | None]:
    """The score in a record's header, and one plain line saying what the number means."""
    if scores.kind != "model":
        return "cold start (similarity to the criteria)", None
    p_include = scores.p_include(position)
    if p_include is None:
        return f"model v{scores.version}", (
            f"p_include: shown once {MIN_PER_CLASS} inclusions and {MIN_PER_CLASS} exclusions "
            "are screened (the model ranks the records already)"
        )
    header = f"p_include {p_include:.2f} (model v{scores.version})"
    probabilities = scores.probabilities
    if probabilities is not None and np.ptp(probabilities) < 1e-9:
        return header, (
            f"p_include {p_include:.2f} for every record: the share of inclusions so far; the "
            "screened records do not yet show the model's scores separating them"
        )
    return header, f"p_include {p_include:.2f}: {p_include_in_words(p_include)}"


def _print_counts_line(status: ProjectStatus) -> None:
    console.print(
        f"{status.n_labelled} of {status.n_records} screened ({status.n_included} included, "
        f"{status.n_excluded} excluded); {status.n_unscreened} still to screen"
        + (f", {status.n_skipped} of them skipped" if status.n_skipped else "")
    )


def _print_stopping(status: ProjectStatus, *, only_stops: bool = False) -> None:
    """The stopping advice in sentences, then each rule's verdict in words (with
    `only_stops`, after a session: the sentence to act on and the rules that say stop)."""
    advice = status.advice
    if advice is None:
        return
    headline = advice.headline()
    lines = advice.sentences() if not only_stops else [headline] if headline else []
    for line in lines:
        console.print(line, highlight=False)
    for name, estimate in advice.rules.items():
        if only_stops and not estimate.stop:
            continue
        words = describe_rule(
            estimate,
            advice.n_screened,
            target_recall=advice.target_recall,
            confidence=advice.confidence,
        )
        console.print(f"stopping rule {name}: {escape(words)}", highlight=False)


def _print_exclusion_reasons(status: ProjectStatus) -> None:
    """Exclusions per reason, the figures a PRISMA flow diagram asks for."""
    if not status.n_excluded:
        return
    table = Table(title="Excluded, by reason", title_justify="left")
    table.add_column("reason")
    table.add_column("records", justify="right")
    unused = [code for code, count in status.exclusion_reasons.items() if not count]
    for code, count in status.exclusion_reasons.items():
        if count:
            table.add_row(escape(code), str(count))
    table.add_row("(no reason given)", str(status.n_excluded_no_reason))
    table.add_row("[bold]total[/]", f"[bold]{status.n_excluded}[/]")
    console.print(table)
    if unused:
        console.print(f"no exclusion yet for: {escape(', '.join(unused))}", style="dim")


def status_command(
    project: str = _project_argument(),
    project_name: str | None = _project_name_option(),
    target_recall: float = typer.Option(
        0.95, "--target-recall", min=0.5, max=1.0, help="Recall the stopping rules aim for."
    ),
    confidence: float = typer.Option(
        0.95, "--confidence", min=0.5, max=0.999, help="Confidence of the buscar rule."
    ),
) -> None:
    """Counts, exclusions by reason, the model, and when to stop: recall so far, inclusions
    probably left, records still to screen, and each stopping rule's verdict."""
    with user_errors(), open_project(project, project_name) as opened:
        status = opened.status(target_recall=target_recall, confidence=confidence)
    if status.config_note:
        err_console.print(f"[yellow]warning:[/] {escape(status.config_note)}", highlight=False)
    counts = Table(title=str(project), title_justify="left")
    columns = ("records", "screened", "included", "excluded", "to screen", "skipped")
    for name in columns:
        counts.add_column(name, justify="right")
    counts.add_row(
        *map(
            str,
            (
                status.n_records,
                status.n_labelled,
                status.n_included,
                status.n_excluded,
                status.n_unscreened,
                status.n_skipped,
            ),
        )
    )
    console.print(counts)
    console.print("skipped records count as still to screen", style="dim")
    _print_exclusion_reasons(status)
    kind = "active learner" if status.model_kind == "model" else "cold start (criteria similarity)"
    stale = " [yellow](stale: the next `screen next` retrains)[/]" if status.scores_stale else ""
    settings = status.settings
    console.print(
        f"model v{status.model_version}: {kind}{stale}; {status.n_decisions} decisions "
        f"({status.n_undone} undone); backend {settings['backend']}, "
        f"learner {settings.get('learner', 'svm')}, query {settings['query']}"
        + ("; trains on the criteria text too" if settings.get("criteria_as_inclusion") else "")
    )
    console.print(f"config {escape(settings['config'])} ({settings['config_hash']})")
    console.print()
    console.print("[bold]When to stop[/] (buscar's hypergeometric model)")
    _print_stopping(status)


# -- export ---------------------------------------------------------------------------------
def export_command(
    project: str = _project_argument(),
    project_name: str | None = _project_name_option(),
    output: Path = typer.Option(
        ...,
        "-o",
        "--output",
        help="Output file; format from its extension (.csv .tsv .jsonl .xlsx .parquet .ris).",
    ),
) -> None:
    """Write every record with its decision (included, exclusion_reason, note, decided_at)."""
    with user_errors(), open_project(project, project_name) as opened:
        frame = opened.export_frame()
        write_records(frame, output)
    labelled = int(frame["included"].notna().sum())
    console.print(f"wrote {len(frame)} records ({labelled} labelled) to {escape(str(output))}")


def register(app: typer.Typer) -> None:
    screen_app.command("init")(init_command)
    screen_app.command("next")(next_command)
    screen_app.command("label")(label_command)
    screen_app.command("status")(status_command)
    screen_app.command("export")(export_command)
    app.add_typer(screen_app, name="screen")
