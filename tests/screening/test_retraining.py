"""The background retrain worker: debounced, never blocks, survives a failing retrain."""

from __future__ import annotations

import threading
from dataclasses import dataclass

from peerscreen.screening.retraining import RetrainWorker
from peerscreen.screening.store import ScreeningError


@dataclass
class _State:
    revision: int


@dataclass
class _Scores:
    revision: int


class FakeProject:
    """Counts retrains; `revision` grows as the test 'decides'."""

    def __init__(self, fail: bool = False):
        self.revision = 0
        self.trained: list[int] = []
        self.stored = 0
        self.fail = fail
        self.threads: set[str] = set()

    def label_state(self) -> _State:
        return _State(self.revision)

    def scores(self) -> _Scores:
        return _Scores(self.stored)

    def retrain(self, state: _State) -> None:
        self.threads.add(threading.current_thread().name)
        if self.fail:
            raise ScreeningError("cannot build features")
        self.trained.append(state.revision)
        self.stored = state.revision


def test_a_burst_gives_one_retrain_on_the_newest_revision():
    project = FakeProject()
    worker = RetrainWorker(lambda: project, debounce=0.01)
    with worker.held():
        for _ in range(25):
            project.revision += 1
            worker.request()
    assert worker.wait_idle(30)
    assert project.trained == [25]
    assert worker.retrains == 1
    assert project.threads == {"peerscreen-retrain"}


def test_requests_after_a_retrain_give_another():
    project = FakeProject()
    worker = RetrainWorker(lambda: project, debounce=0.01)
    project.revision = 1
    worker.request()
    assert worker.wait_idle(30)
    project.revision = 2
    worker.request()
    assert worker.wait_idle(30)
    assert project.trained == [1, 2]


def test_fresh_scores_are_not_retrained():
    project = FakeProject()
    worker = RetrainWorker(lambda: project, debounce=0.01)
    worker.request()  # revision 0 == stored 0
    assert worker.wait_idle(30)
    assert project.trained == [] and worker.retrains == 0


def test_a_failing_retrain_is_recorded_and_the_worker_lives_on():
    project = FakeProject(fail=True)
    worker = RetrainWorker(lambda: project, debounce=0.01)
    project.revision = 1
    worker.request()
    assert worker.wait_idle(30)
    assert worker.last_error == "cannot build features"
    project.fail = False
    worker.request()
    assert worker.wait_idle(30)
    assert project.trained == [1] and worker.last_error is None
