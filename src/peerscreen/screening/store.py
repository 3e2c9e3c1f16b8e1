"""The screening project file: one SQLite file with the records, every decision and the
latest scores, and the record types read from it.

- `records`: the imported (deduplicated) records, their criteria flags and a cold-start
  score, fixed when the project is created.
- `decisions`: an append-only log. A decision is committed in its own transaction before
  anything else happens (retraining included), so a crash or `kill -9` at any moment loses
  no decision the reviewer saw confirmed. Undo sets an `undone` flag on the latest decision
  instead of deleting it; triggers refuse deletes and edits, so the history stays auditable.
  A record's label is its latest decision that was not undone.
- `model_state`: the scores from the latest retrain (one float per record), so `status` and
  `next` in a new process can show them without retraining first. They carry the decision
  *revision* they were computed from (decisions + undos, which only grows), so stale scores
  are recognised and never overwrite fresher ones written by another process.

The file runs in WAL mode with `synchronous=FULL`: readers never block the writer, and a
committed decision survives a power cut as well as a killed process.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from peerscreen.errors import PeerscreenError
from peerscreen.review.criteria import Flag

#: Marks a SQLite file as a screening project (meta key `format`).
PROJECT_FORMAT = "peerscreen-screening"
SCHEMA_VERSION = 1
ACTIONS = ("include", "exclude", "skip")

_SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE records (
    position INTEGER PRIMARY KEY,
    record_id TEXT NOT NULL UNIQUE,
    title TEXT,
    abstract TEXT,
    year INTEGER,
    language TEXT,
    fields TEXT NOT NULL,
    flags TEXT NOT NULL,
    prior REAL NOT NULL
);
CREATE TABLE decisions (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    record_id TEXT NOT NULL REFERENCES records (record_id),
    action TEXT NOT NULL CHECK (action IN ('include', 'exclude', 'skip')),
    reason TEXT,
    note TEXT,
    decided_at TEXT NOT NULL,
    p_include REAL,
    model_version INTEGER NOT NULL,
    source TEXT NOT NULL,
    undone INTEGER NOT NULL DEFAULT 0 CHECK (undone IN (0, 1)),
    undone_at TEXT
);
CREATE INDEX decisions_record ON decisions (record_id);
CREATE TRIGGER decisions_append_only BEFORE DELETE ON decisions
BEGIN SELECT RAISE(ABORT, 'decisions are append-only'); END;
CREATE TRIGGER decisions_frozen
BEFORE UPDATE OF seq, record_id, action, reason, note, decided_at, p_include, model_version,
    source ON decisions
BEGIN SELECT RAISE(ABORT, 'decisions are append-only'); END;
CREATE TRIGGER decisions_undo_once BEFORE UPDATE OF undone ON decisions
WHEN OLD.undone = 1 OR NEW.undone != 1
BEGIN SELECT RAISE(ABORT, 'a decision can be undone once'); END;
CREATE TABLE model_state (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    version INTEGER NOT NULL,
    kind TEXT NOT NULL,
    revision INTEGER NOT NULL,
    n_labels INTEGER NOT NULL,
    updated_at TEXT NOT NULL,
    scores BLOB NOT NULL,
    probabilities BLOB
);
"""


class ScreeningError(PeerscreenError):
    """A screening project cannot do what was asked (missing, unknown record or code...)."""


@dataclass(frozen=True)
class Decision:
    seq: int
    record_id: str
    action: str
    reason: str | None
    note: str | None
    decided_at: str
    p_include: float | None
    model_version: int
    source: str
    undone: bool = False
    undone_at: str | None = None

    @property
    def label(self) -> int | None:
        """1 for include, 0 for exclude, None for skip."""
        return {"include": 1, "exclude": 0}.get(self.action)


@dataclass(frozen=True)
class ScreeningRecord:
    """A record as the reviewer sees it: text, metadata, and the criteria flags it trips."""

    position: int
    record_id: str
    title: str | None
    abstract: str | None
    year: int | None
    language: str | None
    fields: dict[str, Any]
    flags: list[Flag]


