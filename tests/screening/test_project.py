"""The screening project: one SQLite file, decisions committed first, undo, resume, export."""

from __future__ import annotations

import csv
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from peerscreen.io.ingest import import_records
from peerscreen.paths import DEFAULT_CONFIG
from peerscreen.screening import (
    ScreeningError,
    create_project,
    open_project,
)
from peerscreen.screening.stopping import STOPPING_RULES

ON_TOPIC = (
    "Peer support group {i} for adults with schizophrenia",
    "Peer specialists with lived experience gave face-to-face mutual help to adults with "
    "severe mental illness; recovery, hope and empowerment improved in study {i}.",
)
OFF_TOPIC = (
    "Internet forum {i} for adolescents with asthma",
    "A web-based program for teenagers with asthma and their caregivers; adherence to "
    "inhalers was measured in trial {i}.",
)


def write_records(path: Path, n_on: int = 8, n_off: int = 8) -> Path:
    """A small export: on-topic records (on0...) and off-topic ones tripping criteria (off0...)."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "title", "abstract", "year", "doi", "authors", "Source DB"])
        for i in range(n_on):
            title, abstract = (t.format(i=i) for t in ON_TOPIC)
            writer.writerow([f"on{i}", title, abstract, 2005, f"10.5555/on.{i}", "Ray, A.", "x"])
        for i in range(n_off):
            title, abstract = (t.format(i=i) for t in OFF_TOPIC)
            writer.writerow([f"off{i}", title, abstract, 2005, f"10.5555/off.{i}", "Lee, B.", "y"])
    return path


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    """One project built once per module; tests get a copy (an init costs about a second)."""
    folder = tmp_path_factory.mktemp("template")
    project, _ = create_project(folder / "t.screen", [write_records(folder / "records.csv")])
    project.close()
    return folder / "t.screen"


@pytest.fixture
def project_path(template: Path, tmp_path: Path) -> Path:
    target = tmp_path / "review.screen"
    shutil.copy(template, target)
    return target


@pytest.fixture
def project(project_path: Path):
    with open_project(project_path) as opened:
        yield opened


# -- init -----------------------------------------------------------------------------------
def test_init_stores_records_config_and_cold_start(project, project_path):
    assert project.n_records == 16
    assert project.meta["config_path"] == str(DEFAULT_CONFIG.resolve())
    assert len(project.meta["config_hash"]) == 16
    assert project.settings["backend"] == "tfidf-lr" and project.settings["query"] == "max"
    record = project.record("on3")
    assert record.title.startswith("Peer support group 3") and record.year == 2005
    assert record.fields["doi"] == "10.5555/on.3" and record.fields["authors"] == ["Ray, A."]
    assert record.fields["Source DB"] == "x"  # extra columns kept, whatever their names
    assert {f.code for f in project.record("off1").flags} >= {"youth_only", "online_or_phone_only"}
    scores = project.scores()
    assert scores.kind == "cold-start" and scores.version == 0
    order = project.queue()
    assert all(project.record_ids[p].startswith("on") for p in order[:8])  # criteria first
    mode = sqlite3.connect(project_path).execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"


def test_model_trains_on_the_criteria_text_unless_turned_off(project, tmp_path):
    assert project.settings["criteria_as_inclusion"] is True
    assert project.guide_texts() == [project.protocol.criteria_text()]
    assert project.learner().guide_features.shape[0] == 1
    source = write_records(tmp_path / "r.csv", 2, 2)
    plain, _ = create_project(tmp_path / "p.screen", [source], criteria_as_inclusion=False)
    assert plain.guide_texts() == [] and plain.learner().guide_features.shape[0] == 0
    plain.close()


def test_init_deduplicates(tmp_path):
    source = write_records(tmp_path / "a.csv", 3, 0)
    copy = tmp_path / "b.csv"  # the same records (same DOIs) under other ids
    copy.write_text(source.read_text().replace("on0,", "x0,").replace("on1,", "x1,"))
    project, result = create_project(tmp_path / "p.screen", [source, copy])
    assert project.n_records == 3 and result.dedup.n_removed == 3
    project.close()


def test_init_refuses_existing_unless_force(project_path, tmp_path):
    source = write_records(tmp_path / "r.csv", 2, 2)
    with pytest.raises(ScreeningError, match="already exists"):
        create_project(project_path, [source])
    project, _ = create_project(project_path, [source], force=True)
    assert project.n_records == 4
    project.close()


def test_init_never_replaces_a_file_that_is_not_a_project(tmp_path):
    source = write_records(tmp_path / "r.csv", 2, 2)
    before = source.read_text()
    with pytest.raises(ScreeningError, match="not a screening project"):
        create_project(source, [source], force=True)
    assert source.read_text() == before


@pytest.mark.parametrize(
    ("option", "message"), [({"backend": "nope"}, "unknown backend"), ({"query": "x"}, "query")]
)
def test_init_checks_names_before_writing(tmp_path, option, message):
    source = write_records(tmp_path / "r.csv", 2, 2)
    with pytest.raises(Exception, match=message):
        create_project(tmp_path / "p.screen", [source], **option)
    assert not (tmp_path / "p.screen").exists()
    assert not list(tmp_path.glob(".p.screen*"))


# -- open -----------------------------------------------------------------------------------
def test_open_missing_or_foreign_files(tmp_path):
    with pytest.raises(ScreeningError, match="no such screening project"):
        open_project(tmp_path / "none.screen")
    text = tmp_path / "notes.txt"
    text.write_text("hello\n" * 100)
    with pytest.raises(ScreeningError, match="not a peerscreen screening project"):
        open_project(text)
    other = tmp_path / "other.db"
    sqlite3.connect(other).execute("CREATE TABLE t (x)").connection.commit()
    with pytest.raises(ScreeningError, match="not a peerscreen screening project"):
        open_project(other)
    assert not (tmp_path / "none.screen").exists()  # opening never creates a file


# -- decisions ------------------------------------------------------------------------------
def test_decide_validates(project):
    with pytest.raises(ScreeningError, match="unknown record id 'nope'"):
        project.decide("nope", "include")
    with pytest.raises(ScreeningError, match="unknown exclusion code 'teens'"):
        project.decide("off1", "exclude", reason="teens")
    with pytest.raises(ScreeningError, match="goes with 'exclude'"):
        project.decide("on1", "include", reason="youth_only")
    with pytest.raises(ScreeningError, match="unknown decision"):
        project.decide("on1", "maybe")
    assert project.decisions() == []


def test_decisions_are_committed_and_reopen(project_path):
    with open_project(project_path) as project:
        made = project.decide("off2", "exclude", reason="youth_only", note="teens", source="t")
    assert made.label == 0 and made.p_include is None  # cold start: no probability yet
    with open_project(project_path) as project:
        (stored,) = project.decisions()
        assert (stored.record_id, stored.reason, stored.note) == ("off2", "youth_only", "teens")
        assert stored.decided_at.endswith("+00:00")
        assert project.scores_stale()  # decided, not yet retrained
        assert project.fresh_scores().revision == project.label_state().revision


def test_retrain_switches_to_the_model_and_stores_scores(project_path):
    with open_project(project_path) as project:
        project.decide("on0", "include")
        assert project.retrain().kind == "cold-start"  # one class only
        project.decide("off0", "exclude")
        scores = project.retrain()
    assert scores.kind == "model" and scores.version == 2 and scores.n_labels == 2
    assert np.all((scores.values >= 0) & (scores.values <= 1))
    with open_project(project_path) as project:  # a new process sees them without retraining
        stored = project.scores()
        assert not project.scores_stale()
        np.testing.assert_allclose(stored.values, scores.values)
        on, off = stored.values[project.position("on5")], stored.values[project.position("off5")]
        assert on > off
        # one inclusion and one exclusion: no calibrated p_include yet (see calibration.py)
        assert stored.probabilities is None
        assert project.decide("on5", "include").p_include is None


def test_older_scores_never_overwrite_newer(project):
    project.decide("on0", "include")
    old_state = project.label_state()
    project.decide("off0", "exclude")
    newer = project.retrain()
    assert project.retrain(old_state).version == newer.version
    assert project.scores().revision == newer.revision


def test_undo_keeps_history(project):
    assert project.undo() is None
    project.decide("on0", "include")
    project.decide("off0", "exclude")
    undone = project.undo()
    assert (undone.record_id, undone.undone) == ("off0", True)
    assert [d.record_id for d in project.decisions()] == ["on0"]
    log = project.decisions(include_undone=True)
    assert [(d.record_id, d.undone) for d in log] == [("on0", False), ("off0", True)]
    assert project.label_state().status[project.position("off0")] is None
    project.undo()
    assert project.decisions() == [] and len(project.decisions(include_undone=True)) == 2


def test_log_is_append_only(project_path):
    with open_project(project_path) as project:
        project.decide("on0", "include")
    conn = sqlite3.connect(project_path)
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        conn.execute("DELETE FROM decisions")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        conn.execute("UPDATE decisions SET action = 'exclude'")


def test_relabel_supersedes_and_keeps_screening_order(project):
    project.decide("on0", "include")
    project.decide("on1", "include")
    project.decide("on0", "exclude", reason="not_original")
    state = project.label_state()
    assert [project.record_ids[p] for p in state.order] == ["on0", "on1"]
    assert list(state.labels_in_order) == [0, 1]


def test_queue_is_the_unscreened_pool_then_skipped(project):
    project.decide("on0", "include")
    project.decide("on1", "skip")
    queue = project.queue()
    skipped = project.position("on1")
    assert queue[-1] == skipped and project.position("on0") not in queue
    assert sorted(queue) == sorted(set(range(16)) - {project.position("on0")})


# -- status and export ----------------------------------------------------------------------
def test_status_counts_and_stopping_rules(project):
    project.decide("on0", "include")
    project.decide("off0", "exclude")
    project.decide("off1", "exclude")
    project.decide("off2", "skip")
    project.decide("off3", "exclude")
    project.undo()
    status = project.status()
    assert (status.n_records, status.n_labelled, status.n_included, status.n_excluded) == (
        16,
        3,
        1,
        2,
    )
    assert (status.n_skipped, status.n_remaining, status.n_decisions, status.n_undone) == (
        1,
        12,
        4,
        1,
    )
    assert set(status.stopping) == set(STOPPING_RULES)
    expected = STOPPING_RULES["consecutive-exclusions"](np.array([1, 0, 0]), 16, 0.95, 0.95)
    assert status.stopping["consecutive-exclusions"] == expected
    assert status.scores_stale


@pytest.mark.parametrize("suffix", [".csv", ".jsonl", ".ris", ".parquet"])
def test_export_round_trip(project, tmp_path, suffix):
    project.decide("on0", "include", note="clear yes")
    project.decide("off0", "exclude", reason="youth_only")
    out = project.export(tmp_path / f"out{suffix}")
    frame = import_records([out], dedup=False).records.frame.set_index("record_id")
    assert len(frame) == 16  # unlabelled records too
    assert frame.loc["on0", "included"] == 1 and frame.loc["off0", "included"] == 0
    assert frame.loc["off0", "exclusion_reason"] == "youth_only"
    assert frame["included"].isna().sum() == 14
    table = project.export_frame().set_index("record_id")
    assert table.loc["on0", "note"] == "clear yes" and table.loc["on0", "decided_at"]
    assert table.loc["on1", "screening_status"] == "unscreened"
    assert table.loc["on1", "decided_at"] is None
    assert table.loc["on0", "doi"] == "10.5555/on.0" and table.loc["on0", "Source DB"] == "x"


def test_config_change_and_loss_are_noticed(tmp_path):
    config = tmp_path / "review.toml"
    shutil.copy(DEFAULT_CONFIG, config)
    source = write_records(tmp_path / "r.csv", 2, 2)
    create_project(tmp_path / "p.screen", [source], config=config)[0].close()
    config.write_text(config.read_text() + "\n# edited\n")
    with open_project(tmp_path / "p.screen") as project:
        assert "youth_only" in project.protocol.exclusion_codes
        assert "changed" in project.config_note
    config.unlink()
    with open_project(tmp_path / "p.screen") as project:
        project.decide("off0", "exclude", reason="youth_only")  # the stored copy still knows
        assert "copy stored" in project.config_note


# -- durability -----------------------------------------------------------------------------
CHILD = """
import sys, time
from pathlib import Path
from peerscreen.screening import learner
from peerscreen.cli import app

