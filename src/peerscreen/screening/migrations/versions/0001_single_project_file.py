"""The single-project file of release 0fd51c1 and before (SQLite only).

Such files were made without Alembic; opening one stamps it with this revision, so its
upgrade starts at 0002. Upgrading an empty database from here builds that old layout,
which the migration tests use.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

LEGACY_SCHEMA = (
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    """CREATE TABLE records (
        position INTEGER PRIMARY KEY,
        record_id TEXT NOT NULL UNIQUE,
        title TEXT, abstract TEXT, year INTEGER, language TEXT,
        fields TEXT NOT NULL, flags TEXT NOT NULL, prior REAL NOT NULL)""",
    """CREATE TABLE decisions (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        record_id TEXT NOT NULL REFERENCES records (record_id),
        action TEXT NOT NULL CHECK (action IN ('include', 'exclude', 'skip')),
        reason TEXT, note TEXT, decided_at TEXT NOT NULL, p_include REAL,
        model_version INTEGER NOT NULL, source TEXT NOT NULL,
        undone INTEGER NOT NULL DEFAULT 0 CHECK (undone IN (0, 1)), undone_at TEXT)""",
    "CREATE INDEX decisions_record ON decisions (record_id)",
    """CREATE TRIGGER decisions_append_only BEFORE DELETE ON decisions
        BEGIN SELECT RAISE(ABORT, 'decisions are append-only'); END""",
    """CREATE TRIGGER decisions_frozen BEFORE UPDATE OF seq, record_id, action, reason, note,
        decided_at, p_include, model_version, source ON decisions
        BEGIN SELECT RAISE(ABORT, 'decisions are append-only'); END""",
    """CREATE TRIGGER decisions_undo_once BEFORE UPDATE OF undone ON decisions
        WHEN OLD.undone = 1 OR NEW.undone != 1
        BEGIN SELECT RAISE(ABORT, 'a decision can be undone once'); END""",
    """CREATE TABLE model_state (
        id INTEGER PRIMARY KEY CHECK (id = 1), version INTEGER NOT NULL, kind TEXT NOT NULL,
        revision INTEGER NOT NULL, n_labels INTEGER NOT NULL, updated_at TEXT NOT NULL,
        scores BLOB NOT NULL, probabilities BLOB)""",
)


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        raise RuntimeError("the single-project layout (0001) exists only on SQLite")
    for statement in LEGACY_SCHEMA:
        op.execute(statement)


def downgrade() -> None:
    raise RuntimeError("there is nothing before revision 0001")
