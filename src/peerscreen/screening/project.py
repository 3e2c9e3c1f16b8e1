"""An open screening project: its records, the decision log, undo, status and export.

A project lives in a screening database (`peerscreen.screening.database`): a `.peerscreen`
file made by `peerscreen screen init` holds one, a team database several. Every method
takes its own connection from the database's pool, so one `ScreeningProject` can serve
several threads (the server's requests, the retrain worker). The model side (scores,
retraining, the queue) is `peerscreen.screening.project_model`.
"""

from __future__ import annotations

import json
import threading
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import sqlalchemy as sa

from peerscreen.io.records import join_text
from peerscreen.io.writers import write_records
from peerscreen.review.criteria import Flag
from peerscreen.review.protocol import Protocol, load_protocol
from peerscreen.screening import schema
from peerscreen.screening.database import Database, open_database
from peerscreen.screening.export import export_frame
from peerscreen.screening.labels import LabelState, label_state_from
from peerscreen.screening.project_model import ProjectModel
from peerscreen.screening.status import ProjectStatus, project_status
from peerscreen.screening.store import (
    ACTIONS,
    Decision,
    ScreeningError,
    ScreeningRecord,
    file_hash,
    now,
)

__all__ = ["LabelState", "ProjectInfo", "ScreeningProject", "list_projects", "open_project"]

_DECISION_COLUMNS = (
    "seq",
    "record_id",
    "action",
    "reason",
    "note",
    "decided_at",
    "p_include",
    "model_version",
    "source",
    "undone",
    "undone_at",
    "screener",
    "mode",
)


@dataclass(frozen=True)
class ProjectInfo:
    """A line of the projects list."""

    id: int
    name: str
    mode: str
    n_records: int
    created_at: str


def list_projects(database: Database) -> list[ProjectInfo]:
    """Every project in `database`, by name."""
    p, r = schema.projects, schema.records
    query = (
        sa.select(p.c.id, p.c.name, p.c.mode, sa.func.count(r.c.position), p.c.created_at)
        .select_from(p.outerjoin(r, r.c.project_id == p.c.id))
        .group_by(p.c.id, p.c.name, p.c.mode, p.c.created_at)
        .order_by(p.c.name)
    )
    with database.read() as conn:
        return [ProjectInfo(*row) for row in conn.execute(query)]


def open_project(target: str | Path | Database, project: str | int | None = None):
    """Open a screening project: `target` is a project file, a database URL or an open
    Database; `project` its name or id (needed when the database holds several)."""
    owns = not isinstance(target, Database)
    database = open_database(target) if owns else target
    try:
        project_id = _choose(database, project)
    except BaseException:
        if owns:
            database.dispose()
        raise
    return ScreeningProject(database, project_id, owns_database=owns)


def _choose(database: Database, wanted: str | int | None) -> int:
    projects = list_projects(database)
    if wanted is None:
        if len(projects) == 1:
            return projects[0].id
        if not projects:
            raise ScreeningError(f"{database.url}: holds no screening project yet")
        names = ", ".join(p.name for p in projects)
        raise ScreeningError(
            f"{database.url}: holds {len(projects)} projects ({names}); "
            "choose one with --project NAME"
        )
    for info in projects:
        if str(wanted) in (info.name, str(info.id)):
            return info.id
    raise ScreeningError(f"{database.url}: no project '{wanted}'")


