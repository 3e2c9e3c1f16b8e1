"""Shared CLI plumbing: consoles, and turning library errors into one line and exit code 2."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

import typer
from rich.console import Console
from rich.markup import escape

from peerscreen.errors import PeerscreenError

console = Console()
err_console = Console(stderr=True)

#: Options several commands share: one definition, one help text.
FORMAT_OPTION = typer.Option(
    None,
    "--format",
    "-f",
    help="Force a reader: csv, tsv, xlsx, parquet, ris, medline, "
    "pubmed-xml, openalex, bibtex, jsonl (default: by extension, then content).",
)
NO_DEDUP_OPTION = typer.Option(False, "--no-dedup", help="Keep duplicate records.")
MODEL_TRACKING_OPTION = typer.Option(
    None, "--tracking-uri", help="MLflow server for models:/ URIs (default $MLFLOW_TRACKING_URI)."
)

#: Exit code for bad input or configuration (2, like usage errors: the user must fix something).
EXIT_BAD_INPUT = 2


@contextlib.contextmanager
def user_errors() -> Iterator[None]:
    """Print a PeerscreenError as one line on stderr and exit 2; Ctrl-C exits 130.

    Set PEERSCREEN_DEBUG=1 to see the real exception and traceback instead.
    """
    try:
        yield
    except PeerscreenError as exc:
        if os.environ.get("PEERSCREEN_DEBUG"):
            raise
        err_console.print(
            f"[bold red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True
        )
        raise typer.Exit(EXIT_BAD_INPUT) from None
    except KeyboardInterrupt:
        err_console.print("[yellow]interrupted[/]: no partial output was kept")
        raise typer.Exit(130) from None
