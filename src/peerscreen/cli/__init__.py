"""The `peerscreen` command line: a Typer app whose commands parse, call the library, print."""

from __future__ import annotations

import typer

from peerscreen import __version__
from peerscreen.cli import bench, compare, data, models, protocol, screen, serve, simulate, users
from peerscreen.cli._util import console

app = typer.Typer(
    name="peerscreen",
    help="Screen systematic-review literature: import, predict inclusion, tag, rank, track.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


def _version(value: bool) -> None:
    if value:
        console.print(f"peerscreen {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", help="Show the version and exit.", callback=_version, is_eager=True
    ),
) -> None:
    """Screen systematic-review literature."""


data.register(app)
models.register(app)
screen.register(app)
protocol.register(app)
simulate.register(app)
bench.register(app)
compare.register(app)
users.register(app)
serve.register(app)


def main() -> None:
    """Console-script entry point."""
    app()
