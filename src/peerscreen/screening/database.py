"""Opening a screening database: a SQLite file (the embedded default, one file per
project or per team) or PostgreSQL (`postgresql+psycopg://USER@HOST/DB`), through one
SQLAlchemy code path.

SQLite runs in WAL mode with `synchronous=FULL`: readers never block the writer and a
committed decision survives a killed process or a power cut. Write transactions start with
`BEGIN IMMEDIATE`, so two writers queue for the lock instead of failing halfway; reads use
a plain (deferred) transaction, a consistent snapshot that takes no lock.

A database made by this release is created from `peerscreen.screening.schema` and stamped
with the newest Alembic revision. A project file made before the team schema (meta
`schema_version` 1, no Alembic table) is migrated in place when opened: stamped as the
legacy baseline, then upgraded, in one transaction (a failure leaves it as it was).
"""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Iterator
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy import event

from peerscreen.screening import schema
from peerscreen.screening.store import ScreeningError, now

#: The database `peerscreen serve` uses when given none: in the current folder.
DEFAULT_DATABASE = Path("peerscreen.db")
_WRITE = "peerscreen_write"


class Database:
    """An open screening database. The engine is thread-safe; connections are not, so
    every call takes its own from the pool."""

    def __init__(self, engine: sa.Engine, path: Path | None = None):
        self.engine = engine
        self.path = path

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @property
    def address(self) -> str:
        """What `open_database` needs to open this database again (another process)."""
        if self.path is not None:
            return str(self.path)
        return self.engine.url.render_as_string(hide_password=False)

    @property
    def url(self) -> str:
        """The database's address, printable (a password is hidden)."""
        return str(self.path) if self.path is not None else self.engine.url.render_as_string()

    @contextlib.contextmanager
    def begin(self) -> Iterator[sa.Connection]:
        """A write transaction: committed on exit (synced to disk), rolled back on error."""
        with self.engine.connect() as conn:
            conn.execution_options(**{_WRITE: True})
            with conn.begin():
                yield conn

    @contextlib.contextmanager
    def read(self) -> Iterator[sa.Connection]:
        """A read-only snapshot (nothing is committed)."""
        with self.engine.connect() as conn:
            yield conn

    def secret_key(self) -> bytes:
        """A random key kept in the database (made on first use): signs the server's
        session cookies and CSRF tokens, so restarting the server keeps people signed in."""
        with self.begin() as conn:
            value = conn.execute(
                sa.select(schema.meta.c.value).where(schema.meta.c.key == "secret_key")
            ).scalar()
            if value is None:
                value = secrets.token_hex(32)
                conn.execute(sa.insert(schema.meta).values(key="secret_key", value=value))
        return bytes.fromhex(value)

    def dispose(self) -> None:
        self.engine.dispose()

    def __repr__(self) -> str:
        return f"Database({self.url})"


def is_url(target: str | Path) -> bool:
    return "://" in str(target)


def open_database(target: str | Path | None = None, *, create: bool = False) -> Database:
    """Open the screening database at `target` (a SQLAlchemy URL or a SQLite file path;
    None: `peerscreen.db` here), migrating an older project file in place. `create` makes
    a new, empty database where there is none (ScreeningError otherwise)."""
    target = DEFAULT_DATABASE if target is None else target
    path = None if is_url(target) else Path(target)
    if path is not None:
        _check_path(path, create)
        url = sa.engine.URL.create("sqlite", database=str(path.resolve()))
    else:
        url = _parse_url(str(target))
        if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
            path = Path(url.database)
            _check_path(path, create)
    database = Database(_engine(url), path)
    try:
        _prepare(database, create)
    except BaseException:
        database.dispose()
        raise
    return database


def _check_path(path: Path, create: bool) -> None:
    if path.is_dir():
        raise ScreeningError(f"{path}: is a folder, not a screening database")
    if not path.exists() and not create:
        raise ScreeningError(
            f"{path}: no such screening project (create one with `peerscreen screen init`)"
        )
    if not path.exists() and not path.parent.resolve().is_dir():
        raise ScreeningError(f"{path}: folder {path.parent} does not exist")


def _parse_url(text: str) -> sa.engine.URL:
    try:
        url = sa.engine.make_url(text)
    except sa.exc.ArgumentError:
        raise ScreeningError(f"{text}: not a database URL") from None
    if url.get_backend_name() not in ("sqlite", "postgresql"):
        raise ScreeningError(
            f"{url.render_as_string()}: peerscreen runs on SQLite or PostgreSQL "
            "(postgresql+psycopg://USER@HOST/DB)"
        )
    if url.get_backend_name() == "postgresql" and url.drivername == "postgresql":
        url = url.set(drivername="postgresql+psycopg")
    return url


def _engine(url: sa.engine.URL) -> sa.Engine:
    if url.get_backend_name() == "sqlite":
        engine = sa.create_engine(
            url, connect_args={"timeout": 30, "check_same_thread": False}, pool_size=10
        )
        event.listen(engine, "connect", _sqlite_connect)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    return sa.create_engine(url, pool_size=10, max_overflow=20, pool_pre_ping=True)


def _sqlite_connect(dbapi_connection, _record) -> None:
    dbapi_connection.isolation_level = None  # transactions are begun by `_sqlite_begin`
    cursor = dbapi_connection.cursor()
    for pragma in ("journal_mode = WAL", "synchronous = FULL", "foreign_keys = ON"):
        cursor.execute(f"PRAGMA {pragma}")
    cursor.execute("PRAGMA busy_timeout = 30000")
    cursor.close()


def _sqlite_begin(conn: sa.Connection) -> None:
    immediate = conn.get_execution_options().get(_WRITE, False)
    conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def _prepare(database: Database, create: bool) -> None:
    """Create, migrate or check the tables (see the module docstring)."""
    from peerscreen.screening import migrations

    try:
        with database.begin() as conn:
            tables = set(sa.inspect(conn).get_table_names())
            if not tables:
                if not create:
                    raise ScreeningError(f"{database.url}: holds no peerscreen database")
                _create_fresh(conn)
                migrations.stamp_head(conn)
                return
            stored = _stored_meta(conn, tables, database.url)
            version = int(stored.get("schema_version", 0))
            if version > schema.SCHEMA_VERSION:
                raise ScreeningError(
                    f"{database.url}: made by a newer peerscreen (schema {version})"
                )
            migrations.upgrade(conn, legacy=version == 1 and "alembic_version" not in tables)
    except sa.exc.OperationalError as exc:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        raise ScreeningError(f"{database.url}: cannot be opened ({reason})") from None
    except sa.exc.DatabaseError:
        raise ScreeningError(f"{database.url}: not a peerscreen screening project") from None


def _stored_meta(conn: sa.Connection, tables: set[str], where: str) -> dict[str, str]:
    if "meta" not in tables:
        raise ScreeningError(f"{where}: not a peerscreen screening project")
    stored = dict(conn.execute(sa.text("SELECT key, value FROM meta")).fetchall())
    if stored.get("format") != schema.DATABASE_FORMAT:
        raise ScreeningError(f"{where}: not a peerscreen screening project")
    return stored


def _create_fresh(conn: sa.Connection) -> None:
    schema.metadata.create_all(conn)
    schema.create_triggers(conn)
    conn.execute(
        sa.insert(schema.meta),
        [
            {"key": "format", "value": schema.DATABASE_FORMAT},
            {"key": "schema_version", "value": str(schema.SCHEMA_VERSION)},
            {"key": "created_at", "value": now()},
        ],
    )
