"""The team screening service on SQLite and PostgreSQL: leases, dual screening, conflicts,
resolutions, agreement, undo per screener, background retraining."""

from __future__ import annotations

import csv
import threading
from pathlib import Path

import pytest

from peerscreen.screening.store import ScreeningError

# the team store (issue 13, store helper): skip until it is there
database = pytest.importorskip(
    "peerscreen.screening.database", reason="the team store (screening.database) is not there yet"
)
accounts = pytest.importorskip("peerscreen.screening.accounts")
create_project_in = pytest.importorskip("peerscreen.screening.creation").create_project_in
ScreeningService = pytest.importorskip("peerscreen.screening.service").ScreeningService
open_database = database.open_database

ON = (
    "Peer support group {i} for adults with schizophrenia",
    "Peer specialists with lived experience gave mutual help to adults with severe mental "
    "illness; recovery and hope improved in study {i}.",
)
OFF = (
    "Internet forum {i} for adolescents with asthma",
    "A web-based program for teenagers with asthma; adherence to inhalers was measured {i}.",
)
PASSWORD = "correct horse battery"


def write_records(path: Path, n: int = 12) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "title", "abstract", "year", "doi"])
        for i in range(n):
            title, abstract = (t.format(i=i) for t in (ON if i % 2 == 0 else OFF))
            writer.writerow([f"r{i}", title, abstract, 2005, f"10.5555/r.{i}"])
    return path


class Clock:
    """A clock the test moves by hand, so lease expiry needs no sleeping."""

    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def make_service(database_url, tmp_path, mode: str, n: int = 12, clock=None):
    database = open_database(database_url, create=True)
    records = write_records(tmp_path / "records.csv", n)
    project, _ = create_project_in(database, f"team-{mode}", [records], mode=mode)
    options = {"clock": clock} if clock is not None else {}
    return ScreeningService(project, debounce=0.01, **options)


@pytest.fixture
def single(database_url, tmp_path):
    return make_service(database_url, tmp_path, "single")


@pytest.fixture
def dual(database_url, tmp_path):
    service = make_service(database_url, tmp_path, "dual")
    pid = service.project.id
    for name in ("ann", "bob", "cy"):
        accounts.add_user(service.database, name, PASSWORD, role="screener", project_id=pid)
    accounts.add_user(service.database, "olga", PASSWORD, role="owner", project_id=pid)
    return service


