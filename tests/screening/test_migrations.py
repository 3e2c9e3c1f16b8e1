"""Project files made by the release before the team store open and are migrated in place,
keeping every decision, its undo and the stored scores."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest
import sqlalchemy as sa

from peerscreen.screening import schema
from peerscreen.screening.database import open_database
from peerscreen.screening.project import open_project
from peerscreen.screening.store import ScreeningError

LEGACY = Path(__file__).resolve().parents[1] / "fixtures" / "legacy" / "legacy_0fd51c1.peerscreen"


@pytest.fixture
def legacy(tmp_path) -> Path:
    copy = tmp_path / "review.peerscreen"
    shutil.copy(LEGACY, copy)
    return copy


def test_a_legacy_project_opens_with_its_decisions_undo_and_scores(legacy):
    with open_project(legacy) as project:
        assert (project.name, project.mode, project.n_records) == ("review", "single", 6)
        log = project.decisions(include_undone=True)
        assert [(d.seq, d.record_id, d.action, d.undone) for d in log] == [
            (1, "scopus-1", "include", False),
            (2, "scopus-3", "exclude", False),
            (3, "wos-3", "exclude", False),
            (4, "wos-1", "include", True),
        ]
        assert log[0].note == "peer specialists"
        assert log[1].reason == "not_peer_support"
        assert {d.screener for d in log} == {None} and {d.mode for d in log} == {"single"}
        state = project.label_state()
        assert state.revision == 5
        scores = project.scores()
        assert (scores.kind, scores.revision) == ("model", 5)
        assert not project.scores_stale(state)
        assert project.status().n_labelled == 3


def test_the_migration_happens_once_in_place_and_the_file_stays_a_project(legacy):
    open_project(legacy).close()
    conn = sqlite3.connect(legacy)
    try:
        meta = dict(conn.execute("SELECT key, value FROM meta"))
        versions = conn.execute("SELECT version_num FROM alembic_version").fetchall()
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        conn.close()
    assert meta["schema_version"] == str(schema.SCHEMA_VERSION)
    assert versions == [("0002",)]
    assert not any(t.startswith("legacy_") for t in tables)
    with open_project(legacy) as project:  # a second open migrates nothing
        decision = project.decide("wos-2", "include", screener="ann")
        assert decision.seq == 5  # the sequence goes on after the migrated decisions
        assert len(project.decisions(include_undone=True)) == 5


def test_migrated_decisions_stay_append_only(legacy):
    open_project(legacy).close()
    conn = sqlite3.connect(legacy)
    try:
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            conn.execute("DELETE FROM decisions")
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            conn.execute("UPDATE decisions SET action = 'exclude' WHERE seq = 1")
        with pytest.raises(sqlite3.DatabaseError, match="undone once"):
            conn.execute("UPDATE decisions SET undone = 0 WHERE seq = 4")
    finally:
        conn.close()


def test_a_legacy_file_without_probabilities_migrates(legacy):
    conn = sqlite3.connect(legacy)
    conn.execute("ALTER TABLE model_state DROP COLUMN probabilities")
    conn.commit()
    conn.close()
    with open_project(legacy) as project:
        assert project.scores().probabilities is None
        assert project.scores().revision == 5


def test_a_failed_migration_leaves_the_file_as_it_was(legacy, monkeypatch):
    before = legacy.read_bytes()
    from peerscreen.screening import schema as tables

    def broken(_conn):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(tables, "create_triggers", broken)
    with pytest.raises(RuntimeError, match="disk on fire"):
        open_project(legacy)
    monkeypatch.undo()
    conn = sqlite3.connect(legacy)
    try:
        assert conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone() == (
            "1",
        )
        assert conn.execute("SELECT COUNT(*) FROM decisions").fetchone() == (4,)
    finally:
        conn.close()
    with open_project(legacy) as project:  # and opens (migrates) fine afterwards
        assert project.n_records == 6 and len(project.decisions(include_undone=True)) == 4
    assert before


def test_a_newer_schema_is_refused(tmp_path):
    path = tmp_path / "new.db"
    database = open_database(path, create=True)
    with database.begin() as conn:
        conn.execute(
            sa.update(schema.meta).where(schema.meta.c.key == "schema_version").values(value="99")
        )
    database.dispose()
    with pytest.raises(ScreeningError, match="newer peerscreen"):
        open_database(path)


def test_a_fresh_database_on_both_servers_has_the_guards(database_url):
    database = open_database(database_url, create=True)
    try:
        with database.read() as conn:
            version = conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
        assert version == "0002"
        assert open_database(database_url).dialect == database.dialect  # opens again as is
    finally:
        database.dispose()
