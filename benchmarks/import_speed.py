"""Import speed: a generated 100k-record CSV and 100k-record RIS file.

Targets (issue 2): >= 50,000 records/s for CSV and >= 20,000 records/s for RIS on the
2-core development machine. Run with `make bench-import` or
`python benchmarks/import_speed.py [--records N]`. Reports read+clean time and the full
import (with deduplication) separately.
"""

from __future__ import annotations

import argparse
import csv
import random
import statistics
import tempfile
import time
from pathlib import Path

from peerscreen.io.ingest import import_records

_VOCABULARY = (
    "peer support mental health recovery group service outcome randomized trial patients "
    "community psychiatric consumer provider hospitalization quality life symptoms self-help "
    "empowerment employment social network case management illness severe"
)
WORDS = _VOCABULARY.split()


def _abstract(rng: random.Random) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(150, 250)))


def generate(folder: Path, n: int, seed: int = 0) -> tuple[Path, Path]:
    rng = random.Random(seed)
    csv_path, ris_path = folder / "records.csv", folder / "records.ris"
    with (
        csv_path.open("w", newline="", encoding="utf-8") as handle,
        ris_path.open("w", encoding="utf-8") as ris,
    ):
        writer = csv.writer(handle)
        writer.writerow(["title", "abstract", "authors", "year", "journal", "doi", "keywords"])
        for i in range(n):
            title = f"Study {i}: " + " ".join(rng.choice(WORDS) for _ in range(10))
            abstract = _abstract(rng)
            year = rng.randint(1980, 2020)
            doi = f"10.5555/bench.{i}"
            writer.writerow(
                [
                    title,
                    abstract,
                    "Smith, J.; Doe, K.",
                    year,
                    "Journal of Studies",
                    doi,
                    "peer; support",
                ]
            )
            ris.write(
                f"TY  - JOUR\nTI  - {title}\nAU  - Smith, J.\nAU  - Doe, K.\nPY  - {year}\n"
                f"JO  - Journal of Studies\nAB  - {abstract}\nDO  - {doi}\n"
                "KW  - peer\nKW  - support\nER  - \n\n"
            )
    return csv_path, ris_path


def measure(path: Path, dedup: bool, repeats: int = 3) -> tuple[int, float]:
    """Median wall time of `repeats` imports (the machine is shared; medians are stable)."""
    times, n = [], 0
    for _ in range(repeats):
        start = time.perf_counter()
        n = import_records([path], dedup=dedup).n_records
        times.append(time.perf_counter() - start)
    return n, statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        csv_path, ris_path = generate(Path(tmp), args.records)
        print(
            f"generated {args.records:,} records: CSV {csv_path.stat().st_size / 1e6:.0f} MB, "
            f"RIS {ris_path.stat().st_size / 1e6:.0f} MB"
        )
        print("| format | step | records | seconds | records/s | target |")
        print("|---|---|---:|---:|---:|---:|")
        for name, path, target in (("CSV", csv_path, 50_000), ("RIS", ris_path, 20_000)):
            for dedup in (False, True):
                n, seconds = measure(path, dedup)
                step = "read + clean + dedup" if dedup else "read + clean"
                print(
                    f"| {name} | {step} | {n:,} | {seconds:.2f} | {n / seconds:,.0f} | {target:,} |"
                )


if __name__ == "__main__":
    main()