def test_concurrent_screeners_never_share_a_record(single):
    """Four screeners ask at the same moment, three rounds: every record served once."""
    served: list[str] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(4)

    def screen(name: str) -> None:
        try:
            for _ in range(3):
                barrier.wait()
                record = single.next_for(name)
                served.append(record.record_id)
                single.decide(name, record.record_id, "exclude")
        except BaseException as exc:  # reported below, not lost in the thread
            errors.append(exc)

    threads = [threading.Thread(target=screen, args=(f"s{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not errors
    assert len(served) == 12 and len(set(served)) == 12
    assert single.next_for("late") is None
    assert single.worker.wait_idle(120)


def test_a_lease_holds_until_it_expires_and_a_reload_gets_the_same_record(database_url, tmp_path):
    clock = Clock()
    service = make_service(database_url, tmp_path, "single", clock=clock)
    first = service.next_for("ann")
    assert service.next_for("ann").record_id == first.record_id  # renewed, same record
    other = service.next_for("bob")
    assert other.record_id != first.record_id
    clock.now += 121
    assert service.next_for("cy").record_id == first.record_id  # ann's lease ran out


def test_skipped_records_come_back_last(single):
    first = single.next_for("ann")
    single.decide("ann", first.record_id, "skip")
    seen = set()
    while (record := single.next_for("ann")) is not None:
        if record.record_id == first.record_id:
            break
        seen.add(record.record_id)
        single.decide("ann", record.record_id, "include")
    assert record is not None and record.record_id == first.record_id
    assert len(seen) == 11


def test_undo_only_undoes_that_screeners_own_decision(single):
    a = single.next_for("ann")
    single.decide("ann", a.record_id, "include")
    b = single.next_for("bob")
    single.decide("bob", b.record_id, "exclude")
    undone = single.undo("ann")
    assert undone.record_id == a.record_id and undone.screener == "ann"
    active = single.project.decisions()
    assert [(d.record_id, d.screener) for d in active] == [(b.record_id, "bob")]
    assert single.undo("ann") is None  # ann has nothing left; bob's stays
    assert single.next_for("ann").record_id == a.record_id  # the undone record comes back


def test_dual_mode_two_screeners_at_most_and_blind(dual):
    r_ann = dual.next_for("ann")
    r_bob = dual.next_for("bob")
    r_cy = dual.next_for("cy")
    assert r_ann.record_id == r_bob.record_id  # both screen the top record independently
    assert r_cy.record_id != r_ann.record_id  # never a third
    rid = r_ann.record_id
    first = dual.decide("ann", rid, "include")
    second = dual.decide("bob", rid, "exclude")
    assert (first.mode, second.mode) == ("first", "second")
    again = dual.decide("ann", rid, "include", note="sure")
    assert again.mode == "first"  # ann supersedes her own decision
    with pytest.raises(ScreeningError, match="already screened by two"):
        dual.decide("cy", rid, "include")
    assert dual.next_for("ann").record_id != rid
    assert dual.next_for("bob").record_id != rid


def test_dual_mode_conflict_resolution_and_training_labels(dual):
    project = dual.project
    rid = dual.next_for("ann").record_id
    dual.next_for("bob")
    position = project.position(rid)
    dual.decide("ann", rid, "include")
    assert project.label_state().status[position] == "include"  # one decision so far
    dual.decide("bob", rid, "exclude")
    assert project.label_state().status[position] == "include"  # conflict: include if either
    conflicts = dual.conflicts()
    assert [c.record_id for c in conflicts] == [rid]
    assert {d.screener for d in conflicts[0].decisions} == {"ann", "bob"}
    assert conflicts[0].title

    with pytest.raises(ScreeningError, match="only an owner"):
        dual.resolve("bob", rid, "include")
    resolution = dual.resolve("olga", rid, "exclude", note="off topic")
    assert resolution.mode == "resolution"
    assert dual.conflicts() == []
    state = project.label_state()
    assert state.status[position] == "exclude"
    assert list(state.labels_in_order) == [0]
    scores = dual.retrain_now()
    assert scores.revision == state.revision and scores.n_labels == 1


def test_dual_mode_agreement_figures(dual):
    """The worked table of test_agreement: kappa 0.4, AC1 0.4059, percent 0.7 over 10."""
    first = ["include"] * 4 + ["exclude"] * 6
    second = ["include"] * 3 + ["exclude"] + ["include"] * 2 + ["exclude"] * 4
    for i, (a, b) in enumerate(zip(first, second, strict=True)):
        dual.decide("ann", f"r{i}", a)
        dual.decide("bob", f"r{i}", b)
    dual.decide("cy", "r10", "include")
    dual.decide("ann", "r10", "skip")  # a skip is no screening: not counted
    (pair,) = dual.agreement()
    assert (pair.first, pair.second, pair.n) == ("ann", "bob", 10)
    assert pair.percent.value == pytest.approx(0.7)
    assert pair.kappa.value == pytest.approx(0.4)
    assert pair.ac1.value == pytest.approx(0.405941, abs=1e-6)
    assert pair.kappa.low < 0.4 < pair.kappa.high
    dual.decide("bob", "r0", "include", note="still include")  # a re-decision: one record
    counts = dual.contributions()
    assert counts["ann"]["include"] == 4 and counts["ann"]["skip"] == 1
    assert counts["ann"]["screened"] == 11
    assert (counts["bob"]["screened"], counts["bob"]["decisions"]) == (10, 11)
    assert counts["cy"]["include"] == 1


def test_decisions_trigger_one_background_retrain(single):
    worker = single.worker
    assert worker.wait_idle(120)
    before = worker.retrains
    with worker.held():
        for i in range(6):
            single.decide("ann", f"r{i}", "include" if i % 2 == 0 else "exclude")
    assert worker.wait_idle(120)
    assert worker.retrains == before + 1
    project = single.project
    assert project.scores().revision == project.label_state().revision
    assert project.scores().kind == "model"
