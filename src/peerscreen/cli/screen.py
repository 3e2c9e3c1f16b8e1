"""`peerscreen screen`: screen records one at a time while a model learns from each decision.

The project file (`peerscreen.screening`) owns all state; these commands parse, call it and
print. `screen next` is the interactive loop: it shows a record with its criteria evidence
highlighted, takes a key, commits the decision, retrains, and shows the next record.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import click
import typer
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from peerscreen.cli._util import FORMAT_OPTION, NO_DEDUP_OPTION, console, err_console, user_errors
from peerscreen.cli.data import print_import_report
from peerscreen.io.writers import write_records
from peerscreen.paths import DEFAULT_CONFIG
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
from peerscreen.screening.query import QUERY_STRATEGIES

screen_app = typer.Typer(
    help="Screen records interactively; the model retrains after every decision.",
    no_args_is_help=True,
    rich_markup_mode="rich",
)

_PROJECT_HELP = "Screening project file (from `screen init`)."
_KEYS = {
    "i": "include",
    "e": "exclude",
    "s": "skip",
    "u": "undo",
    "q": "quit",
}
_HELP = (
    "i include, e exclude, s skip (show again at the end), u undo the last decision, q quit.\n"
    "Shortcuts: 'e CODE note...' excludes with a reason (a code, its number or a unique\n"
    "prefix) and a note; 'i note...' and 's note...' include or skip with a note."
)


def _project_argument() -> Path:
    return typer.Argument(..., help=_PROJECT_HELP, show_default=False)


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
    query: str = typer.Option(
        "max", "--query", "-q", help=f"Query strategy: {', '.join(QUERY_STRATEGIES)}."
    ),
    seed: int = typer.Option(0, "--seed", help="Random seed (model, random query strategies)."),
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
        with console.status("importing, flagging and ranking records"):
            opened, result = create_project(
                project,
                files,
                config=config,
                backend=backend,
                query=query,
                seed=seed,
                force=force,
                fmt=fmt,
                dedup=not no_dedup,
                criteria_as_inclusion=criteria_as_inclusion,
            )
        opened.close()
    print_import_report(result)
    console.print(
        f"created [bold]{escape(str(project))}[/]: {result.n_records} records to screen "
        f"(config {escape(str(config or DEFAULT_CONFIG))}, backend {backend}, query {query})"
    )
    console.print(f"start screening: peerscreen screen next {escape(str(project))}")


# -- next -----------------------------------------------------------------------------------
@dataclass
class _Answer:
    action: str
    reason: str | None = None
    note: str | None = None
    reason_given: bool = False
    note_given: bool = False


def _resolve_code(project: ScreeningProject, text: str) -> str:
    """An exclusion code from its name, its number in the list, or a unique prefix."""
    codes = project.protocol.exclusion_codes
    if text in codes:
        return text
    if text.isdigit() and 1 <= int(text) <= len(codes):
        return codes[int(text) - 1]
    matches = [c for c in codes if c.startswith(text)]
    if len(matches) == 1:
        return matches[0]
    return project.check_reason(text) or ""  # raises ScreeningError with the valid codes


def _parse_answer(project: ScreeningProject, line: str) -> _Answer | None:
    words = line.strip().split(maxsplit=1)
    if not words:
        return None
    key, rest = words[0].lower(), (words[1] if len(words) > 1 else "")
    action = _KEYS.get(key) or (key if key in _KEYS.values() else None)
    if action is None:
        return None
    answer = _Answer(action)
    if action == "exclude" and rest:
        code, _, note = rest.partition(" ")
        answer.reason, answer.reason_given = _resolve_code(project, code), True
        rest = note
    if rest.strip() and action in ("include", "exclude", "skip"):
        answer.note, answer.note_given = rest.strip(), True
    return answer


def _ask_action(project: ScreeningProject) -> _Answer:
    while True:
        line = typer.prompt("[i]nclude [e]xclude [s]kip [u]ndo [q]uit", prompt_suffix=" > ")
        if line.strip() == "?":
            console.print(_HELP, highlight=False)
            continue
        try:
            answer = _parse_answer(project, line)
        except ScreeningError as exc:
            err_console.print(f"[yellow]{escape(str(exc))}[/]", highlight=False)
            continue
        if answer is not None:
            return answer
        console.print("type i, e, s, u or q (? for help)")


def _print_codes(project: ScreeningProject) -> None:
    codes = project.protocol.exclusion_codes
    console.print("  ".join(f"{i}:{c}" for i, c in enumerate(codes, 1)), highlight=False)


def _ask_reason(project: ScreeningProject, record: ScreeningRecord) -> str | None:
    flagged = list(dict.fromkeys(f.code for f in record.flags))
    hint = f"; flagged: {', '.join(flagged)}" if flagged else ""
    while True:
        text = typer.prompt(
            f"exclusion code (code, number, Enter for none, ? to list{hint})",
            default="",
            show_default=False,
            prompt_suffix=" > ",
        ).strip()
        if not text:
            return None
        if text == "?":
            _print_codes(project)
            continue
        try:
            return _resolve_code(project, text)
        except ScreeningError as exc:
            err_console.print(f"[yellow]{escape(str(exc))}[/]", highlight=False)


def _ask_note() -> str | None:
    text = typer.prompt(
        "note (Enter for none)", default="", show_default=False, prompt_suffix=" > "
    )
    return text.strip() or None


def highlighted(record: ScreeningRecord) -> Text:
    """Title (bold) and abstract with every criteria-flag evidence span in bold red."""
    text = Text(record_text(record.title, record.abstract))
    if record.title:
        text.stylize("bold", 0, len(record.title))
    for flag in record.flags:
        if flag.end > flag.start:
            text.stylize("bold red", flag.start, flag.end)
    if not record.title:
        text = Text("(no title)", style="dim") + text
    if not record.abstract:
        text.append("(no abstract)", style="dim")
    return text


def _show(project: ScreeningProject, record: ScreeningRecord, scores: Scores, done: int) -> None:
    p_include = scores.p_include(record.position)
    score = (
        f"p_include {p_include:.2f} (model v{scores.version})"
        if p_include is not None
        else "cold start (similarity to the criteria)"
    )
    console.print()
    console.rule(
        f"[bold]{escape(record.record_id)}[/] · {score} · {done}/{project.n_records} screened",
        align="left",
    )
    console.print(highlighted(record))
    details = [str(v) for v in (record.year, record.fields.get("journal")) if v]
    if details:
        console.print(Text(" · ".join(details), style="dim"))
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


def _screen(project: ScreeningProject, limit: int | None, ask_notes: bool) -> int:
    """The interactive loop; returns the number of decisions made."""
    made = 0
    again: int | None = None  # after an undo, the record whose decision was undone
    project.warm_up()  # features build while the reviewer reads the first record
    while limit is None or made < limit:
        state = project.label_state()
        scores = project.scores()
        if scores.revision != state.revision:
            scores = _retrain(project)
        if again is not None:
            position, again = again, None
        else:
            queue = project.queue(scores, state)
            if not queue:
                console.print("[green]every record has been screened[/]")
                break
            position = queue[0]
        record = project.record_at(position)
        done = len(state.order) + state.count("skip")
        _show(project, record, scores, done)
        previous = state.latest.get(position)
        if previous is not None:
            console.print(f"  (currently: {previous.action})", style="dim")
        answer = _ask_action(project)
        if answer.action == "quit":
            break
        if answer.action == "undo":
            undone = project.undo()
            if undone is None:
                console.print("nothing to undo")
                again = position
                continue
            console.print(f"undid: {undone.action} {escape(undone.record_id)}")
            _retrain(project)
            again = project.position(undone.record_id)
            continue
        if answer.action == "exclude" and not answer.reason_given:
            answer.reason = _ask_reason(project, record)
        if ask_notes and not answer.note_given and answer.action != "skip":
            answer.note = _ask_note()
        decision = project.decide(
            record.record_id,
            answer.action,
            reason=answer.reason,
            note=answer.note,
            source="screen next",
        )
        reason = f" ({decision.reason})" if decision.reason else ""
        console.print(f"[green]saved[/]: {decision.action}{reason} {escape(record.record_id)}")
        made += 1
        _retrain(project)
    return made


def next_command(
    project: Path = _project_argument(),
    count: int | None = typer.Option(
        None, "-n", "--count", min=1, help="Stop after this many decisions."
    ),
    notes: bool = typer.Option(
        True, "--notes/--no-notes", help="Ask for a note after each include or exclude."
    ),
) -> None:
    """Screen interactively: i include, e exclude, s skip, u undo, q quit (? for help)."""
    with user_errors():
        opened = open_project(project)
        _ = opened.protocol
        _warn_config(opened)
        try:
            made = _screen(opened, count, notes)
        except (typer.Abort, click.exceptions.Abort, KeyboardInterrupt):
            console.print()
            made = None
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
    project: Path = _project_argument(),
    record_id: str = typer.Argument(..., help="The record's id (as in `export`)."),
    decision: str = typer.Argument(..., metavar="include|exclude", help="The decision."),
    reason: str | None = typer.Option(
        None, "--reason", "-r", help="Exclusion code from the protocol (with exclude)."
    ),
    note: str | None = typer.Option(None, "--note", help="A free-text note."),
    retrain: bool = typer.Option(
        True, "--retrain/--no-retrain", help="Retrain now (else the next `screen next` does)."
    ),
) -> None:
    """Record one decision from a script; it is committed before the model retrains."""
    with user_errors():
        if decision not in ("include", "exclude"):
            raise ScreeningError(f"decision must be include or exclude, not '{decision}'")
        opened = open_project(project)
        made = opened.decide(record_id, decision, reason=reason, note=note, source="screen label")
        because = f" ({made.reason})" if made.reason else ""
        console.print(f"saved: {made.action}{because} {escape(record_id)}")
        if retrain:
            scores = opened.retrain()
            console.print(f"model v{scores.version} ({scores.kind}, {scores.n_labels} labels)")
        opened.close()


# -- status ---------------------------------------------------------------------------------
def _print_counts_line(status: ProjectStatus) -> None:
    console.print(
        f"{status.n_labelled} of {status.n_records} labelled ({status.n_included} included, "
        f"{status.n_excluded} excluded), {status.n_skipped} skipped, "
        f"{status.n_remaining} remaining"
    )


def _print_stopping(status: ProjectStatus, *, only_stops: bool = False) -> None:
    for name, estimate in status.stopping.items():
        if only_stops and not estimate.stop:
            continue
        verdict = "[bold green]stop[/]" if estimate.stop else "keep screening"
        detail = ", ".join(f"{k} {v:.3g}" for k, v in estimate.detail.items())
        console.print(f"stopping rule {name}: {verdict} ({detail})", highlight=False)


def status_command(
    project: Path = _project_argument(),
    target_recall: float = typer.Option(
        0.95, "--target-recall", min=0.5, max=1.0, help="Recall the stopping rules aim for."
    ),
    confidence: float = typer.Option(
        0.95, "--confidence", min=0.5, max=0.999, help="Confidence of the buscar rule."
    ),
) -> None:
    """Counts, model version, and each stopping rule's estimate on the labels so far."""
    with user_errors(), open_project(project) as opened:
        status = opened.status(target_recall=target_recall, confidence=confidence)
    if status.config_note:
        err_console.print(f"[yellow]warning:[/] {escape(status.config_note)}", highlight=False)
    counts = Table(title=str(project), title_justify="left")
    for name in ("records", "labelled", "included", "excluded", "skipped", "remaining"):
        counts.add_column(name, justify="right")
    counts.add_row(
        *map(
            str,
            (
                status.n_records,
                status.n_labelled,
                status.n_included,
                status.n_excluded,
                status.n_skipped,
                status.n_remaining,
            ),
        )
    )
    console.print(counts)
    kind = "active learner" if status.model_kind == "model" else "cold start (criteria similarity)"
    stale = " [yellow](stale: the next `screen next` retrains)[/]" if status.scores_stale else ""
    settings = status.settings
    console.print(
        f"model v{status.model_version}: {kind}{stale}; {status.n_decisions} decisions "
        f"({status.n_undone} undone); backend {settings['backend']}, query {settings['query']}"
        + ("; trains on the criteria text too" if settings.get("criteria_as_inclusion") else "")
    )
    console.print(f"config {escape(settings['config'])} ({settings['config_hash']})")
    table = Table(title="Stopping rules", title_justify="left")
    table.add_column("rule")
    table.add_column("verdict")
    table.add_column("detail")
    for name, estimate in status.stopping.items():
        table.add_row(
            name,
            "stop" if estimate.stop else "keep screening",
            ", ".join(f"{k} {v:.3g}" for k, v in estimate.detail.items()),
        )
    console.print(table)


# -- export ---------------------------------------------------------------------------------
def export_command(
    project: Path = _project_argument(),
    output: Path = typer.Option(
        ...,
        "-o",
        "--output",
        help="Output file; format from its extension (.csv .tsv .jsonl .xlsx .parquet .ris).",
    ),
) -> None:
    """Write every record with its decision (included, exclusion_reason, note, decided_at)."""
    with user_errors(), open_project(project) as opened:
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
