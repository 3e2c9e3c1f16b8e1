"""Screening retrain speed: ms per decision (commit + retrain + store scores) at 5,000 records.

Target (screening issue): under 1 s per retrain at 5,000 records. Run with
`python benchmarks/screen_retrain.py [--records N] [--decisions K] [--labelled L]`.

Abstracts are generated from a Zipf-distributed vocabulary of 20,000 made-up words plus a
few domain words (a realistic number of distinct n-grams, which is what a retrain's cost
depends on). The project starts with L labelled records; the feature matrix is built once
per process (reported separately), then each of K decisions is timed: the commit, the
refit on all labels, and the write of the new scores.
"""

from __future__ import annotations

import argparse
import csv
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from peerscreen.io.ingest import import_records
from peerscreen.screening import create_project

_VOCABULARY = (
    "peer support mental health recovery group service outcome randomized trial patients "
    "community psychiatric consumer provider hospitalization quality life symptoms self-help "
    "empowerment employment social network case management illness severe adolescents online"
)
_DOMAIN = _VOCABULARY.split()


def generate(path: Path, n: int, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    vocabulary = np.array([f"w{i:05d}" for i in range(20_000)] + _DOMAIN)
    weights = 1 / np.arange(1, len(vocabulary) + 1)
    rng.shuffle(weights)
    weights /= weights.sum()
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "title", "abstract", "year"])
        for i in range(n):
            title = " ".join(rng.choice(vocabulary, 10, p=weights))
            abstract = " ".join(rng.choice(vocabulary, int(rng.integers(150, 250)), p=weights))
            writer.writerow(
                [f"r{i}", f"Study {i}: {title}", abstract, int(rng.integers(1980, 2010))]
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=5_000)
    parser.add_argument("--decisions", type=int, default=20)
    parser.add_argument("--labelled", type=int, default=200, help="Labels before timing.")
    parser.add_argument(
        "--files",
        nargs="+",
        type=Path,
        help="Real exports instead of generated abstracts (their first --records records), "
        "e.g. ../shared/data/benchmarks/*.csv",
    )
    args = parser.parse_args()
    rng = np.random.default_rng(1)
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "records.csv"
        if args.files:
            frame = import_records(args.files).records.frame.head(args.records)
            frame[["record_id", "title", "abstract", "year"]].to_csv(source, index=False)
        else:
            generate(source, args.records)
        start = time.perf_counter()
        project, _ = create_project(Path(tmp) / "bench.screen", [source])
        print(
            f"init ({project.n_records} records: import, flags, cold start): "
            f"{time.perf_counter() - start:.1f} s"
        )
        ids = project.record_ids
        picks = rng.permutation(len(ids))
        for k, position in enumerate(picks[: args.labelled]):
            project.decide(ids[position], "include" if k % 5 == 0 else "exclude")
        start = time.perf_counter()
        project.learner()
        print(f"feature matrix (once per process): {time.perf_counter() - start:.2f} s")
        times = []
        for k, position in enumerate(picks[args.labelled : args.labelled + args.decisions]):
            start = time.perf_counter()
            project.decide(ids[position], "include" if k % 5 == 0 else "exclude")
            scores = project.retrain()
            times.append(time.perf_counter() - start)
        project.close()
    assert scores.kind == "model"
    print(
        f"retrain at {len(ids)} records, {args.labelled}-{args.labelled + args.decisions} "
        f"labels: median {statistics.median(times) * 1000:.0f} ms per decision "
        f"(max {max(times) * 1000:.0f} ms, {len(times)} decisions; target < 1000 ms)"
    )


if __name__ == "__main__":
    main()