@dataclass(frozen=True)
class Scores:
    """One score per record, from the retrain at `revision` of the decisions.

    `values` order the queue: with `kind` "model" the learner's ranking score, with
    "cold-start" the similarity to the criteria. Neither is a probability. `probabilities`
    is the calibrated p_include (`peerscreen.screening.calibration`): how often screened
    records scored like this one were inclusions; None before a model, and until there are
    two inclusions and two exclusions to calibrate on."""

    version: int
    kind: str
    revision: int
    n_labels: int
    updated_at: str
    values: np.ndarray
    probabilities: np.ndarray | None = None

    def p_include(self, position: int) -> float | None:
        """The calibrated p_include of the record at `position` (None if there is none)."""
        if self.kind != "model" or self.probabilities is None:
            return None
        return float(self.probabilities[position])


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def file_hash(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if hasattr(value, "tolist") and not isinstance(value, str):  # numpy arrays and scalars
        return jsonable(value.tolist())
    if value is None or value is pd.NA or (isinstance(value, float) and value != value):
        return None
    if isinstance(value, str | int | float | bool):
        return value
    return str(value)


def is_project(path: Path) -> bool:
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            row = conn.execute("SELECT value FROM meta WHERE key = 'format'").fetchone()
        finally:
            conn.close()
    except sqlite3.Error:
        return False
    return row is not None and row[0] == PROJECT_FORMAT


def _remove_sidecars(path: Path) -> None:
    for suffix in ("-wal", "-shm", "-journal"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def write_project_file(
    path: Path, meta: dict[str, str], rows: list[tuple], prior: np.ndarray
) -> None:
    """Write a new project file at `path`: built beside it and renamed into place, so a
    failure leaves nothing (and never a half-written project)."""
    folder = path.parent if str(path.parent) else Path(".")
    handle, temp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    os.close(handle)
    temp = Path(temp_name)
    try:
        conn = sqlite3.connect(temp, isolation_level=None)
        try:
            conn.executescript(_SCHEMA)
            conn.execute("BEGIN")
            conn.executemany("INSERT INTO meta VALUES (?, ?)", meta.items())
            conn.executemany("INSERT INTO records VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
            conn.execute(
                "INSERT INTO model_state (id, version, kind, revision, n_labels, updated_at, "
                "scores) VALUES (1, 0, 'cold-start', 0, 0, ?, ?)",
                (now(), prior.astype("<f8").tobytes()),
            )
            conn.execute("COMMIT")
        finally:
            conn.close()
        _remove_sidecars(path)  # a stale WAL beside the new file would be replayed into it
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        _remove_sidecars(temp)
        raise


def connect(path: Path) -> tuple[sqlite3.Connection, dict[str, str]]:
    """Open the project file at `path` for reading and writing: the connection (WAL,
    synchronous=FULL, foreign keys on) and the `meta` table (ScreeningError if it is not a
    project this version can open)."""
    try:
        conn = sqlite3.connect(
            f"{path.resolve().as_uri()}?mode=rw", uri=True, isolation_level=None, timeout=30
        )
    except sqlite3.Error as exc:
        raise ScreeningError(f"{path}: cannot be opened ({exc})") from None
    try:
        meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
    except sqlite3.DatabaseError:
        conn.close()
        raise ScreeningError(f"{path}: not a peerscreen screening project") from None
    if meta.get("format") != PROJECT_FORMAT:
        conn.close()
        raise ScreeningError(f"{path}: not a peerscreen screening project")
    if int(meta.get("schema_version", 0)) > SCHEMA_VERSION:
        conn.close()
        raise ScreeningError(
            f"{path}: made by a newer peerscreen (schema {meta['schema_version']})"
        )
    try:
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = FULL")
        conn.execute("PRAGMA foreign_keys = ON")
        _add_probabilities_column(conn)
    except sqlite3.Error as exc:
        conn.close()
        raise ScreeningError(f"{path}: cannot be opened for writing ({exc})") from None
    return conn, meta


def _add_probabilities_column(conn: sqlite3.Connection) -> None:
    """Projects made before p_include was calibrated lack `model_state.probabilities`: add
    it (empty, so those scores show no p_include until the next retrain). Older versions of
    peerscreen read such a file as before: they name the columns they read."""
    columns = {row[1] for row in conn.execute("PRAGMA table_info(model_state)")}
    if "probabilities" not in columns:
        try:
            conn.execute("ALTER TABLE model_state ADD COLUMN probabilities BLOB")
        except sqlite3.OperationalError as exc:  # another process added it first
            if "duplicate column" not in str(exc):
                raise
