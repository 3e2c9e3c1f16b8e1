"""Generate the README's CLI reference from `--help`, so the docs never drift from the code.

`python tools/cli_reference.py` prints it; `--write` replaces the block between the
`<!-- cli-reference:start -->` and `<!-- cli-reference:end -->` markers in README.md.
tests/test_docs.py fails when the README is out of date.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click
import typer
from typer.testing import CliRunner

from peerscreen.cli import app

README = Path(__file__).resolve().parents[1] / "README.md"
START, END = "<!-- cli-reference:start -->", "<!-- cli-reference:end -->"


def _commands() -> list[list[str]]:
    """Every command path: [], ["import"], ["screen", "next"], ..."""
    root = typer.main.get_command(app)
    paths: list[list[str]] = [[]]

    def walk(group: click.Group, prefix: list[str]) -> None:
        for name in sorted(group.commands):
            command = group.commands[name]
            paths.append([*prefix, name])
            if isinstance(command, click.Group) or hasattr(command, "commands"):
                walk(command, [*prefix, name])

    walk(root, [])
    return paths


def render() -> str:
    runner = CliRunner()
    parts = []
    for path in _commands():
        result = runner.invoke(
            app,
            [*path, "--help"],
            env={"COLUMNS": "100", "NO_COLOR": "1", "TERM": "dumb"},
            color=False,
        )
        title = " ".join(["peerscreen", *path])
        body = "\n".join(line.rstrip() for line in result.stdout.strip().splitlines())
        parts.append(f"### `{title}`\n\n```text\n{body}\n```\n")
    return "\n".join(parts)


def updated_readme(text: str) -> str:
    head, _, rest = text.partition(START)
    _, _, tail = rest.partition(END)
    return f"{head}{START}\n{render()}{END}{tail}"


def main() -> None:
    if "--write" in sys.argv:
        README.write_text(updated_readme(README.read_text(encoding="utf-8")), encoding="utf-8")
    else:
        print(render())


if __name__ == "__main__":
    main()
