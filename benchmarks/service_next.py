"""Team screening latency: `next_for` and `decide` on a 20,000-record project.

Target (issue 13): the next record within 300 ms of a decision, retraining in the
background. This times the service calls alone (no HTTP): a project of `--records`
generated records (see `screen_retrain.generate`) with `--labelled` decisions made first,
then `--rounds` rounds in which `--screeners` threads each ask for a record and decide
it at the same moment (single mode; `--mode dual` for dual screening). Reports p50/p95/p99
of next_for and of decide, the number of records served twice (must be 0 in single mode)
and the background retrains done.

Run: `python benchmarks/service_next.py [--database URL] [--records 20000]`.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

from peerscreen.screening import database as team_database  # noqa: E402
from peerscreen.screening.creation import create_project_in  # noqa: E402
from peerscreen.screening.service import ScreeningService  # noqa: E402
from screen_retrain import generate  # noqa: E402


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def run(args: argparse.Namespace, folder: Path) -> None:
    records = folder / "records.csv"
    generate(records, args.records)
    target = args.database or str(folder / "bench.sqlite")
    started = time.perf_counter()
    database = team_database.open_database(target, create=True)
    project, _ = create_project_in(database, "bench", [records], mode=args.mode)
    print(f"created {args.records} records in {time.perf_counter() - started:.1f} s")
    service = ScreeningService(project)
    for i in range(args.labelled):
        service.decide("seed", f"r{i}", "include" if i % 10 == 0 else "exclude")
    service.retrain_now()
    service.worker.wait_idle(600)
    nexts: list[float] = []
    decides: list[float] = []
    served: list[str] = []
    barrier = threading.Barrier(args.screeners)

    def screener(name: str) -> None:
        for _ in range(args.rounds):
            barrier.wait()
            t0 = time.perf_counter()
            record = service.next_for(name)
            t1 = time.perf_counter()
            service.decide(name, record.record_id, "exclude")
            t2 = time.perf_counter()
            nexts.append(t1 - t0)
            decides.append(t2 - t1)
            served.append(record.record_id)

    threads = [threading.Thread(target=screener, args=(f"s{i}",)) for i in range(args.screeners)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    service.worker.wait_idle(600)
    twice = len(served) - len(set(served))
    print(f"database: {database.dialect}, mode {args.mode}, {args.screeners} screeners")
    for label, values in (("next_for", nexts), ("decide", decides)):
        ms = [v * 1000 for v in values]
        print(
            f"{label}: n={len(ms)} p50={statistics.median(ms):.1f} ms "
            f"p95={percentile(ms, 0.95):.1f} ms p99={percentile(ms, 0.99):.1f} ms"
        )
    print(f"decisions/s: {len(decides) / elapsed:.1f}; served twice: {twice}")
    print(f"background retrains: {service.worker.retrains}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", help="SQLAlchemy URL (default: a temporary SQLite file)")
    parser.add_argument("--records", type=int, default=20_000)
    parser.add_argument("--labelled", type=int, default=200)
    parser.add_argument("--screeners", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=25)
    parser.add_argument("--mode", choices=("single", "dual"), default="single")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        run(args, Path(folder))


if __name__ == "__main__":
    main()
