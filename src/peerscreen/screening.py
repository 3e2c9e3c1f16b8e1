"""The screening project: one SQLite file with the records, every decision and the latest scores.

A reviewer screens records one at a time; after each decision the active learner retrains on
the labels so far and the query strategy picks the next record. The project file owns all
state, so screening can stop and resume in another process, or run from scripts:

- `records`: the imported (deduplicated) records, their criteria flags and a cold-start
  score, fixed at `create_project`.
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

Cold start: until an inclusion and an exclusion are both labelled, records are ranked by
TF-IDF similarity to the protocol's criteria in words, scaled down for records whose criteria
flags trip an exclusion rule (a flag at confidence c multiplies the score by 1 - c / 2).
After that, the protocol's criteria in words keep training the model as one more inclusion
(the `criteria_as_inclusion` setting, on unless `create_project(criteria_as_inclusion=False)`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
import sqlite3
import tempfile
import threading
import tomllib
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from peerscreen.criteria import CriteriaFlagger, Flag
from peerscreen.errors import PeerscreenError
from peerscreen.ingest import ImportResult, import_records
from peerscreen.learner import ActiveLearner, similarity_to
from peerscreen.models.registry import get_backend
from peerscreen.paths import DEFAULT_CONFIG
from peerscreen.protocol import Protocol, load_protocol
from peerscreen.query import get_query
from peerscreen.records import join_text
from peerscreen.stopping import STOPPING_RULES, StopEstimate
from peerscreen.writers import write_records

#: Marks a SQLite file as a screening project (meta key `format`).
PROJECT_FORMAT = "peerscreen-screening"
SCHEMA_VERSION = 1
ACTIONS = ("include", "exclude", "skip")
#: A criteria flag at confidence c multiplies the cold-start score by 1 - PENALTY * c.
COLD_START_FLAG_PENALTY = 0.5
#: Columns kept in their own table columns; every other imported field goes to `fields`.
_OWN_COLUMNS = ("record_id", "title", "abstract", "year", "language")
_LIST_FIELDS = ("authors", "keywords", "mesh", "outcomes")
#: What `export` writes first: the screening decision of each record, then its fields.
EXPORT_COLUMNS = (
    "record_id",
    "title",
    "abstract",
    "included",
    "exclusion_reason",
    "note",
    "decided_at",
    "screening_status",
    "screening_order",
    "p_include",
)

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
    scores BLOB NOT NULL
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

    `kind` is "model" (the learner's p(include)) or "cold-start" (similarity to the
    criteria: a ranking, not a probability)."""

    version: int
    kind: str
    revision: int
    n_labels: int
    updated_at: str
    values: np.ndarray

    def p_include(self, position: int) -> float | None:
        return float(self.values[position]) if self.kind == "model" else None


@dataclass
class LabelState:
    """Each record's current status, from the active (not undone) decisions."""

    revision: int
    status: list[str | None]  # per position: "include", "exclude", "skip" or None
    latest: dict[int, Decision]  # position -> latest active decision
    order: list[int]  # labelled positions (include/exclude) in screening order

    @property
    def labels_in_order(self) -> np.ndarray:
        return np.array([1 if self.status[p] == "include" else 0 for p in self.order], dtype=int)

    def count(self, action: str | None) -> int:
        return sum(1 for s in self.status if s == action)


