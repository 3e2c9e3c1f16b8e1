"""The team screening API used by the CLI and the server: who screens what next, decisions
by screener, undo, dual screening with conflicts and resolutions, agreement, contributions.

- `next_for` serves the first record in the model's queue that this screener may screen
  now, and takes a short *lease* on it in the same transaction, so two screeners asking at
  once never get the same record (single mode) or a record never goes to more than two
  (dual mode). A screener asking again gets the record they hold (a page reload shows the
  same record). It reads the stored scores, however stale: the request never retrains.
- `decide` commits the decision first, then releases the lease, then asks the project's
  background worker (`peerscreen.screening.retraining`) for a retrain: the caller never
  waits for the model.
- Dual mode is blind: nothing here shows one screener the other's decision; `conflicts` and
  `agreement` are for owners. What the model trains on is `peerscreen.screening.labels`.
"""

from __future__ import annotations

import itertools
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from peerscreen.screening import schema
from peerscreen.screening.agreement import Estimate, cohens_kappa, gwet_ac1, percent_agreement
from peerscreen.screening.labels import (
    LABELS,
    LabelState,
    RecordVotes,
    mode_of,
    revision_of,
    screener_of,
    votes_from,
)
from peerscreen.screening.retraining import RetrainWorker, worker_for
from peerscreen.screening.store import Decision, Scores, ScreeningError, ScreeningRecord

#: Seconds a served record stays reserved for its screener.
LEASE_SECONDS = 120


@dataclass(frozen=True)
class Conflict:
    """A record two screeners labelled differently (include vs exclude), not yet resolved."""

    record_id: str
    title: str | None
    decisions: list[Decision]


@dataclass(frozen=True)
class PairAgreement:
    """Agreement of two screeners over the records both labelled (skips left out)."""

    first: str
    second: str
    n: int
    percent: Estimate
    kappa: Estimate
    ac1: Estimate


