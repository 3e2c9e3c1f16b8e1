"""What `rank` and `tag` share for large inputs: options, the progress bar, Ctrl-C."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from pathlib import Path

import typer
from rich.progress import (
    BarColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text

from peerscreen.batch.scoring import default_workers
from peerscreen.batch.sidecar import Sidecar
from peerscreen.batch.streaming import BatchResult, ProgressCallback, ProgressReport
from peerscreen.cli._util import console, err_console
from peerscreen.io.readers.chunked import DEFAULT_CHUNK

WORKERS_OPTION = typer.Option(
    default_workers(),
    "--workers",
    "-w",
    min=1,
    help="Processes that score records (default: one per CPU core; one for a single chunk).",
    show_default="CPU count",
)
RESUME_OPTION = typer.Option(
    False,
    "--resume",
    help="Keep finished chunks if the run is interrupted, and continue such a run.",
)
CHUNK_OPTION = typer.Option(
    DEFAULT_CHUNK, "--chunk-size", min=1, help="Records read and scored at a time."
)


class _RateColumn(ProgressColumn):
    """Records scored and records per second (the bar itself may count bytes of input)."""

    def render(self, task: Task) -> Text:
        records = task.fields.get("records", 0)
        elapsed = task.elapsed or 0
        rate = f", {records / elapsed:,.0f}/s" if elapsed > 0 and records else ""
        return Text(f"{records:,} records{rate}", style="progress.data.speed")


@contextlib.contextmanager
def scoring_progress(description: str) -> Iterator[ProgressCallback]:
    """A progress bar with records/s and time remaining; a callback for the library. The
    bar is drawn only on a terminal (output to a file or pipe stays clean) and disappears
    when done."""
    if not console.is_terminal:
        yield lambda state: None
        return
    bar = Progress(
        TextColumn("{task.description}"),
        BarColumn(bar_width=24),
        TaskProgressColumn(),
        _RateColumn(),
        TimeElapsedColumn(),
        TextColumn("eta"),
        TimeRemainingColumn(),
        console=console,
        transient=True,
    )
    task = bar.add_task(description, total=None, records=0)
    last = [0.0]

    def update(state: ProgressReport) -> None:
        now = time.monotonic()
        if now - last[0] < 0.2 and state.done < state.total:
            return
        last[0] = now
        bar.update(task, completed=state.done, total=state.total or None, records=state.records)

    with bar:
        yield update


@contextlib.contextmanager
def interrupt_note(output: Path | None, resume: bool) -> Iterator[None]:
    """On Ctrl-C with --resume, say what was kept and how to continue (exit 130)."""
    try:
        yield
    except KeyboardInterrupt:
        if not resume or output is None:
            raise
        folder = Sidecar(output).folder
        err_console.print(
            f"[yellow]interrupted[/]: finished chunks are kept in {folder}; run the same "
            "command with --resume to continue"
        )
        raise typer.Exit(130) from None


def print_batch_notes(result: BatchResult) -> None:
    if result.resumed_chunks:
        console.print(f"resumed: {result.resumed_chunks} chunks were already scored")
    if result.streamed and result.dropped_duplicates:
        console.print(
            f"dropped {result.dropped_duplicates} duplicates (streamed input: same DOI, PMID "
            "or title + year as an earlier record; not merged)"
        )
