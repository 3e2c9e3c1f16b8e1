"""Fixtures for the web app: a team database (SQLite and PostgreSQL), accounts, a project,
and signed-in test clients."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from peerscreen.screening import accounts
from peerscreen.screening.creation import create_project_in
from peerscreen.screening.database import open_database
from peerscreen.web import create_app

PASSWORD = "correct horse battery"
ON = (
    "Peer support group {i} for adults with schizophrenia",
    "Peer specialists with lived experience gave mutual help to adults with severe mental "
    "illness; recovery and hope improved in study {i}.",
)
OFF = (
    "Internet forum {i} for adolescents with asthma",
    "A web-based program for teenagers aged 12-17 with asthma; adherence was measured {i}.",
)


def write_records(path: Path, n: int = 30, extra: dict[int, str] | None = None) -> Path:
    """`n` records, alternately on and off topic; `extra` replaces titles by index."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "title", "abstract", "year"])
        for i in range(n):
            title, abstract = (t.format(i=i) for t in (ON if i % 2 == 0 else OFF))
            writer.writerow([f"r{i}", (extra or {}).get(i, title), abstract, 2005 + i % 10])
    return path


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf-token" content="([0-9a-f]+)"', html)
    assert match, "no CSRF token in the page"
    return match.group(1)


def sign_in(client: TestClient, name: str, password: str = PASSWORD):
    token = csrf_of(client.get("/signin").text)
    return client.post(
        "/signin",
        data={"name": name, "password": password, "csrf_token": token},
        follow_redirects=False,
    )


class Team:
    """A database with one single-mode and one dual-mode project and four users."""

    def __init__(self, database, tmp_path: Path):
        self.database = database
        records = write_records(tmp_path / "records.csv")
        self.single, _ = create_project_in(database, "single-review", [records])
        self.dual, _ = create_project_in(database, "dual-review", [records], mode="dual")
        self.admin = accounts.add_user(database, "olga", PASSWORD, admin=True)
        self.ann = accounts.add_user(
            database, "ann", PASSWORD, role="screener", project_id=self.single.id
        )
        accounts.grant(database, self.ann, self.dual.id, "screener")
        self.bob = accounts.add_user(
            database, "bob", PASSWORD, role="screener", project_id=self.dual.id
        )
        self.app = create_app(database, max_upload_bytes=200_000, retrain_in_process=False)

    def client(self, name: str | None = None) -> TestClient:
        client = TestClient(self.app, raise_server_exceptions=False)
        if name is not None:
            response = sign_in(client, name)
            assert response.status_code == 303, response.text
        return client


@pytest.fixture
def team(database_url, tmp_path):
    database = open_database(database_url, create=True)
    team = Team(database, tmp_path)
    yield team
    for service in team.app.state.web._services.values():
        service.worker.wait_idle(30)
    database.dispose()
