"""Background retraining: one daemon worker thread per project, debounced.

A decision must come back at once, so the service only *asks* for a retrain. The worker
waits a moment for the burst of decisions a team makes to settle, then retrains once on
the newest revision; requests that arrive while it trains give one more retrain after it,
never one per decision. The worker opens its own `ScreeningProject` on the shared
`Database`: a SQLAlchemy engine is safe to share between threads, a connection is not.
Scores carry the revision they came from and the store never lets an older revision
overwrite a newer one, so a retrain racing the CLI or another process is harmless.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Iterator
from typing import Any

from peerscreen.errors import PeerscreenError

log = logging.getLogger(__name__)

#: Seconds a worker waits after a request for more decisions before it retrains.
DEBOUNCE_SECONDS = 0.25


class RetrainWorker:
    """Retrains one project in a daemon thread whenever `request()` was called."""

    def __init__(self, open_project: Callable[[], Any], *, debounce: float = DEBOUNCE_SECONDS):
        self._open_project = open_project  # called in the worker thread: its own project
        self.debounce = debounce
        self.retrains = 0  # completed retrains (for tests and the progress page)
        self.last_error: str | None = None
        self._wanted = False
        self._requests = 0
        self._busy = False
        self._hold = threading.Lock()
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None

    def request(self) -> None:
        """Ask for a retrain on the newest decisions; returns at once."""
        with self._cond:
            self._wanted = True
            self._requests += 1
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="peerscreen-retrain", daemon=True
                )
                self._thread.start()
            self._cond.notify_all()

    @contextlib.contextmanager
    def held(self) -> Iterator[None]:
        """No retrain starts inside this block (requests made in it wait for its end): a
        bulk of decisions then gives exactly one retrain."""
        with self._hold:
            yield

    def wait_idle(self, timeout: float = 60.0) -> bool:
        """Block until no retrain is wanted or running (False if `timeout` ran out)."""
        with self._cond:
            return self._cond.wait_for(lambda: not self._wanted and not self._busy, timeout)

    def _run(self) -> None:
        project = None
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._wanted)
            self._settle()
            with self._hold, self._cond:
                self._wanted, self._busy = False, True
            try:
                project = self._retrain(project)
            finally:
                with self._cond:
                    self._busy = False
                    self._cond.notify_all()

    def _settle(self) -> None:
        """Wait until no request came for `debounce` seconds."""
        with self._cond:
            while True:
                seen = self._requests
                self._cond.wait(self.debounce)
                if self._requests == seen:
                    return

    def _retrain(self, project: Any) -> Any:
        """Retrain if the scores are stale; returns the worker's project (None after a
        failure, so the next try opens a fresh one)."""
        try:
            project = project or self._open_project()
            state = project.label_state()
            if project.scores().revision != state.revision:
                project.retrain(state)
                self.retrains += 1
            self.last_error = None
            return project
        except PeerscreenError as exc:
            self.last_error = str(exc)
            log.warning("background retrain failed: %s", exc)
        except Exception as exc:  # never let the worker die: the next request retries
            self.last_error = f"{type(exc).__name__}: {exc}"
            log.exception("background retrain failed")
        return None


#: (id of the Database, project id) -> (the Database, its worker). Keyed by the object, not
#: its URL: two databases can share a URL (PostgreSQL schemas chosen by connect options);
#: the Database is kept alive with its worker so the id cannot be reused.
_WORKERS: dict[tuple[int, Any], tuple[Any, RetrainWorker]] = {}
_WORKERS_LOCK = threading.Lock()


def worker_for(
    database: Any, project_id: Any, open_project: Callable[[], Any], **kwargs: Any
) -> RetrainWorker:
    """The process's one worker for project `project_id` of `database`."""
    key = (id(database), project_id)
    with _WORKERS_LOCK:
        if key not in _WORKERS:
            _WORKERS[key] = (database, RetrainWorker(open_project, **kwargs))
        return _WORKERS[key][1]