def stall(self, labelled, labels):
    Path(sys.argv[2]).write_text("retraining")
    time.sleep(120)

learner.ActiveLearner.scored = stall  # the retrain of a project
app(["screen", "label", sys.argv[1], "off4", "exclude", "--reason", "youth_only"])
"""


def test_kill_during_retrain_loses_no_decision(project_path, tmp_path):
    marker = tmp_path / "retraining"
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(project_path), str(marker)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        while not marker.exists():
            assert child.poll() is None, child.communicate()
            assert time.monotonic() < deadline, "child never started retraining"
            time.sleep(0.05)
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=10)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.returncode == -signal.SIGKILL
    with open_project(project_path) as project:
        (decision,) = project.decisions()
        assert (decision.record_id, decision.action, decision.reason) == (
            "off4",
            "exclude",
            "youth_only",
        )
        assert project.scores_stale()  # the retrain never finished; resuming redoes it
        project.fresh_scores()
        assert not project.scores_stale()
    check = sqlite3.connect(project_path).execute("PRAGMA integrity_check").fetchone()[0]
    assert check == "ok"


# -- calibrated p_include, stopping advice, exclusion counts (issue 16) ----------------------
def test_retrain_stores_a_calibrated_p_include_and_decisions_record_it(project_path):
    with open_project(project_path) as project:
        for rid, action in (("on0", "include"), ("off0", "exclude"), ("on1", "include")):
            project.decide(rid, action)
        project.decide("off1", "exclude")
        scores = project.retrain()
    assert scores.probabilities is not None
    assert np.all((scores.probabilities > 0) & (scores.probabilities < 1))
    with open_project(project_path) as project:  # stored, read back in a new process
        stored = project.scores()
        np.testing.assert_array_equal(stored.probabilities, scores.probabilities)
        p_on, p_off = (
            stored.p_include(project.position("on6")),
            stored.p_include(project.position("off6")),
        )
        assert p_on > 0.5 > p_off  # the ranking score sat near 0.6 for both before
        # the ranking is the model's own score, not the calibrated one
        assert not np.allclose(stored.values, stored.probabilities)
        assert project.decide("on6", "include").p_include == pytest.approx(p_on)
        frame = project.export_frame()
    exported = frame.set_index("record_id")["p_include"]
    assert exported["off6"] == pytest.approx(p_off, abs=1e-4)


def test_status_counts_exclusions_per_reason_and_skips_as_unscreened(project):
    project.decide("on0", "include")
    project.decide("off0", "exclude", reason="youth_only")
    project.decide("off1", "exclude", reason="youth_only")
    project.decide("off2", "exclude")
    project.decide("off3", "skip")
    project.decide("off4", "exclude", reason="not_original")
    project.decide("off4", "skip")  # relabelled: no longer an exclusion
    status = project.status()
    assert status.exclusion_reasons["youth_only"] == 2
    assert status.exclusion_reasons["not_original"] == 0  # listed though unused
    assert list(status.exclusion_reasons) == list(project.protocol.exclusion_codes)
    assert status.n_excluded_no_reason == 1
    assert sum(status.exclusion_reasons.values()) + status.n_excluded_no_reason == 3
    # the two skipped records are not screened: still to screen, not in the stopping input
    assert (status.n_labelled, status.n_skipped, status.n_unscreened) == (4, 2, 12)
    assert status.advice is not None and status.advice.n_screened == 4
    assert status.advice.n_unscreened == 12
