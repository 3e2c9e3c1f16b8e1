"""`peerscreen protocol`: write a review protocol from a template, and check one.

A review team's own review starts here: `protocol new` writes a commented template that is
valid as written, `protocol check` says what peerscreen understood from the edited file, or
lists every problem at once, one line each naming its key.
"""

from __future__ import annotations

import os
from pathlib import Path

import typer
from rich.markup import escape

from peerscreen.cli._util import EXIT_BAD_INPUT, console, err_console, user_errors
from peerscreen.review.authoring import left_as_template, summary_lines, write_template
from peerscreen.review.protocol import ProtocolError, load_protocol

protocol_app = typer.Typer(
    help="Write your own review protocol from a template, and check it.",
    no_args_is_help=True,
    rich_markup_mode=None,
)


def new_command(
    path: Path = typer.Argument(
        ..., help="Protocol file to write, e.g. my-review.toml.", show_default=False
    ),
    name: str | None = typer.Option(
        None, "--name", help="The review's short name (default: from the file name)."
    ),
    force: bool = typer.Option(False, "--force", help="Replace an existing file."),
) -> None:
    """Write a commented template protocol to edit.

    It holds criteria in words, exclusion codes with cue phrases, optional categories,
    outcome domains and a date/language window, and is valid as written; an existing file
    is replaced only with --force.
    """
    with user_errors():
        written = write_template(path, name=name, force=force)
    shown = escape(str(written))
    for line in (
        f"wrote [bold]{shown}[/]: edit the criteria, exclusion codes and cue phrases",
        f"then: peerscreen protocol check {shown}",
        f"      peerscreen screen init review.screen EXPORT_FILE --config {shown}",
    ):
        console.print(line, highlight=False, soft_wrap=True)


def check_command(
    path: Path = typer.Argument(..., help="Protocol file (TOML) to validate.", show_default=False),
) -> None:
    """Validate a protocol and print what it holds.

    Prints the review, criteria, exclusion codes with their cue counts, categories, outcome
    domains and window (exit 0), or every problem, one line each naming its key (exit 2).
    """
    with user_errors():
        try:
            protocol = load_protocol(path)
        except ProtocolError as exc:
            if os.environ.get("PEERSCREEN_DEBUG"):
                raise
            _print_problems(exc)
            raise typer.Exit(EXIT_BAD_INPUT) from None
    console.print(f"{escape(str(path))}: valid protocol", highlight=False, soft_wrap=True)
    for line in summary_lines(protocol):
        console.print(escape(line), highlight=False, soft_wrap=True)
    unchanged = left_as_template(protocol)
    if unchanged:
        err_console.print(
            "[yellow]note:[/] still the template's example: " + escape(", ".join(unchanged)),
            highlight=False,
            soft_wrap=True,
        )


def _print_problems(exc: ProtocolError) -> None:
    """One line per problem, each naming the file and key, then how many there were."""
    for key, message in exc.problems:
        err_console.print(
            f"[bold red]error:[/] {escape(exc.path)}: {escape(key)}: {escape(message)}",
            highlight=False,
            soft_wrap=True,
        )
    count = len(exc.problems)
    err_console.print(f"{count} problem{'s' if count != 1 else ''}: not a valid protocol")


def register(app: typer.Typer) -> None:
    protocol_app.command("new")(new_command)
    protocol_app.command("check")(check_command)
    app.add_typer(protocol_app, name="protocol")
