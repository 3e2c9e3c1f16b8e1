"""A `kill -9` of the server while two screeners label loses no decision the browser was
told was saved (issue 13 item 5), on SQLite and PostgreSQL; the restarted server goes on
with the same sessions."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time

import httpx

from peerscreen.screening import accounts
from peerscreen.screening.creation import create_project_in
from peerscreen.screening.database import open_database
from peerscreen.screening.project import open_project
from tests.web.conftest import PASSWORD, write_records

SERVE = "from peerscreen.cli import main; main()"


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _start(url: str, port: int) -> subprocess.Popen:
    child = subprocess.Popen(
        [sys.executable, "-c", SERVE, "serve", url, "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 60
    while True:
        try:
            httpx.get(f"http://127.0.0.1:{port}/signin", timeout=1)
            return child
        except httpx.HTTPError:
            assert child.poll() is None, child.stderr.read().decode()
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.1)


def _signed_in(base: str, name: str) -> tuple[httpx.Client, str]:
    client = httpx.Client(base_url=base, timeout=10)
    token = re.search(r'name="csrf-token" content="(\w+)"', client.get("/signin").text)[1]
    client.post("/signin", data={"name": name, "password": PASSWORD, "csrf_token": token})
    token = re.search(r'name="csrf-token" content="(\w+)"', client.get("/").text)[1]
    return client, token


def _screen(client, token, project_id, acknowledged, stop) -> None:
    """Label until the server dies; keep every decision the server said was saved."""
    try:
        record = client.get(f"/api/projects/{project_id}/next").json()["record_id"]
        while record is not None and not stop.is_set():
            answer = client.post(
                f"/api/projects/{project_id}/decisions",
                json={"record_id": record, "action": "exclude"},
                headers={"X-CSRF-Token": token},
            )
            if answer.status_code != 200:
                return
            payload = answer.json()
            acknowledged.append(payload["saved"])
            record = payload["record_id"]
    except httpx.HTTPError:  # the server was killed mid-request: that one was not shown
        return


def test_kill_9_loses_no_saved_decision(database_url, tmp_path):
    database = open_database(database_url, create=True)
    project, _ = create_project_in(database, "crash", [write_records(tmp_path / "r.csv", 400)])
    for name in ("ann", "bob"):
        accounts.add_user(database, name, PASSWORD, role="screener", project_id=project.id)
    database.dispose()
    port = _port()
    base = f"http://127.0.0.1:{port}"
    server = _start(database_url, port)
    try:
        clients = [_signed_in(base, name) for name in ("ann", "bob")]
        acknowledged: list[dict] = []
        stop = threading.Event()
        threads = [
            threading.Thread(target=_screen, args=(c, t, project.id, acknowledged, stop))
            for c, t in clients
        ]
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 60
        while len(acknowledged) < 30 and time.monotonic() < deadline:
            time.sleep(0.02)
        os.kill(server.pid, signal.SIGKILL)
        server.wait(timeout=10)
        stop.set()
        for thread in threads:
            thread.join(timeout=20)
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
    assert server.returncode == -signal.SIGKILL
    assert len(acknowledged) >= 30
    with open_project(database_url, "crash") as reopened:
        stored = {d.seq: d for d in reopened.decisions(include_undone=True)}
        for saved in acknowledged:
            kept = stored.get(saved["seq"])
            assert kept is not None, f"decision {saved} was lost"
            assert (kept.record_id, kept.screener, kept.action) == (
                saved["record_id"],
                saved["screener"],
                "exclude",
            )
        records = [d.record_id for d in stored.values()]
        assert len(records) == len(set(records)), "a record was served to both screeners"
    restarted = _start(database_url, port)  # the same cookies still sign them in
    try:
        client = clients[0][0]
        again = client.get(f"/api/projects/{project.id}/next")
        assert again.status_code == 200 and again.json()["record_id"] is not None
    finally:
        restarted.send_signal(signal.SIGTERM)
        restarted.wait(timeout=20)
        for client, _ in clients:
            client.close()
