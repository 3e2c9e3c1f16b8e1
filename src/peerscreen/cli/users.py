"""`peerscreen users`: the accounts of a team database (who may sign in to `peerscreen
serve`, and their role per project).

Passwords are read from the terminal (asked twice, not echoed) or from the
PEERSCREEN_PASSWORD environment variable for scripts, never from an argument, which would
land in the shell's history.
"""

from __future__ import annotations

import os

import typer
from rich.markup import escape
from rich.table import Table

from peerscreen.cli._util import console, user_errors
from peerscreen.screening import accounts
from peerscreen.screening.database import DEFAULT_DATABASE, open_database
from peerscreen.screening.project import list_projects, open_project
from peerscreen.screening.store import ScreeningError

users_app = typer.Typer(
    help="Accounts for `peerscreen serve`: add users, give them a role in a project.",
    no_args_is_help=True,
    rich_markup_mode=None,
)

PASSWORD_VARIABLE = "PEERSCREEN_PASSWORD"


def _database_option() -> str:
    return typer.Option(
        str(DEFAULT_DATABASE),
        "--database",
        "-d",
        help="Team database: a file (created if missing) or postgresql+psycopg://USER@HOST/DB.",
    )


def _read_password(name: str) -> str:
    password = os.environ.get(PASSWORD_VARIABLE)
    if password:
        return password
    return typer.prompt(
        f"password for {name}", hide_input=True, confirmation_prompt=True, show_default=False
    )


def add_command(
    name: str = typer.Argument(..., help="The user name to sign in with.", show_default=False),
    role: str = typer.Option(
        "screener",
        "--role",
        "-r",
        help="owner or screener. An owner with no --project is an admin: owns every project "
        "and may add users in the browser.",
    ),
    project: str | None = typer.Option(
        None, "--project", "-p", help="The project the role is for (name or id)."
    ),
    database: str = _database_option(),
) -> None:
    """Create an account (the password is asked for, or read from PEERSCREEN_PASSWORD)."""
    with user_errors():
        if role not in ("owner", "screener"):
            raise ScreeningError(f"unknown role '{role}' (choose from owner, screener)")
        opened = open_database(database, create=True)
        try:
            project_id = None
            if project is not None:
                with open_project(opened, project) as chosen:
                    project_id = chosen.id
            admin = role == "owner" and project_id is None
            password = _read_password(name)
            accounts.add_user(opened, name, password, role=role, project_id=project_id, admin=admin)
            shown = opened.url  # printable: a password in a URL never reaches the terminal
        finally:
            opened.dispose()
    where = f" of project {escape(project)}" if project else ""
    what = "admin (owner of every project)" if admin else f"{role}{where}"
    console.print(f"added [bold]{escape(name)}[/]: {what} in {escape(shown)}")
    console.print(f"sign in at `peerscreen serve {escape(shown)}`", style="dim")


def grant_command(
    name: str = typer.Argument(..., help="An existing user.", show_default=False),
    project: str = typer.Option(..., "--project", "-p", help="The project (name or id)."),
    role: str = typer.Option("screener", "--role", "-r", help="owner or screener."),
    database: str = _database_option(),
) -> None:
    """Give an existing user a role in a project (replacing the role they had there)."""
    with user_errors():
        opened = open_database(database)
        try:
            user = accounts.find_user(opened, name)
            if user is None:
                raise ScreeningError(f"no user named '{name}' (add one with `users add`)")
            with open_project(opened, project) as chosen:
                accounts.grant(opened, user.id, chosen.id, role)
        finally:
            opened.dispose()
    console.print(f"{escape(name)} is now {role} of project {escape(project)}")


def list_command(database: str = _database_option()) -> None:
    """The accounts and their roles per project."""
    with user_errors():
        opened = open_database(database)
        try:
            rows = []
            for info in list_projects(opened):
                for user, role in accounts.members(opened, info.id):
                    rows.append((user.name, info.name, role))
            admins = [u for u in accounts.list_users(opened) if u.is_admin]
            shown = opened.url
        finally:
            opened.dispose()
    table = Table(title=f"users of {shown}", title_justify="left")
    for column in ("user", "project", "role"):
        table.add_column(column)
    for user in admins:
        table.add_row(escape(user.name), "(every project)", "admin")
    for name, project, role in sorted(rows):
        table.add_row(escape(name), escape(project), role)
    console.print(table)


def register(app: typer.Typer) -> None:
    users_app.command("add")(add_command)
    users_app.command("grant")(grant_command)
    users_app.command("list")(list_command)
    app.add_typer(users_app, name="users")
