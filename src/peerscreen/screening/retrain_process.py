"""Retraining in a child process, for the server.

The server answers requests in threads of one Python process; a retrain (the feature
matrix on first use, then a fit and calibration on every label) holding the interpreter
for hundreds of milliseconds would stall every screener's next record. Here the retrain
runs in a child process (one per database, started on first use, at a lower priority), on
another core: it opens the project by the database's address, keeps its learner between
retrains, and writes the new scores to the database like any retrain (a stale one never
overwrites a newer). The server's worker thread only waits for it.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from peerscreen.screening.labels import LabelState
from peerscreen.screening.store import Scores

_EXECUTORS: dict[str, ProcessPoolExecutor] = {}
_LOCK = threading.Lock()
#: In the child: (address, project id) -> the open project, kept between retrains.
_CHILD_PROJECTS: dict[tuple[str, int], Any] = {}


def _start_child() -> None:
    """In the child: a lower priority than the server, and an exit as soon as the server
    is gone (ended, or killed with -9: then no one else would end this process)."""
    with contextlib.suppress(OSError):  # not allowed here: the same priority
        os.nice(5)
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(0)

    threading.Thread(target=watch, name="peerscreen-parent-watch", daemon=True).start()


def _executor(address: str) -> ProcessPoolExecutor:
    with _LOCK:
        if address not in _EXECUTORS:
            _EXECUTORS[address] = ProcessPoolExecutor(
                max_workers=1,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_start_child,
            )
        return _EXECUTORS[address]


def _forget(address: str) -> None:
    with _LOCK:
        executor = _EXECUTORS.pop(address, None)
    if executor is not None:
        executor.shutdown(wait=False, cancel_futures=True)


def _retrain_in_child(address: str, project_id: int) -> bool:
    """Runs in the child: retrain the project if its scores are stale."""
    from peerscreen.screening.database import open_database
    from peerscreen.screening.project import ScreeningProject

    key = (address, project_id)
    if key not in _CHILD_PROJECTS:
        _CHILD_PROJECTS[key] = ScreeningProject(open_database(address), project_id)
    project = _CHILD_PROJECTS[key]
    state = project.label_state()
    if project.scores().revision == state.revision:
        return False
    project.retrain(state)
    return True


class ChildProcessRetrain:
    """What the retrain worker needs of a project (`label_state`, `scores`, `retrain`),
    with the retrain done in a child process."""

    def __init__(self, project: Any):
        self._project = project
        self._address = project.database.address

    def label_state(self) -> LabelState:
        return self._project.label_state()

    def scores(self) -> Scores:
        return self._project.scores()

    def retrain(self, state: LabelState | None = None) -> Scores:
        try:
            _executor(self._address).submit(
                _retrain_in_child, self._address, self._project.id
            ).result()
        except BrokenProcessPool:  # the child died (killed, out of memory): a new one next time
            _forget(self._address)
            raise
        return self._project.scores()


def shutdown_all() -> None:
    """End every retrain child of this process (tests; the server's exit does it too)."""
    with _LOCK:
        executors = list(_EXECUTORS.values())
        _EXECUTORS.clear()
    for executor in executors:
        executor.shutdown(wait=True, cancel_futures=True)
