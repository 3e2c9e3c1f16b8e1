"""`peerscreen users` and the team side of `peerscreen screen` (--as, --mode dual)."""

from __future__ import annotations

from typer.testing import CliRunner

from peerscreen.cli import app
from peerscreen.screening import accounts
from peerscreen.screening.database import open_database
from peerscreen.screening.project import open_project
from tests.screening.test_service import write_records

runner = CliRunner()
PASSWORD = "correct horse battery"


def test_users_add_reads_the_password_from_the_environment_and_makes_an_admin(tmp_path):
    db = tmp_path / "team.db"
    result = runner.invoke(
        app,
        ["users", "add", "olga", "--role", "owner", "--database", str(db)],
        env={"PEERSCREEN_PASSWORD": PASSWORD},
    )
    assert result.exit_code == 0, result.output
    assert "admin" in result.stdout and PASSWORD not in result.output
    database = open_database(db)
    try:
        user = accounts.authenticate(database, "olga", PASSWORD)
        assert user is not None and user.is_admin
    finally:
        database.dispose()
    listed = runner.invoke(app, ["users", "list", "--database", str(db)])
    assert "olga" in listed.stdout and "admin" in listed.stdout


def test_users_add_asks_twice_on_the_terminal(tmp_path):
    db = tmp_path / "team.db"
    result = runner.invoke(
        app,
        ["users", "add", "ann", "--database", str(db)],
        input=f"{PASSWORD}\n{PASSWORD}\n",
        env={"PEERSCREEN_PASSWORD": ""},
    )
    assert result.exit_code == 0, result.output
    assert PASSWORD not in result.stdout  # hidden input is not echoed


def test_users_errors_are_one_line(tmp_path):
    db = tmp_path / "team.db"
    env = {"PEERSCREEN_PASSWORD": "short"}
    result = runner.invoke(app, ["users", "add", "bob", "--database", str(db)], env=env)
    assert result.exit_code == 2 and "at least 8" in result.stderr
    assert "Traceback" not in result.output
    result = runner.invoke(
        app, ["users", "grant", "nobody", "--project", "x", "--database", str(db)]
    )
    assert result.exit_code == 2 and "no user named 'nobody'" in result.stderr


def test_screen_as_records_the_screener_and_dual_mode_gives_first_and_second(tmp_path):
    records = write_records(tmp_path / "records.csv", 6)
    project = tmp_path / "dual.peerscreen"
    result = runner.invoke(app, ["screen", "init", str(project), str(records), "--mode", "dual"])
    assert result.exit_code == 0, result.output
    assert "dual screening" in result.stdout
    for who in ("ann", "bob"):
        result = runner.invoke(
            app, ["screen", "label", str(project), "r0", "include", "--as", who, "--no-retrain"]
        )
        assert result.exit_code == 0, result.output
    result = runner.invoke(
        app, ["screen", "label", str(project), "r0", "exclude", "--as", "cy", "--no-retrain"]
    )
    assert result.exit_code == 2 and "already screened by two screeners" in result.stderr
    with open_project(project) as opened:
        assert opened.mode == "dual"
        assert [(d.screener, d.mode) for d in opened.decisions()] == [
            ("ann", "first"),
            ("bob", "second"),
        ]
