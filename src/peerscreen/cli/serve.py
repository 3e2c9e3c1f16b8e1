"""`peerscreen serve`: the team web app on a screening database (uvicorn).

Binds 127.0.0.1 unless `--host` says otherwise. Behind a reverse proxy that terminates
HTTPS, `--behind-proxy` marks the session cookie Secure and trusts the proxy's
X-Forwarded-* headers (from `--forwarded-allow-ips`, default the proxy on this machine).
"""

from __future__ import annotations

import typer
from rich.markup import escape

from peerscreen.cli._util import console, user_errors
from peerscreen.screening import accounts
from peerscreen.screening.database import DEFAULT_DATABASE, open_database


def serve_command(
    target: str | None = typer.Argument(
        None,
        help="A project file, a team database file or a database URL; default "
        "./peerscreen.db (created on first run).",
        show_default=False,
    ),
    database: str | None = typer.Option(
        None, "--database", "-d", help="Database URL, e.g. postgresql+psycopg://USER@HOST/DB."
    ),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
    port: int = typer.Option(8765, "--port", min=1, max=65535, help="Port to listen on."),
    behind_proxy: bool = typer.Option(
        False,
        "--behind-proxy",
        help="Served through an HTTPS reverse proxy: Secure cookies, trust X-Forwarded-*.",
    ),
    forwarded_allow_ips: str = typer.Option(
        "127.0.0.1", "--forwarded-allow-ips", help="Proxies whose X-Forwarded-* are trusted."
    ),
    max_upload_mb: int = typer.Option(
        50, "--max-upload-mb", min=1, help="Largest upload accepted when creating a project."
    ),
) -> None:
    """Serve the team web app: sign in, create projects from uploads, screen together."""
    import uvicorn

    from peerscreen.web import create_app

    chosen = database or target or str(DEFAULT_DATABASE)
    with user_errors():
        opened = open_database(chosen, create=True)
        n_users = accounts.count_users(opened)
    app = create_app(opened, behind_proxy=behind_proxy, max_upload_bytes=max_upload_mb * 1024**2)
    console.print(f"peerscreen serving {escape(opened.url)} at http://{host}:{port}/")
    if n_users == 0:
        # the printable address: a password in a URL never reaches the terminal
        where = "" if chosen == str(DEFAULT_DATABASE) else f" --database {opened.url}"
        console.print(
            "no account yet: create the first owner in another terminal with\n"
            f"  peerscreen users add NAME --role owner{escape(where)}"
        )
    if host not in ("127.0.0.1", "localhost", "::1") and not behind_proxy:
        console.print(
            f"warning: listening on {escape(host)} over plain HTTP; passwords and session "
            "cookies cross the network unencrypted. Put an HTTPS reverse proxy in front "
            "and use --behind-proxy.",
            style="yellow",
        )
    uvicorn.run(
        app,
        host=host,
        port=port,
        proxy_headers=behind_proxy,
        forwarded_allow_ips=forwarded_allow_ips if behind_proxy else None,
        log_level="info",
    )


def register(app: typer.Typer) -> None:
    app.command("serve")(serve_command)