class ScreeningService:
    """Team screening on one project (a `ScreeningProject` on a shared `Database`)."""

    def __init__(
        self,
        project: Any,
        *,
        clock: Callable[[], float] = time.time,
        debounce: float | None = None,
        background: bool = True,
        retrain_in_process: bool = False,
    ):
        self.project = project
        self.database = project.database
        self._clock = clock
        self._background = background  # False: the caller retrains (the CLI's loop)
        self._in_process = retrain_in_process  # True: retrain in a child process (server)
        options = {} if debounce is None else {"debounce": debounce}
        self.worker: RetrainWorker = worker_for(
            self.database, project.id, self._open_worker_project, **options
        )

    def _changed(self) -> None:
        """The labels changed: ask the worker for a retrain (unless the caller retrains)."""
        if self._background:
            self.worker.request()

    def _open_worker_project(self) -> Any:
        """A project of its own for the worker thread (same engine, its own connections);
        with `retrain_in_process`, one whose retrain runs in a child process."""
        project = type(self.project)(self.database, self.project.id)
        if self._in_process:
            from peerscreen.screening.retrain_process import ChildProcessRetrain

            return ChildProcessRetrain(project)
        return project

    @property
    def dual(self) -> bool:
        return self.project.mode == "dual"

    # -- serving ------------------------------------------------------------------------
    def next_for(self, screener: str, *, lease_seconds: float = LEASE_SECONDS):
        """The next record `screener` may screen now, leased to them (None when none is
        left for them). See the module docstring."""
        screener = _name(screener)
        # single mode: the queue already leaves out every record decided up to `seen`, so
        # the lease transaction need only read the decisions made since (dual mode counts
        # each record's screeners, so it reads them all)
        log = self.project.decisions(include_undone=True)
        seen = log[-1].seq if log and not self.dual else 0
        queue = self.project.queue(self.project.scores(), self._view(screener))
        now = self._clock()
        with self.database.begin() as conn:
            self._lock_project(conn)
            conn.execute(
                sa.delete(schema.leases).where(
                    schema.leases.c.project_id == self.project.id,
                    schema.leases.c.expires_at <= now,
                )
            )
            engaged, mine = self._engagement(conn, screener, since=seen)
            position = self._pick(queue, engaged, mine)
            if position is None:
                return None
            self._lease(conn, screener, position, now + lease_seconds)
        return self.project.record_at(position)

    def _view(self, screener: str) -> LabelState:
        """The label state as `screener`'s queue sees it: in dual mode a record is theirs
        to screen until they decided it (their skips come last), unless two others did or
        an owner resolved it. One read of the log either way."""
        if not self.dual:
            return self.project.label_state()
        log = self.project.decisions(include_undone=True)
        status: list[str | None] = [None] * self.project.n_records
        for record_id, votes in votes_from(log).items():
            position = self.project.position(record_id)
            own = votes.by_screener.get(screener)
            if own is not None:
                status[position] = own.action
            elif votes.resolution is not None or len(_labellers(votes)) >= 2:
                status[position] = "done"
        return LabelState(revision_of(log), status, {}, [])

    def _lock_project(self, conn: sa.Connection) -> None:
        """Serialise lease-taking per project. SQLite's BEGIN IMMEDIATE already does; on
        PostgreSQL two READ COMMITTED transactions could both see a record free, so take
        the project row's lock first."""
        if self.database.dialect == "postgresql":
            conn.execute(
                sa.select(schema.projects.c.id)
                .where(schema.projects.c.id == self.project.id)
                .with_for_update()
            )

    def _engagement(
        self, conn: sa.Connection, screener: str, since: int = 0
    ) -> tuple[dict[int, set[str]], set[int]]:
        """position -> the other screeners who decided or hold it (read in the lease
        transaction, so it is current), and the positions `screener` holds."""
        engaged: dict[int, set[str]] = {}
        mine: set[int] = set()
        leases = conn.execute(
            sa.select(schema.leases.c.position, schema.leases.c.screener).where(
                schema.leases.c.project_id == self.project.id
            )
        )
        for position, holder in leases:
            if holder == screener:
                mine.add(position)
            else:
                engaged.setdefault(position, set()).add(holder)
        decided = conn.execute(
            sa.select(
                schema.decisions.c.record_id,
                schema.decisions.c.screener,
                schema.decisions.c.action,
                schema.decisions.c.mode,
            )
            .where(
                schema.decisions.c.project_id == self.project.id,
                _active(),
                schema.decisions.c.seq > since,
            )
            .order_by(schema.decisions.c.seq)
        )
        # the latest active decision counts: per record (single mode), per record and
        # screener (dual mode, where a resolution blocks the record whatever came before)
        latest: dict[tuple[str, str], Any] = {}
        for record_id, who, action, mode in decided:
            if mode == "resolution":
                latest[(record_id, "(resolution)")] = "include"
            else:
                latest[(record_id, who if self.dual else "")] = (who, action)
        for (record_id, slot), value in latest.items():
            if slot == "(resolution)":
                marker = "(resolution)"
            else:
                who, action = value
                if action not in LABELS:
                    continue  # a skip is no screening: the record stays available, queued last
                marker = "(self)" if who == screener else who
            engaged.setdefault(self.project.position(record_id), set()).add(marker)
        return engaged, mine

    def _pick(self, queue: list[int], engaged: dict[int, set[str]], mine: set[int]) -> int | None:
        def free(position: int) -> bool:
            others = engaged.get(position, set())
            if not self.dual:  # anyone's include/exclude or another's lease blocks it
                return not others
            blocked = "(resolution)" in others or "(self)" in others
            return not blocked and len(others) < 2

        for position in queue:
            if position in mine and free(position):
                return position
        return next((p for p in queue if free(p)), None)

    def _lease(self, conn: sa.Connection, screener: str, position: int, expires: float) -> None:
        leases = schema.leases
        conn.execute(
            sa.delete(leases).where(
                leases.c.project_id == self.project.id, leases.c.screener == screener
            )
        )
        conn.execute(
            sa.insert(leases).values(
                project_id=self.project.id, position=position, screener=screener, expires_at=expires
            )
        )

    def release(self, screener: str, record_id: str | None = None) -> None:
        """Give back `screener`'s lease (on `record_id`, or all of theirs)."""
        where = [
            schema.leases.c.project_id == self.project.id,
            schema.leases.c.screener == _name(screener),
        ]
        if record_id is not None:
            where.append(schema.leases.c.position == self.project.position(record_id))
        with self.database.begin() as conn:
            conn.execute(sa.delete(schema.leases).where(*where))

    # -- deciding -----------------------------------------------------------------------
    def decide(
        self,
        screener: str,
        record_id: str,
        action: str,
        *,
        reason: str | None = None,
        note: str | None = None,
        source: str = "api",
    ) -> Decision:
        """Record `screener`'s decision (committed first), release their lease, and ask
        for a background retrain."""
        screener = _name(screener)
        mode = self._mode_for(screener, record_id)
        decision = self.project.decide(
            record_id, action, reason=reason, note=note, source=source, screener=screener, mode=mode
        )
        self.release(screener, record_id)
        self._changed()
        return decision

    def _mode_for(self, screener: str, record_id: str) -> str:
        """'single'; in dual mode the screener's earlier mode on this record, else 'first'
        or 'second' (ScreeningError when two others screened it already)."""
        if not self.dual:
            return "single"
        self.project.position(record_id)  # unknown record ids fail here, readably
        votes = votes_from(self._record_log(record_id)).get(record_id, RecordVotes())
        own = votes.by_screener.get(screener)
        if own is not None and mode_of(own) in ("first", "second"):
            return mode_of(own)
        others = [s for s in votes.by_screener if s != screener]
        if len(others) >= 2:
            raise ScreeningError(
                f"record '{record_id}' was already screened by two screeners "
                f"({', '.join(sorted(others))})"
            )
        return "second" if others else "first"

    def _record_log(self, record_id: str) -> list[Decision]:
        return [d for d in self.project.decisions(include_undone=True) if d.record_id == record_id]

    def undo(self, screener: str) -> Decision | None:
        """Undo `screener`'s own latest active decision (None if they have none). The record
        is leased back to them, so their next record is the one they undid."""
        screener = _name(screener)
        decision = self.project.undo(screener=screener)
        if decision is not None:
            if mode_of(decision) != "resolution":
                position = self.project.position(decision.record_id)
                with self.database.begin() as conn:
                    self._lease(conn, screener, position, self._clock() + LEASE_SECONDS)
            self._changed()
        return decision

    def resolve(
        self,
        owner: str,
        record_id: str,
        action: str,
        *,
        reason: str | None = None,
        note: str | None = None,
        source: str = "api",
    ) -> Decision:
        """An owner's final label on a record of a dual-mode project (mode 'resolution')."""
        owner = _name(owner)
        if not self.dual:
            raise ScreeningError("resolving is for dual-mode projects; decide the record instead")
        if action not in LABELS:
            raise ScreeningError(f"a resolution is include or exclude, not '{action}'")
        if not self.is_owner(owner):
            raise ScreeningError(
                f"{owner} is not an owner of project '{self.project.name}': "
                "only an owner can resolve a conflict"
            )
        decision = self.project.decide(
            record_id,
            action,
            reason=reason,
            note=note,
            source=source,
            screener=owner,
            mode="resolution",
        )
        self._changed()
        return decision

    def is_owner(self, name: str) -> bool:
        """Whether the user `name` owns this project (admins own every project)."""
        from peerscreen.screening import accounts

        users = schema.users
        with self.database.engine.connect() as conn:
            row = conn.execute(
                sa.select(users.c.id, users.c.is_admin).where(users.c.name == name)
            ).first()
        if row is None:
            return False
        if row.is_admin:
            return True
        return accounts.role_in(self.database, row.id, self.project.id) == "owner"

    # -- reporting ----------------------------------------------------------------------
    def conflicts(self) -> list[Conflict]:
        """Unresolved include-vs-exclude disagreements, in screening order."""
        found = []
        for record_id, votes in votes_from(self.project.decisions(include_undone=True)).items():
            if votes.in_conflict:
                decisions = sorted(votes.by_screener.values(), key=lambda d: d.seq)
                title = self.project.record(record_id).title
                found.append(Conflict(record_id, title, decisions))
        return sorted(found, key=lambda c: c.decisions[-1].seq)

    def agreement(self) -> list[PairAgreement]:
        """Per pair of screeners: agreement over the records both labelled."""
        pairs: dict[tuple[str, str], tuple[list[str], list[str]]] = {}
        for votes in votes_from(self.project.decisions(include_undone=True)).values():
            labelled = sorted(_labellers(votes).items())
            for (a, da), (b, db) in itertools.combinations(labelled, 2):
                first, second = pairs.setdefault((a, b), ([], []))
                first.append(da.action)
                second.append(db.action)
        return [
            PairAgreement(
                a,
                b,
                len(first),
                percent_agreement(first, second),
                cohens_kappa(first, second),
                gwet_ac1(first, second),
            )
            for (a, b), (first, second) in sorted(pairs.items())
        ]

    def contributions(self) -> dict[str, dict[str, int]]:
        """screener -> records they screened by their latest own decision (include,
        exclude, skip; `screened` the sum), conflicts they resolved, and their active and
        undone decisions (a re-decision counts once as a record, twice as decisions)."""
        keys = ("include", "exclude", "skip", "screened", "resolved", "decisions", "undone")
        result: dict[str, Counter[str]] = {}
        log = self.project.decisions(include_undone=True)
        for decision in log:
            counts = result.setdefault(screener_of(decision), Counter())
            counts["undone" if decision.undone else "decisions"] += 1
        for votes in votes_from(log).values():
            for who, decision in votes.by_screener.items():
                result[who][decision.action] += 1
                result[who]["screened"] += 1
            if votes.resolution is not None:
                result[screener_of(votes.resolution)]["resolved"] += 1
        return {who: {k: counts[k] for k in keys} for who, counts in sorted(result.items())}

    def status(self, **kwargs):
        return self.project.status(**kwargs)

    def record(self, record_id: str) -> ScreeningRecord:
        return self.project.record(record_id)

    def retrain_now(self) -> Scores:
        """Retrain in the calling thread on the current labels (tests, the CLI)."""
        return self.project.retrain(self.project.label_state())


def _labellers(votes: RecordVotes) -> dict[str, Decision]:
    """The screeners who gave the record include or exclude (skips are no screening)."""
    return {s: d for s, d in votes.by_screener.items() if d.action in LABELS}


def _active() -> sa.ColumnElement[bool]:
    undone = schema.decisions.c.undone
    return undone.is_(False) if isinstance(undone.type, sa.Boolean) else undone == 0


def _name(screener: str) -> str:
    name = (screener or "").strip()
    if not name:
        raise ScreeningError("a screener name is needed (e.g. --as NAME)")
    return name
