"""An open screening project: records, decisions, undo, retraining, the queue and status.

A reviewer screens records one at a time; after each decision the active learner retrains on
the labels so far and the query strategy picks the next record. The project file
(`peerscreen.screening.store`) owns all state, so screening can stop and resume in another
process, or run from scripts.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import threading
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from peerscreen.errors import PeerscreenError
from peerscreen.io.records import join_text
from peerscreen.io.writers import write_records
from peerscreen.review.criteria import Flag
from peerscreen.review.protocol import Protocol, load_protocol
from peerscreen.screening.export import export_frame
from peerscreen.screening.learner import ActiveLearner
from peerscreen.screening.query import get_query
from peerscreen.screening.status import ProjectStatus, project_status
from peerscreen.screening.store import (
    ACTIONS,
    Decision,
    Scores,
    ScreeningError,
    ScreeningRecord,
    connect,
    file_hash,
    now,
)


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


def open_project(path: str | Path) -> ScreeningProject:
    """Open an existing screening project (ScreeningError if missing or not one)."""
    path = Path(path)
    if not path.exists():
        raise ScreeningError(
            f"{path}: no such screening project (create one with `peerscreen screen init`)"
        )
    if path.is_dir():
        raise ScreeningError(f"{path}: is a folder, not a screening project")
    conn, meta = connect(path)
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
                if file_hash(path) != self.meta["config_hash"]:
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

    def record_rows(self) -> list[tuple]:
        """(record_id, title, abstract, year, language, fields as JSON) per record, in
        import order: the stored form, for export."""
        return self._conn.execute(
            "SELECT record_id, title, abstract, year, language, fields FROM records "
            "ORDER BY position"
        ).fetchall()

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
            now(),
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
                "UPDATE decisions SET undone = 1, undone_at = ? WHERE seq = ?", (now(), row[0])
            )
        return next(d for d in reversed(self.decisions(include_undone=True)) if d.seq == row[0])

    # -- model --------------------------------------------------------------------------
    def scores(self) -> Scores:
        """The stored scores of the latest retrain (possibly stale: see `scores_stale`)."""
        row = self._conn.execute(
            "SELECT version, kind, revision, n_labels, updated_at, scores, probabilities "
            "FROM model_state"
        ).fetchone()
        probabilities = None if row[6] is None else np.frombuffer(row[6], dtype="<f8")
        return Scores(
            *row[:5], values=np.frombuffer(row[5], dtype="<f8"), probabilities=probabilities
        )

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
        """Refit on the current labels and store the scores with their calibrated
        p_include (cold-start scores until both classes are labelled). Never overwrites
        scores from a later revision."""
        state = state or self.label_state()
        labelled = np.array(state.order, dtype=int)
        fitted = self.learner().scored(labelled, state.labels_in_order)
        kind, probabilities = "model", None
        if fitted is None:
            values, kind = self.prior_scores(), "cold-start"
        else:
            values = fitted.ranking
            if fitted.p_include is not None:
                probabilities = np.asarray(fitted.p_include, dtype="<f8")
        values = np.asarray(values, dtype="<f8")
        stored = None if probabilities is None else probabilities.tobytes()
        with self._write() as conn:
            version, stored_revision = conn.execute(
                "SELECT version, revision FROM model_state"
            ).fetchone()
            if stored_revision > state.revision:
                return self.scores()
            updated_at = now()
            conn.execute(
                "UPDATE model_state SET version = ?, kind = ?, revision = ?, n_labels = ?, "
                "updated_at = ?, scores = ?, probabilities = ? WHERE id = 1",
                (
                    version + 1,
                    kind,
                    state.revision,
                    len(labelled),
                    updated_at,
                    values.tobytes(),
                    stored,
                ),
            )
        return Scores(
            version + 1, kind, state.revision, len(labelled), updated_at, values, probabilities
        )

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
        """Counts, exclusions per reason, the stopping advice and each rule's verdict (see
        `peerscreen.screening.status.project_status`; no retraining)."""
        return project_status(self, target_recall=target_recall, confidence=confidence)

    def export_frame(self) -> pd.DataFrame:
        """Every record in import order with its screening decision (see
        `peerscreen.screening.export.export_frame`)."""
        return export_frame(self)

    def export(self, target: str | Path) -> Path:
        """Write `export_frame()` to `target` (format from its extension, atomically)."""
        return write_records(self.export_frame(), target)
