"""The README's CLI reference is generated from --help and must be current."""

from __future__ import annotations

import sys

from tests.conftest import ROOT


def test_readme_cli_reference_is_current():
    sys.path.insert(0, str(ROOT / "tools"))
    try:
        import cli_reference
    finally:
        sys.path.pop(0)
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert cli_reference.updated_readme(text) == text, "run: python tools/cli_reference.py --write"


def test_readme_shows_the_two_setup_commands():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "make demo" in text and "make test" in text


def test_readme_reviewer_path_runs_as_written(tmp_path, monkeypatch):
    """Every peerscreen command of the README's reviewer path, in order, as printed."""
    import re
    import shlex
    import shutil

    from typer.testing import CliRunner

    from peerscreen.cli import app

    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## For reviewers", 1)[1].split("\n## ", 1)[0]
    commands = re.findall(r"`\.venv/bin/peerscreen ([^`]+)`", section)
    commands = [c for c in commands if not c.endswith("...")]
    assert [c.split()[0] for c in commands][:2] == ["import", "screen"]
    (tmp_path / "data" / "examples").mkdir(parents=True)
    shutil.copy(ROOT / "data/examples/new_records.ris", tmp_path / "data/examples")
    monkeypatch.chdir(tmp_path)
    for command in commands:
        args = shlex.split(command)
        answers = "i\n\ne\n\n\nq\n" if args[:2] == ["screen", "next"] else None
        result = CliRunner().invoke(app, args, input=answers)
        assert result.exit_code == 0, (command, result.output)
    assert (tmp_path / "duplicates.csv").is_file()
    assert "ER  -" in (tmp_path / "decisions.ris").read_text(encoding="utf-8")
