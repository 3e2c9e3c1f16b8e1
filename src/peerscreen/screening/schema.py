"""The tables of a screening database, one schema for SQLite and PostgreSQL.

A database holds any number of projects (a `.peerscreen` file made by the CLI holds one),
the team's accounts and their roles per project.

- `decisions` is an append-only log: triggers refuse deletes and edits on both databases,
  and allow `undone` to go from false to true once. A decision carries its screener and
  its mode (single, first or second screener in dual mode, or an owner's resolution).
- `model_state` holds each project's latest scores with the decision *revision* they were
  computed from (decisions + undos, which only grows), so stale scores are recognised.
- `leases`: the record each screener was served last, until it expires, so two screeners
  asking at once never get the same record.

The layout here is the current one; `peerscreen.screening.migrations` holds how older
files reach it.
"""

from __future__ import annotations

import sqlalchemy as sa

#: Marks a database as peerscreen's (meta key `format`).
DATABASE_FORMAT = "peerscreen-screening"
#: meta `schema_version` of this layout; files made by release 0fd51c1 and before say 1.
SCHEMA_VERSION = 2
MODES = ("single", "dual")
DECISION_MODES = ("single", "first", "second", "resolution")
ROLES = ("owner", "screener")

metadata = sa.MetaData()

meta = sa.Table(
    "meta",
    metadata,
    sa.Column("key", sa.String(100), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)

projects = sa.Table(
    "projects",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(200), nullable=False, unique=True),
    sa.Column("mode", sa.String(10), nullable=False, server_default="single"),
    sa.Column("created_at", sa.String(40), nullable=False),
    # the per-project settings: config path, hash and text, backend, columns, sources...
    sa.Column("meta", sa.Text, nullable=False),
    sa.CheckConstraint("mode IN ('single', 'dual')", name="projects_mode"),
)

records = sa.Table(
    "records",
    metadata,
    sa.Column("project_id", sa.Integer, sa.ForeignKey("projects.id"), primary_key=True),
    sa.Column("position", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("record_id", sa.Text, nullable=False),
    sa.Column("title", sa.Text),
    sa.Column("abstract", sa.Text),
    sa.Column("year", sa.Integer),
    sa.Column("language", sa.Text),
    sa.Column("fields", sa.Text, nullable=False),
    sa.Column("flags", sa.Text, nullable=False),
    sa.Column("prior", sa.Float, nullable=False),
    sa.UniqueConstraint("project_id", "record_id", name="records_project_record"),
)

decisions = sa.Table(
    "decisions",
    metadata,
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("project_id", sa.Integer, nullable=False),
    sa.Column("record_id", sa.Text, nullable=False),
    sa.Column("action", sa.String(10), nullable=False),
    sa.Column("reason", sa.Text),
    sa.Column("note", sa.Text),
    sa.Column("decided_at", sa.String(40), nullable=False),
    sa.Column("p_include", sa.Float),
    sa.Column("model_version", sa.Integer, nullable=False),
    sa.Column("source", sa.String(40), nullable=False),
    sa.Column("undone", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("undone_at", sa.String(40)),
    sa.Column("screener", sa.String(200)),
    sa.Column("mode", sa.String(12), nullable=False, server_default="single"),
    sa.ForeignKeyConstraint(
        ["project_id", "record_id"],
        ["records.project_id", "records.record_id"],
        name="decisions_record_fk",
    ),
    sa.CheckConstraint("action IN ('include', 'exclude', 'skip')", name="decisions_action"),
    sa.CheckConstraint(
        "mode IN ('single', 'first', 'second', 'resolution')", name="decisions_mode"
    ),
    sa.Index("decisions_project_record", "project_id", "record_id"),
    sa.Index("decisions_project_seq", "project_id", "seq"),
)

model_state = sa.Table(
    "model_state",
    metadata,
    sa.Column("project_id", sa.Integer, sa.ForeignKey("projects.id"), primary_key=True),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("kind", sa.String(20), nullable=False),
    sa.Column("revision", sa.Integer, nullable=False),
    sa.Column("n_labels", sa.Integer, nullable=False),
    sa.Column("updated_at", sa.String(40), nullable=False),
    sa.Column("scores", sa.LargeBinary, nullable=False),
    sa.Column("probabilities", sa.LargeBinary),
)

users = sa.Table(
    "users",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(200), nullable=False, unique=True),
    sa.Column("password_hash", sa.Text, nullable=False),
    sa.Column("is_admin", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("created_at", sa.String(40), nullable=False),
)

memberships = sa.Table(
    "memberships",
    metadata,
    sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id"), primary_key=True),
    sa.Column("project_id", sa.Integer, sa.ForeignKey("projects.id"), primary_key=True),
    sa.Column("role", sa.String(10), nullable=False),
    sa.CheckConstraint("role IN ('owner', 'screener')", name="memberships_role"),
)

leases = sa.Table(
    "leases",
    metadata,
    sa.Column("project_id", sa.Integer, sa.ForeignKey("projects.id"), primary_key=True),
    sa.Column("screener", sa.String(200), primary_key=True),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("expires_at", sa.Float, nullable=False),
)

_FROZEN = (
    "seq, project_id, record_id, action, reason, note, decided_at, p_include, "
    "model_version, source, screener, mode"
)

SQLITE_TRIGGERS = (
    "CREATE TRIGGER decisions_append_only BEFORE DELETE ON decisions "
    "BEGIN SELECT RAISE(ABORT, 'decisions are append-only'); END",
    f"CREATE TRIGGER decisions_frozen BEFORE UPDATE OF {_FROZEN} ON decisions "
    "BEGIN SELECT RAISE(ABORT, 'decisions are append-only'); END",
    "CREATE TRIGGER decisions_undo_once BEFORE UPDATE OF undone ON decisions "
    "WHEN OLD.undone = 1 OR NEW.undone != 1 "
    "BEGIN SELECT RAISE(ABORT, 'a decision can be undone once'); END",
)

_PG_FROZEN_CHECK = " OR ".join(
    f"NEW.{c.strip()} IS DISTINCT FROM OLD.{c.strip()}" for c in _FROZEN.split(",")
)

POSTGRESQL_TRIGGERS = (
    f"""
    CREATE OR REPLACE FUNCTION peerscreen_decisions_guard() RETURNS trigger AS $$
    BEGIN
        IF TG_OP IN ('DELETE', 'TRUNCATE') THEN
            RAISE EXCEPTION 'decisions are append-only';
        END IF;
        IF {_PG_FROZEN_CHECK} THEN
            RAISE EXCEPTION 'decisions are append-only';
        END IF;
        IF NEW.undone IS DISTINCT FROM OLD.undone AND (OLD.undone OR NOT NEW.undone) THEN
            RAISE EXCEPTION 'a decision can be undone once';
        END IF;
        RETURN NEW;
    END;
    $$ LANGUAGE plpgsql
    """,
    "CREATE TRIGGER decisions_guard BEFORE UPDATE OR DELETE ON decisions "
    "FOR EACH ROW EXECUTE FUNCTION peerscreen_decisions_guard()",
    "CREATE TRIGGER decisions_no_truncate BEFORE TRUNCATE ON decisions "
    "FOR EACH STATEMENT EXECUTE FUNCTION peerscreen_decisions_guard()",
)


def create_triggers(connection: sa.Connection) -> None:
    """The append-only guards on `decisions` for this connection's database."""
    statements = POSTGRESQL_TRIGGERS if connection.dialect.name == "postgresql" else SQLITE_TRIGGERS
    for statement in statements:
        connection.exec_driver_sql(statement)
