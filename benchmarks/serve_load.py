"""Load on the team server: simulated screeners label a large project over HTTP.

Starts `peerscreen serve` (uvicorn, one process, as a team runs it) on a database holding
one `--records`-record project (generated records, see `screen_retrain.generate`), signs in
`--screeners` accounts, and lets each label for `--seconds`: an async HTTP client per
screener asks for its next record, reads it for `--think` seconds on average (uniform
between half and one and a half times that; a person takes 5-30 s, so 1 s is 5 to 30
times a real team's pace; `--think 0` labels as fast as the server answers, a stress test
whose latency is queueing), then posts the decision, whose answer carries the next record.
Reports decisions/s, the p50/p95/p99
latency of decide+next (one round trip), errors, and, read back from the database, lost
decisions (acknowledged but not stored) and duplicated ones (a record decided by two
screeners in single mode). Target (issue 13): 0 errors, 0 lost or duplicated, p95 under
300 ms on this machine, on SQLite and on PostgreSQL.

    .venv/bin/python benchmarks/serve_load.py [--database URL] [--records 20000]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

from peerscreen.screening import accounts  # noqa: E402
from peerscreen.screening.creation import create_project_in  # noqa: E402
from peerscreen.screening.database import open_database  # noqa: E402
from peerscreen.screening.project import open_project  # noqa: E402
from screen_retrain import generate  # noqa: E402

PASSWORD = "load-test-password"
SERVE = "from peerscreen.cli import main; main()"


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def prepare(url: str, records: int, screeners: int, folder: Path) -> int:
    source = folder / "records.csv"
    started = time.perf_counter()
    generate(source, records)
    database = open_database(url, create=True)
    project, _ = create_project_in(database, "load", [source])
    for i in range(screeners):
        accounts.add_user(database, f"s{i}", PASSWORD, role="screener", project_id=project.id)
    database.dispose()
    print(f"project of {records:,} records made in {time.perf_counter() - started:.0f} s")
    return project.id


async def _sign_in(base: str, name: str) -> tuple[httpx.AsyncClient, str]:
    client = httpx.AsyncClient(base_url=base, timeout=30)
    page = (await client.get("/signin")).text
    token = re.search(r'name="csrf-token" content="(\w+)"', page)[1]
    await client.post("/signin", data={"name": name, "password": PASSWORD, "csrf_token": token})
    token = re.search(r'name="csrf-token" content="(\w+)"', (await client.get("/")).text)[1]
    return client, token


async def screener(base, name, project_id, until, think, latencies, acknowledged, errors) -> None:
    client, token = await _sign_in(base, name)
    try:
        record = (await client.get(f"/api/projects/{project_id}/next")).json()["record_id"]
        rng = np.random.default_rng(int(name[1:]))
        while record is not None and time.monotonic() < until:
            action = "include" if rng.random() < 0.05 else "exclude"
            if think:
                await asyncio.sleep(think * rng.uniform(0.5, 1.5))
            started = time.perf_counter()
            try:
                answer = await client.post(
                    f"/api/projects/{project_id}/decisions",
                    json={"record_id": record, "action": action},
                    headers={"X-CSRF-Token": token},
                )
            except httpx.HTTPError as exc:
                errors.append(f"{name}: {type(exc).__name__}")
                continue
            latencies.append(time.perf_counter() - started)
            if answer.status_code != 200:
                errors.append(f"{name}: HTTP {answer.status_code} {answer.text[:120]}")
                continue
            payload = answer.json()
            acknowledged.append(payload["saved"])
            record = payload["record_id"]
    finally:
        await client.aclose()


async def load(base, project_id, screeners, seconds, think):
    latencies, acknowledged, errors = [], [], []
    until = time.monotonic() + seconds
    started = time.perf_counter()
    await asyncio.gather(
        *(
            screener(base, f"s{i}", project_id, until, think, latencies, acknowledged, errors)
            for i in range(screeners)
        )
    )
    return latencies, acknowledged, errors, time.perf_counter() - started


def check(url: str, acknowledged: list[dict]) -> tuple[int, int]:
    with open_project(url, "load") as project:
        stored = {d.seq: d for d in project.decisions(include_undone=True)}
    lost = sum(1 for a in acknowledged if a["seq"] not in stored)
    records = [d.record_id for d in stored.values()]
    return lost, len(records) - len(set(records))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--database", help="SQLAlchemy URL of an EMPTY database (default: a temporary SQLite file)"
    )
    parser.add_argument("--records", type=int, default=20_000)
    parser.add_argument("--screeners", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--think", type=float, default=1.0, help="mean seconds per record")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        url = args.database or f"sqlite:///{Path(folder) / 'load.db'}"
        project_id = prepare(url, args.records, args.screeners, Path(folder))
        port = _port()
        server = subprocess.Popen(
            [sys.executable, "-c", SERVE, "serve", url, "--port", str(port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            for _ in range(300):
                try:
                    httpx.get(f"{base}/signin", timeout=1)
                    break
                except httpx.HTTPError:
                    time.sleep(0.2)
            latencies, acknowledged, errors, elapsed = asyncio.run(
                load(base, project_id, args.screeners, args.seconds, args.think)
            )
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=30)
        lost, duplicated = check(url, acknowledged)
    ms = np.array(latencies) * 1000
    dialect = url.split(":")[0].split("+")[0]
    print(
        f"database {dialect}, {args.records:,} records, {args.screeners} screeners, "
        f"{elapsed:.0f} s, {os.cpu_count()} cores"
    )
    print(f"decisions: {len(acknowledged):,} ({len(acknowledged) / elapsed:.1f}/s)")
    print(
        f"decide+next latency: p50 {np.percentile(ms, 50):.0f} ms, p95 "
        f"{np.percentile(ms, 95):.0f} ms, p99 {np.percentile(ms, 99):.0f} ms"
    )
    print(f"errors: {len(errors)}; lost decisions: {lost}; duplicated: {duplicated}")
    for error in errors[:5]:
        print("  ", error)


if __name__ == "__main__":
    main()