class ScreeningProject(ProjectModel):
    """One project of a screening database. Use `open_project` or `create_project`."""

    def __init__(self, database: Database, project_id: int, *, owns_database: bool = False):
        self.database = database
        self.id = int(project_id)
        self._owns_database = owns_database
        with database.read() as conn:
            row = conn.execute(
                sa.select(
                    schema.projects.c.name, schema.projects.c.mode, schema.projects.c.meta
                ).where(schema.projects.c.id == self.id)
            ).first()
            if row is None:
                raise ScreeningError(f"{database.url}: no project with id {self.id}")
            self.record_ids: list[str] = list(
                conn.execute(
                    sa.select(schema.records.c.record_id)
                    .where(schema.records.c.project_id == self.id)
                    .order_by(schema.records.c.position)
                ).scalars()
            )
        self.name, self.mode = row.name, row.mode
        self.meta: dict[str, str] = json.loads(row.meta)
        self.settings: dict[str, Any] = json.loads(self.meta["settings"])
        self._index = {rid: i for i, rid in enumerate(self.record_ids)}
        self._protocol: Protocol | None = None
        self.config_note: str | None = None
        self._log_cache: list[Decision] = []
        self._log_lock = threading.Lock()
        self._scores_cache = None

    # -- lifecycle ----------------------------------------------------------------------
    @property
    def path(self) -> Path | None:
        """The SQLite file holding the project (None on PostgreSQL)."""
        return self.database.path

    @property
    def where(self) -> str:
        return str(self.database.path) if self.database.path else f"project '{self.name}'"

    def close(self) -> None:
        if self._owns_database:
            self.database.dispose()

    def __enter__(self) -> ScreeningProject:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- settings and protocol ----------------------------------------------------------
    @property
    def n_records(self) -> int:
        return len(self.record_ids)

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
            raise ScreeningError(f"unknown record id '{record_id}' in {self.where}") from None

    def record(self, record_id: str) -> ScreeningRecord:
        return self.record_at(self.position(record_id))

    def record_at(self, position: int) -> ScreeningRecord:
        r = schema.records
        with self.database.read() as conn:
            row = conn.execute(
                sa.select(
                    r.c.position,
                    r.c.record_id,
                    r.c.title,
                    r.c.abstract,
                    r.c.year,
                    r.c.language,
                    r.c.fields,
                    r.c.flags,
                ).where(r.c.project_id == self.id, r.c.position == position)
            ).first()
        if row is None:
            raise ScreeningError(f"no record at position {position} in {self.where}")
        return ScreeningRecord(
            *row[:6], fields=json.loads(row[6]), flags=[Flag(**f) for f in json.loads(row[7])]
        )

    def _column(self, *columns: str) -> list:
        r = schema.records
        with self.database.read() as conn:
            return conn.execute(
                sa.select(*(r.c[c] for c in columns))
                .where(r.c.project_id == self.id)
                .order_by(r.c.position)
            ).all()

    def texts(self) -> list[str]:
        return [join_text(t, a) for t, a in self._column("title", "abstract")]

    def record_rows(self) -> list[tuple]:
        """(record_id, title, abstract, year, language, fields as JSON) per record, in
        import order: the stored form, for export."""
        columns = ("record_id", "title", "abstract", "year", "language", "fields")
        return [tuple(row) for row in self._column(*columns)]

    def years(self) -> list[int | None]:
        return [y for (y,) in self._column("year")]

    def prior_values(self) -> list[float]:
        return [p for (p,) in self._column("prior")]

    # -- decisions ----------------------------------------------------------------------
    def decisions(self, *, include_undone: bool = False) -> list[Decision]:
        """The decision log in order (undone decisions too if `include_undone`)."""
        log = self._log()
        return log if include_undone else [d for d in log if not d.undone]

    def _log(self) -> list[Decision]:
        """The whole log, read incrementally: the rows after the last one seen, then a
        count of all rows and undos checks nothing was missed (a row committed late with
        a lower number on PostgreSQL, an undo of an older row); if it was, all is read
        again. Rows are only ever added and `undone` only goes from false to true, so
        equal counts mean an identical log."""
        d = schema.decisions
        columns = [d.c[c] for c in _DECISION_COLUMNS]
        with self._log_lock:
            cached = self._log_cache
            last = cached[-1].seq if cached else 0
            with self.database.read() as conn:
                new = conn.execute(
                    sa.select(*columns)
                    .where(d.c.project_id == self.id, d.c.seq > last)
                    .order_by(d.c.seq)
                ).all()
                n, undone = conn.execute(
                    sa.select(
                        sa.func.count(),
                        sa.func.coalesce(sa.func.sum(sa.case((d.c.undone, 1), else_=0)), 0),
                    ).where(d.c.project_id == self.id)
                ).one()
                merged = cached + [_decision(row) for row in new]
                if len(merged) != n or sum(x.undone for x in merged) != undone:
                    rows = conn.execute(
                        sa.select(*columns).where(d.c.project_id == self.id).order_by(d.c.seq)
                    ).all()
                    merged = [_decision(row) for row in rows]
            self._log_cache = merged
            return list(merged)

    def label_state(self) -> LabelState:
        """Current status of every record, from one read of the log (a consistent
        snapshot); in dual mode see `peerscreen.screening.labels`."""
        log = self.decisions(include_undone=True)
        return label_state_from(log, self._index, self.n_records, self.mode)

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
        screener: str | None = None,
        mode: str = "single",
    ) -> Decision:
        """Record a decision and commit it at once, before anything else happens.

        A later decision on the same record supersedes this one (both stay in the log).
        """
        if action not in ACTIONS:
            raise ScreeningError(f"unknown decision '{action}' (choose from {', '.join(ACTIONS)})")
        if mode not in schema.DECISION_MODES:
            raise ScreeningError(f"unknown decision mode '{mode}'")
        position = self.position(record_id)
        reason = self.check_reason(reason)
        if reason is not None and action != "exclude":
            raise ScreeningError(f"an exclusion code goes with 'exclude', not '{action}'")
        note = note.strip() if note and note.strip() else None
        scores = self.scores()
        values = {
            "record_id": record_id,
            "action": action,
            "reason": reason,
            "note": note,
            "decided_at": now(),
            "p_include": scores.p_include(position),
            "model_version": scores.version,
            "source": source,
            "screener": screener,
            "mode": mode,
        }
        with self.database.begin() as conn:
            result = conn.execute(sa.insert(schema.decisions).values(project_id=self.id, **values))
            seq = result.inserted_primary_key[0]
        return Decision(seq=seq, **values)

    def undo(self, screener: str | None = None) -> Decision | None:
        """Mark the latest active decision (of `screener`, if given) undone; returns it
        (None if there is none)."""
        d = schema.decisions
        where = [d.c.project_id == self.id, d.c.undone.is_(False)]
        if screener is not None:
            where.append(d.c.screener == screener)
        with self.database.begin() as conn:
            seq = conn.execute(sa.select(sa.func.max(d.c.seq)).where(*where)).scalar()
            if seq is None:
                return None
            conn.execute(sa.update(d).where(d.c.seq == seq).values(undone=True, undone_at=now()))
            row = conn.execute(
                sa.select(*(d.c[c] for c in _DECISION_COLUMNS)).where(d.c.seq == seq)
            ).one()
        return _decision(row)

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


def _decision(row: sa.Row) -> Decision:
    values = dict(zip(_DECISION_COLUMNS, row, strict=True))
    values["undone"] = bool(values["undone"])
    return Decision(**values)