@dataclass(frozen=True)
class ProjectStatus:
    n_records: int
    n_labelled: int
    n_included: int
    n_excluded: int
    n_skipped: int
    n_remaining: int
    n_decisions: int  # active decisions (undone ones are kept in the log, not counted)
    n_undone: int
    model_version: int
    model_kind: str
    scores_stale: bool
    stopping: dict[str, StopEstimate] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)
    config_note: str | None = None


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _file_hash(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if hasattr(value, "tolist") and not isinstance(value, str):  # numpy arrays and scalars
        return _jsonable(value.tolist())
    if value is None or value is pd.NA or (isinstance(value, float) and value != value):
        return None
    if isinstance(value, str | int | float | bool):
        return value
    return str(value)


def cold_start_scores(
    texts: Sequence[str], criteria_text: str, flags: Sequence[Sequence[Flag]]
) -> np.ndarray:
    """Similarity to the criteria in words, scaled down by the strongest exclusion flag."""
    similarity = similarity_to(list(texts), criteria_text)
    strongest = np.array([max((f.confidence for f in fs), default=0.0) for fs in flags])
    return similarity * (1 - COLD_START_FLAG_PENALTY * strongest)


def _is_project(path: Path) -> bool:
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


def create_project(
    path: str | Path,
    files: Sequence[str | Path],
    *,
    config: str | Path | None = None,
    backend: str = "tfidf-lr",
    query: str = "max",
    params: dict | None = None,
    seed: int = 0,
    force: bool = False,
    fmt: str | None = None,
    dedup: bool = True,
    criteria_as_inclusion: bool = True,
) -> tuple[ScreeningProject, ImportResult]:
    """Import `files` into a new screening project at `path` and return it, open.

    The file is built beside `path` and renamed into place, so a failed init leaves nothing.
    `force` replaces an existing screening project, never any other file.
    """
    path = Path(path)
    if path.is_dir():
        raise ScreeningError(f"{path}: is a folder, not a project file")
    if path.exists():
        if not force:
            raise ScreeningError(f"{path}: already exists (use --force to replace it)")
        if not _is_project(path):
            raise ScreeningError(f"{path}: exists and is not a screening project; not replacing it")
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise ScreeningError(f"{path}: folder {folder} does not exist")
    resolved = get_backend(backend).params(params)  # validates the names early
    get_query(query)
    config_path = Path(config) if config is not None else DEFAULT_CONFIG
    protocol = load_protocol(config_path)
    result = import_records(files, fmt=fmt, dedup=dedup)
    frame = result.records.frame
    if len(frame) == 0:
        raise ScreeningError("no records to screen in " + ", ".join(map(str, files)))
    titles, abstracts = frame["title"].tolist(), frame["abstract"].tolist()
    years = [None if pd.isna(y) else int(y) for y in frame["year"]]
    languages = [None if pd.isna(v) else v for v in frame["language"]]
    flagged = CriteriaFlagger(protocol).flag_many(titles, abstracts, years, languages)
    flags = [r.exclusions for r in flagged]
    texts = result.records.texts()
    prior = cold_start_scores(texts, protocol.criteria_text(), flags)
    others = [c for c in frame.columns if c not in _OWN_COLUMNS]
    settings = {
        "backend": backend,
        "query": query,
        "seed": seed,
        "params": params or {},  # the overrides; the backend's defaults fill the rest
        "resolved_params": resolved,
        "criteria_as_inclusion": criteria_as_inclusion,
    }
    meta = {
        "format": PROJECT_FORMAT,
        "schema_version": str(SCHEMA_VERSION),
        "project_id": uuid.uuid4().hex,
        "created_at": _now(),
        "config_path": str(config_path.resolve()),
        "config_hash": _file_hash(config_path),
        "config_text": config_path.read_text(encoding="utf-8"),
        "protocol_digest": protocol.digest(),
        "review": protocol.review.name,
        "settings": json.dumps(_jsonable(settings)),
        "columns": json.dumps(list(frame.columns)),
        "sources": json.dumps([str(f) for f in files]),
    }
    rows = []
    for position, values in enumerate(frame.to_dict("records")):  # any column name
        rows.append(
            (
                position,
                values["record_id"],
                _jsonable(values["title"]),
                _jsonable(values["abstract"]),
                years[position],
                languages[position],
                json.dumps({c: _jsonable(values[c]) for c in others}, ensure_ascii=False),
                json.dumps([dataclasses.asdict(f) for f in flags[position]], ensure_ascii=False),
                float(prior[position]),
            )
        )
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
                "INSERT INTO model_state VALUES (1, 0, 'cold-start', 0, 0, ?, ?)",
                (_now(), prior.astype("<f8").tobytes()),
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
    return open_project(path), result


def open_project(path: str | Path) -> ScreeningProject:
    """Open an existing screening project (ScreeningError if missing or not one)."""
    path = Path(path)
    if not path.exists():
        raise ScreeningError(
            f"{path}: no such screening project (create one with `peerscreen screen init`)"
        )
    if path.is_dir():
        raise ScreeningError(f"{path}: is a folder, not a screening project")
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
    except sqlite3.Error as exc:
        conn.close()
        raise ScreeningError(f"{path}: cannot be opened for writing ({exc})") from None
    return ScreeningProject(path, conn, meta)


#: Feature matrices by (project id, backend, params, seed): the texts of a project never
#: change, so one process builds the matrix once however often it opens the project.
_LEARNERS: dict[tuple, ActiveLearner] = {}
_LEARNERS_LOCK = threading.Lock()
_MAX_CACHED_LEARNERS = 2


class ScreeningProject:
    """An open project file. Use `open_project` or `create_project` to get one."""

    def __init__(self, path: Path, conn: sqlite3.Connection, meta: dict[str, str]):
        self.path = path
        self._conn = conn
        self.meta = meta
        self.settings: dict[str, Any] = json.loads(meta["settings"])
        self.record_ids: list[str] = [
            r[0] for r in conn.execute("SELECT record_id FROM records ORDER BY position")
        ]
        self._index = {rid: i for i, rid in enumerate(self.record_ids)}
        self._protocol: Protocol | None = None
        self.config_note: str | None = None

    # -- lifecycle ----------------------------------------------------------------------
    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> ScreeningProject:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextlib.contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, committed (and synced) on exit, rolled back on error."""
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            yield self._conn
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        self._conn.execute("COMMIT")

    # -- settings and protocol ----------------------------------------------------------
    @property
    def n_records(self) -> int:
        return len(self.record_ids)

    @property
    def backend(self) -> str:
        return self.settings["backend"]

    @property
    def query(self) -> str:
        return self.settings["query"]

    @property
    def seed(self) -> int:
        return int(self.settings["seed"])

    @property
    def criteria_as_inclusion(self) -> bool:
        """Whether the protocol's criteria in words train the model as one more inclusion
        (projects made before this setting existed: no)."""
        return bool(self.settings.get("criteria_as_inclusion", False))

    def guide_texts(self) -> list[str]:
        return [self.protocol.criteria_text()] if self.criteria_as_inclusion else []

    @property
    def config_path(self) -> Path:
        return Path(self.meta["config_path"])

    @property
    def protocol(self) -> Protocol:
        """The review protocol: the config file if it is still there (a note says if it
        changed since init), else the copy stored in the project at init."""
        if self._protocol is None:
            path = self.config_path
            if path.is_file():
                self._protocol = load_protocol(path)
                if _file_hash(path) != self.meta["config_hash"]:
                    self.config_note = f"{path} changed since the project was created"
            else:
                self._protocol = Protocol.model_validate(tomllib.loads(self.meta["config_text"]))
                self.config_note = f"{path} is gone; using the copy stored in the project"
        return self._protocol

    # -- records ------------------------------------------------------------------------
    def position(self, record_id: str) -> int:
        try:
            return self._index[record_id]
        except KeyError:
            raise ScreeningError(f"unknown record id '{record_id}' in {self.path}") from None

    def record(self, record_id: str) -> ScreeningRecord:
        return self.record_at(self.position(record_id))

    def record_at(self, position: int) -> ScreeningRecord:
        row = self._conn.execute(
            "SELECT position, record_id, title, abstract, year, language, fields, flags "
            "FROM records WHERE position = ?",
            (position,),
        ).fetchone()
        if row is None:
            raise ScreeningError(f"no record at position {position} in {self.path}")
        return ScreeningRecord(
            *row[:6], fields=json.loads(row[6]), flags=[Flag(**f) for f in json.loads(row[7])]
        )

    def texts(self) -> list[str]:
        return [
            join_text(t, a)
            for t, a in self._conn.execute("SELECT title, abstract FROM records ORDER BY position")
        ]

    def years(self) -> list[int | None]:
        return [y for (y,) in self._conn.execute("SELECT year FROM records ORDER BY position")]

    # -- decisions ----------------------------------------------------------------------
    def decisions(self, *, include_undone: bool = False) -> list[Decision]:
        """The decision log in order (undone decisions too if `include_undone`)."""
        where = "" if include_undone else "WHERE undone = 0"
        rows = self._conn.execute(
            "SELECT seq, record_id, action, reason, note, decided_at, p_include, model_version, "
            f"source, undone, undone_at FROM decisions {where} ORDER BY seq"
        ).fetchall()
        return [Decision(*r[:9], undone=bool(r[9]), undone_at=r[10]) for r in rows]

    def label_state(self) -> LabelState:
        """Current status of every record, read in one statement (a consistent snapshot)."""
        log = self.decisions(include_undone=True)
        revision = len(log) + sum(d.undone for d in log)
        status: list[str | None] = [None] * self.n_records
        latest: dict[int, Decision] = {}
        first_label: dict[int, int] = {}
        for decision in log:
            if decision.undone:
                continue
            position = self._index[decision.record_id]
            status[position] = decision.action
            latest[position] = decision
            if decision.label is not None:
                first_label.setdefault(position, decision.seq)
        order = sorted(
            (p for p in first_label if status[p] in ("include", "exclude")),
            key=first_label.__getitem__,
        )
        return LabelState(revision=revision, status=status, latest=latest, order=order)

    def check_reason(self, reason: str | None) -> str | None:
        """`reason` if it is one of the protocol's exclusion codes (None passes)."""
        if reason is None or reason == "":
            return None
        codes = self.protocol.exclusion_codes
        if reason not in codes:
            raise ScreeningError(
                f"unknown exclusion code '{reason}' (choose from {', '.join(codes)})"
            )
        return reason

    def decide(
        self,
        record_id: str,
        action: str,
        *,
        reason: str | None = None,
        note: str | None = None,
        source: str = "api",
    ) -> Decision:
        """Record a decision and commit it at once, before anything else happens.

        A later decision on the same record supersedes this one (both stay in the log).
        """
        if action not in ACTIONS:
            raise ScreeningError(f"unknown decision '{action}' (choose from {', '.join(ACTIONS)})")
        position = self.position(record_id)
        reason = self.check_reason(reason)
        if reason is not None and action != "exclude":
            raise ScreeningError(f"an exclusion code goes with 'exclude', not '{action}'")
        note = note.strip() if note and note.strip() else None
        scores = self.scores()
        values = (
            record_id,
            action,
            reason,
            note,
            _now(),
            scores.p_include(position),
            scores.version,
            source,
        )
        with self._write() as conn:
            cursor = conn.execute(
                "INSERT INTO decisions (record_id, action, reason, note, decided_at, p_include, "
                "model_version, source) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                values,
            )
            seq = cursor.lastrowid
        return Decision(seq, *values)

    def undo(self) -> Decision | None:
        """Mark the latest active decision undone (None if there is none); returns it."""
        with self._write() as conn:
            row = conn.execute("SELECT MAX(seq) FROM decisions WHERE undone = 0").fetchone()
            if row[0] is None:
                return None
            conn.execute(
                "UPDATE decisions SET undone = 1, undone_at = ? WHERE seq = ?", (_now(), row[0])
            )
        return next(d for d in reversed(self.decisions(include_undone=True)) if d.seq == row[0])

    # -- model --------------------------------------------------------------------------
    def scores(self) -> Scores:
        """The stored scores of the latest retrain (possibly stale: see `scores_stale`)."""
        row = self._conn.execute(
            "SELECT version, kind, revision, n_labels, updated_at, scores FROM model_state"
        ).fetchone()
        return Scores(*row[:5], values=np.frombuffer(row[5], dtype="<f8"))

    def scores_stale(self, state: LabelState | None = None) -> bool:
        state = state or self.label_state()
        return self.scores().revision != state.revision

    def learner(
        self,
        texts: list[str] | None = None,
        years: list[int | None] | None = None,
        guides: list[str] | None = None,
    ) -> ActiveLearner:
        """The active learner with its feature matrix, built once per process (from `texts`,
        `years` and `guides` if given, else read from the project)."""
        params = self.settings.get("params") or {}
        key = (self.meta["project_id"], self.backend, json.dumps(params, sort_keys=True), self.seed)
        with _LEARNERS_LOCK:
            if key not in _LEARNERS:
                while len(_LEARNERS) >= _MAX_CACHED_LEARNERS:
                    _LEARNERS.pop(next(iter(_LEARNERS)))
                texts = texts if texts is not None else self.texts()
                years = years if years is not None else self.years()
                guides = guides if guides is not None else self.guide_texts()
                try:
                    learner = ActiveLearner(
                        texts,
                        backend=self.backend,
                        params=params,
                        seed=self.seed,
                        years=years,
                        guide_texts=guides,
                    )
                except ValueError as exc:  # e.g. no record has any text: an empty vocabulary
                    raise ScreeningError(f"{self.path}: cannot build features ({exc})") from None
                _LEARNERS[key] = learner
            return _LEARNERS[key]

    def warm_up(self) -> threading.Thread:
        """Build the feature matrix in a background thread (seconds at 5,000 records), so
        the first retrain of a session need not wait for it; returns the started thread."""
        # read here: the connection stays in this thread
        texts, years, guides = self.texts(), self.years(), self.guide_texts()

        def build() -> None:
            with contextlib.suppress(PeerscreenError):  # the next retrain raises it again
                self.learner(texts, years, guides)

        thread = threading.Thread(target=build, name="peerscreen-features", daemon=True)
        thread.start()
        return thread

    def prior_scores(self) -> np.ndarray:
        return np.array(
            [r[0] for r in self._conn.execute("SELECT prior FROM records ORDER BY position")]
        )

    def retrain(self, state: LabelState | None = None) -> Scores:
        """Refit on the current labels and store the scores (cold-start scores until both
        classes are labelled). Never overwrites scores from a later revision."""
        state = state or self.label_state()
        labelled = np.array(state.order, dtype=int)
        values = self.learner().scores(labelled, state.labels_in_order)
        kind = "model"
        if values is None:
            values, kind = self.prior_scores(), "cold-start"
        values = np.asarray(values, dtype="<f8")
        with self._write() as conn:
            version, stored_revision = conn.execute(
                "SELECT version, revision FROM model_state"
            ).fetchone()
            if stored_revision > state.revision:
                return self.scores()
            updated_at = _now()
            conn.execute(
                "UPDATE model_state SET version = ?, kind = ?, revision = ?, n_labels = ?, "
                "updated_at = ?, scores = ? WHERE id = 1",
                (version + 1, kind, state.revision, len(labelled), updated_at, values.tobytes()),
            )
        return Scores(version + 1, kind, state.revision, len(labelled), updated_at, values)

    def fresh_scores(self) -> Scores:
        """The stored scores, retraining first if decisions were made since."""
        state = self.label_state()
        scores = self.scores()
        return scores if scores.revision == state.revision else self.retrain(state)

    # -- queue --------------------------------------------------------------------------
    def queue(self, scores: Scores | None = None, state: LabelState | None = None) -> list[int]:
        """Unscreened positions in the order to screen them, then the skipped ones."""
        state = state or self.label_state()
        scores = scores or self.scores()
        strategy = get_query(self.query)
        rng = np.random.default_rng([self.seed, state.revision])
        status = np.array([s is not None for s in state.status])
        labelled = np.array([s in ("include", "exclude") for s in state.status])
        fresh = [int(p) for p in strategy(scores.values, status, rng)]
        skipped = [
            int(p) for p in strategy(scores.values, labelled, rng) if state.status[p] == "skip"
        ]
        return fresh + skipped

    def next_record(self) -> ScreeningRecord | None:
        queue = self.queue()
        return self.record_at(queue[0]) if queue else None

    # -- reporting ----------------------------------------------------------------------
    def status(self, *, target_recall: float = 0.95, confidence: float = 0.95) -> ProjectStatus:
        """Counts, model version, and each stopping rule's verdict (no retraining)."""
        state = self.label_state()
        scores = self.scores()
        labels = state.labels_in_order
        stopping = {
            name: rule(labels, self.n_records, target_recall, confidence)
            for name, rule in STOPPING_RULES.items()
        }
        log = self.decisions(include_undone=True)
        with contextlib.suppress(PeerscreenError):
            _ = self.protocol  # sets config_note
        n_included, n_excluded = state.count("include"), state.count("exclude")
        return ProjectStatus(
            n_records=self.n_records,
            n_labelled=n_included + n_excluded,
            n_included=n_included,
            n_excluded=n_excluded,
            n_skipped=state.count("skip"),
            n_remaining=state.count(None),
            n_decisions=sum(not d.undone for d in log),
            n_undone=sum(d.undone for d in log),
            model_version=scores.version,
            model_kind=scores.kind,
            scores_stale=scores.revision != state.revision,
            stopping=stopping,
            settings={
                **self.settings,
                "config": self.meta["config_path"],
                "config_hash": self.meta["config_hash"],
            },
            config_note=self.config_note,
        )

    def export_frame(self) -> pd.DataFrame:
        """Every record in import order: the screening decision as `included`,
        `exclusion_reason`, `note`, `decided_at` (empty when unscreened), `screening_status`,
        `screening_order` and the latest `p_include`, then every imported field (the input's
        own `included` and `exclusion_reason` as `input_included`, `input_exclusion_reason`)."""
        state = self.label_state()
        scores = self.scores()
        columns = json.loads(self.meta["columns"])
        rows = self._conn.execute(
            "SELECT record_id, title, abstract, year, language, fields FROM records "
            "ORDER BY position"
        ).fetchall()
        rank = {p: i for i, p in enumerate(state.order, 1)}
        status_names = {"include": "included", "exclude": "excluded", "skip": "skipped"}
        out: dict[str, list[Any]] = {name: [] for name in EXPORT_COLUMNS}
        inputs = [c for c in columns if c not in ("record_id", "title", "abstract")]
        # an input field whose name the decision uses (the input's own `included` and
        # `exclusion_reason` labels) gets an input_ prefix: on re-import the decisions win
        renamed: dict[str, str] = {}
        taken = set(out) | set(inputs)
        for name in inputs:
            target = name
            while target in out or (target != name and target in taken):
                target = f"input_{target}"
            renamed[name] = target
            taken.add(target)
        extra: dict[str, list[Any]] = {renamed[c]: [] for c in inputs}  # input order
        for position, (record_id, title, abstract, year, language, fields) in enumerate(rows):
            decision = state.latest.get(position)
            p_include = scores.p_include(position)
            out["record_id"].append(record_id)
            out["title"].append(title)
            out["abstract"].append(abstract)
            out["included"].append(decision.label if decision else None)
            out["exclusion_reason"].append(decision.reason if decision else None)
            out["note"].append(decision.note if decision else None)
            out["decided_at"].append(decision.decided_at if decision else None)
            out["screening_status"].append(
                status_names[decision.action] if decision else "unscreened"
            )
            out["screening_order"].append(rank.get(position))
            out["p_include"].append(None if p_include is None else round(p_include, 4))
            values = json.loads(fields) | {"year": year, "language": language}
            for name in inputs:
                value = values.get(name)
                if name in _LIST_FIELDS and value is None:
                    value = []
                extra[renamed[name]].append(value)
        frame = pd.DataFrame({k: pd.Series(v, dtype=object) for k, v in {**out, **extra}.items()})
        for name, dtype in (
            ("included", "Int8"),
            ("screening_order", "Int64"),
            ("year", "Int64"),
            ("source_position", "Int64"),
            ("input_included", "Int8"),
        ):
            if name in frame:
                frame[name] = pd.array(frame[name].tolist(), dtype=dtype)
        frame["p_include"] = pd.to_numeric(frame["p_include"], errors="coerce").astype(float)
        return frame

    def export(self, target: str | Path) -> Path:
        """Write `export_frame()` to `target` (format from its extension, atomically)."""
        return write_records(self.export_frame(), target)
