"""The team layout: several projects per database, accounts, roles, leases, and decisions
that carry their screener and mode.

From a single-project file (0001): its one project becomes project 1, named after the
file; its per-project meta keys move to `projects.meta`; every decision is kept with its
sequence number, undo flag and time, screener unrecorded and mode 'single'.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import json
from pathlib import Path

import sqlalchemy as sa
from alembic import op

from peerscreen.screening import schema

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_LEGACY_TABLES = ("meta", "records", "decisions", "model_state")
_DATABASE_KEYS = ("format", "schema_version")


def upgrade() -> None:
    conn = op.get_bind()
    for trigger in ("decisions_append_only", "decisions_frozen", "decisions_undo_once"):
        op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
    for table in _LEGACY_TABLES:
        op.execute(f"ALTER TABLE {table} RENAME TO legacy_{table}")
    schema.metadata.create_all(conn)
    schema.create_triggers(conn)
    stored = dict(conn.execute(sa.text("SELECT key, value FROM legacy_meta")).fetchall())
    if stored:  # an empty 0001 database (the migration tests) has no project to copy
        _copy_project(conn, stored)
    for table in ("decisions", "model_state", "records", "meta"):
        op.execute(f"DROP TABLE legacy_{table}")
    conn.execute(
        sa.insert(schema.meta),
        [
            {"key": "format", "value": stored.get("format", schema.DATABASE_FORMAT)},
            {"key": "schema_version", "value": str(schema.SCHEMA_VERSION)},
            {"key": "created_at", "value": stored.get("created_at", "")},
        ],
    )


def _copy_project(conn: sa.Connection, stored: dict[str, str]) -> None:
    database = conn.engine.url.database
    name = Path(database).stem if database else "project"
    project_meta = {k: v for k, v in stored.items() if k not in _DATABASE_KEYS}
    conn.execute(
        sa.insert(schema.projects).values(
            id=1,
            name=name,
            mode="single",
            created_at=stored.get("created_at", ""),
            meta=json.dumps(project_meta),
        )
    )
    op.execute(
        "INSERT INTO records (project_id, position, record_id, title, abstract, year, "
        "language, fields, flags, prior) SELECT 1, position, record_id, title, abstract, "
        "year, language, fields, flags, prior FROM legacy_records ORDER BY position"
    )
    op.execute(
        "INSERT INTO decisions (seq, project_id, record_id, action, reason, note, decided_at, "
        "p_include, model_version, source, undone, undone_at, screener, mode) "
        "SELECT seq, 1, record_id, action, reason, note, decided_at, p_include, "
        "model_version, source, undone, undone_at, NULL, 'single' FROM legacy_decisions "
        "ORDER BY seq"
    )
    columns = {row[1] for row in conn.execute(sa.text("PRAGMA table_info(legacy_model_state)"))}
    probabilities = "probabilities" if "probabilities" in columns else "NULL"
    op.execute(
        "INSERT INTO model_state (project_id, version, kind, revision, n_labels, updated_at, "
        f"scores, probabilities) SELECT 1, version, kind, revision, n_labels, updated_at, "
        f"scores, {probabilities} FROM legacy_model_state"
    )


def downgrade() -> None:
    raise RuntimeError("a team database cannot go back to the single-project layout")
