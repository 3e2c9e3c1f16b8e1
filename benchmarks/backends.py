"""Every registered backend on the team's corpus: cross-validated quality, training time and
ranking speed, as one markdown table (`benchmarks/results/backends.md`).

Quality: `peerscreen train`'s 5-fold cross-validation (grouped by near-duplicates) on
`data/corpus/peer_support.jsonl` (synthetic, written by the team). Training time: the whole
`train` call (5 folds plus the final fit), MiniLM embeddings already cached (they are
computed once per text, whatever the backend). Ranking speed: `ReviewModel.predict` on
`--rank-records` generated abstract-length records, with an EMPTY embedding cache, so the
MiniLM backends pay for embedding every new record as a real ranking would.

Run: `python benchmarks/backends.py [--backends a,b] [--rank-records 1000]`.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

from import_speed import WORDS  # noqa: E402
from peerscreen.io.ingest import import_records  # noqa: E402
from peerscreen.io.records import RecordSet  # noqa: E402
from peerscreen.paths import DEFAULT_CORPUS  # noqa: E402
from peerscreen.reporting import markdown_table  # noqa: E402
from peerscreen.review.embeddings import minilm_available  # noqa: E402
from peerscreen.review.models import BACKENDS  # noqa: E402
from peerscreen.review.protocol import load_protocol  # noqa: E402
from peerscreen.review.training import train  # noqa: E402

METRICS = {
    "inclusion_roc_auc": "ROC-AUC",
    "inclusion_average_precision": "AP",
    "inclusion_wss95": "WSS@95",
    "inclusion_work_saved_at_recall95": "work saved @95",
    "category_macro_f1": "category macro-F1",
    "outcomes_micro_f1": "outcomes micro-F1",
    "outcomes_macro_f1": "outcomes macro-F1",
}


def generated_records(n: int, seed: int = 1) -> RecordSet:
    rng = random.Random(seed)
    return RecordSet.from_columns(
        {
            "record_id": [f"gen{i}" for i in range(n)],
            "title": [" ".join(rng.choice(WORDS) for _ in range(10)) for _ in range(n)],
            "abstract": [
                " ".join(rng.choice(WORDS) for _ in range(rng.randint(150, 250))) for _ in range(n)
            ],
        }
    )


def measure(backend: str, records: RecordSet, new: RecordSet) -> dict:
    protocol = load_protocol()
    start = time.perf_counter()
    result = train(records, protocol, backend=backend, seed=0)
    train_seconds = time.perf_counter() - start
    with tempfile.TemporaryDirectory() as empty_cache:
        previous = os.environ.get("PEERSCREEN_CACHE")
        os.environ["PEERSCREEN_CACHE"] = empty_cache
        try:
            start = time.perf_counter()
            result.model.predict(new)
            rank_seconds = time.perf_counter() - start
        finally:
            if previous is None:
                os.environ.pop("PEERSCREEN_CACHE", None)
            else:
                os.environ["PEERSCREEN_CACHE"] = previous
    row = {"backend": backend}
    row.update({label: result.metrics.get(key, float("nan")) for key, label in METRICS.items()})
    row["train s"] = train_seconds
    row["rank records/s"] = len(new) / rank_seconds
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", default=",".join(sorted(BACKENDS)))
    parser.add_argument("--rank-records", type=int, default=1000)
    parser.add_argument("--output", type=Path, default=ROOT / "benchmarks/results/backends.md")
    args = parser.parse_args()
    records = import_records([DEFAULT_CORPUS]).records
    new = generated_records(args.rank_records)
    rows = []
    for backend in args.backends.split(","):
        if "minilm" in backend and not minilm_available():
            print(f"skip {backend}: transformers extra not installed")
            continue
        print(f"{backend} ...", flush=True)
        rows.append(measure(backend, records, new))
        print(rows[-1], flush=True)
    table = pd.DataFrame(rows).sort_values("WSS@95", ascending=False)
    text = (
        "## Backends on the team's corpus (5-fold CV)\n\n"
        f"Command: `python benchmarks/backends.py --backends {args.backends} "
        f"--rank-records {args.rank_records}`. Corpus: {len(records)} synthetic records "
        f"({int(records.frame['included'].sum())} included). Ranking speed: "
        f"{len(new)} generated records, empty embedding cache.\n\n" + markdown_table(table)
    )
    args.output.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
