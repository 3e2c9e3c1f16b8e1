"""Alembic migrations of the screening database, run from code (no alembic.ini): the
server and the CLI upgrade a database when they open it.

- `0001`: the single-project layout of release 0fd51c1 and before (SQLite only): a `meta`
  table of key/value pairs, `records`, `decisions` without screener or mode, one
  `model_state` row. Files of that layout carry no Alembic table; they are stamped here.
- `0002`: the team layout (`peerscreen.screening.schema`): projects, accounts, roles,
  leases, decisions with screener and mode.
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config

LEGACY_REVISION = "0001"


def _config(conn: sa.Connection) -> Config:
    config = Config()
    config.set_main_option("script_location", str(Path(__file__).parent))
    config.attributes["connection"] = conn
    return config


def stamp_head(conn: sa.Connection) -> None:
    """Mark a database created from the current schema as up to date."""
    command.stamp(_config(conn), "head")


def upgrade(conn: sa.Connection, *, legacy: bool = False) -> None:
    """Bring the database on `conn` to the newest revision (within the caller's
    transaction); `legacy` stamps an unversioned single-project file as 0001 first."""
    config = _config(conn)
    if legacy:
        command.stamp(config, LEGACY_REVISION)
    command.upgrade(config, "head")
