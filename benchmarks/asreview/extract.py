"""Turn ASReview LAB 3.0.8 simulation projects into plain labelling orders.

Usage: python extract.py DATA_DIR WORK_DIR [NAME_sS ...]

For each WORK_DIR/NAME_sS.asreview (a zip with `results.db`, a SQLite file) this writes

- WORK_DIR/NAME_sS.order.csv   step,record_id,label,prior   (every labelled record, in order,
  priors first; record_id is the CSV's own `record_id` column)
- WORK_DIR/NAME_sS.priors.txt  comma-separated CSV record_ids of the prior records
- WORK_DIR/NAME_sS.meta.json   counts and ASReview's own timing, for compare.py

What the 3.0.8 project holds (checked on the real files):

- table `record`: one row per dataset row; `dataset_row` is the 0-based pandas row index of
  the CSV (ASReview reads it with `pd.read_csv(sep=None, engine="python")`), `record_id` is
  ASReview's own integer id (it ignores the CSV's `record_id` column), `included` the label
  it read from `label_included`.
- table `results`: one row per labelling action, inserted in labelling order (we sort by
  SQLite rowid, then `time`); prior records have `training_set` NULL and no classifier.

Stdlib only (no asreview, no pandas), so any Python 3 can run it. Every run checks the id
mapping: ASReview's label for each record must equal the CSV's `label_included` on the row we
map it to, and titles must agree, or the script stops.
"""

from __future__ import annotations

import csv
import json
import sqlite3
import sys
import tempfile
import zipfile
from pathlib import Path

csv.field_size_limit(sys.maxsize)


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _norm(text: str | None) -> str:
    return " ".join((text or "").split()).lower()


def open_results(project: Path, tmp: Path) -> sqlite3.Connection:
    with zipfile.ZipFile(project) as zf:
        names = [n for n in zf.namelist() if n.endswith("results.db")]
        if len(names) != 1:
            raise SystemExit(f"{project}: expected one results.db, found {names}")
        target = tmp / (project.stem + ".db")
        target.write_bytes(zf.read(names[0]))
    return sqlite3.connect(target)


def extract(name_seed: str, data_dir: Path, work_dir: Path, tmp: Path) -> dict:
    dataset = name_seed.rsplit("_s", 1)[0]
    rows = read_csv(data_dir / f"{dataset}.csv")
    con = open_results(work_dir / f"{name_seed}.asreview", tmp)

    # ASReview record id -> CSV row, via dataset_row (0-based row of the CSV).
    records = con.execute(
        "SELECT record_id, dataset_row, included, title, abstract, duplicate_of FROM record"
    ).fetchall()
    if len(records) != len(rows):
        raise SystemExit(
            f"{name_seed}: ASReview has {len(records)} records, CSV has {len(rows)} rows"
        )
    to_csv: dict[int, dict[str, str]] = {}
    title_mismatch = 0
    for rec_id, row_idx, included, title, _abstract, _dup in records:
        row = rows[row_idx]
        if int(row["label_included"]) != int(included):
            raise SystemExit(
                f"{name_seed}: label mismatch at ASReview record {rec_id} / CSV row {row_idx}"
            )
        if _norm(title) != _norm(row["title"]):
            title_mismatch += 1
        to_csv[rec_id] = row
    if title_mismatch:
        raise SystemExit(
            f"{name_seed}: {title_mismatch} titles differ between ASReview and the CSV"
        )
    n_duplicates = sum(1 for r in records if r[5] is not None)
    no_text = {r[0] for r in records if not _norm(r[3]) and not _norm(r[4])}

    labelled = con.execute(
        "SELECT record_id, label, training_set, time FROM results ORDER BY rowid"
    ).fetchall()
    times = [t for *_, t in labelled]
    if times != sorted(times):
        raise SystemExit(f"{name_seed}: rowid order and time order disagree")
    order_path = work_dir / f"{name_seed}.order.csv"
    priors: list[str] = []
    seen_model = False
    with order_path.open("w", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(["step", "record_id", "label", "prior"])
        for step, (rec_id, label, training_set, _t) in enumerate(labelled, start=1):
            row = to_csv[rec_id]
            prior = training_set is None
            if prior and seen_model:
                raise SystemExit(f"{name_seed}: prior record after model-chosen records")
            seen_model = seen_model or not prior
            if int(label) != int(row["label_included"]):
                raise SystemExit(f"{name_seed}: label of {row['record_id']} differs from the CSV")
            if prior:
                priors.append(row["record_id"])
            out.writerow([step, row["record_id"], int(label), int(prior)])
    (work_dir / f"{name_seed}.priors.txt").write_text(",".join(priors) + "\n")

    labels = [int(r["label_included"]) for r in rows]
    screened_no_text = [i for i, (rec_id, *_rest) in enumerate(labelled) if rec_id in no_text]
    meta = {
        "name": name_seed,
        "dataset": dataset,
        "n_records": len(rows),
        "n_included": sum(labels),
        "n_labelled": len(labelled),
        "priors": priors,
        "n_duplicates_flagged": n_duplicates,
        "n_no_text": len(no_text),
        "n_no_text_included": sum(int(to_csv[r]["label_included"]) for r in no_text),
        "no_text_steps": [i + 1 for i in screened_no_text],
        # ASReview's own clock: first to last label (excludes CLI start-up and feature extraction).
        "labelling_seconds": (times[-1] - times[0]) if times else 0.0,
    }
    (work_dir / f"{name_seed}.meta.json").write_text(json.dumps(meta, indent=1) + "\n")
    con.close()
    return meta


def main(argv: list[str]) -> None:
    if len(argv) < 2:
        raise SystemExit(__doc__)
    data_dir, work_dir = Path(argv[0]), Path(argv[1])
    names = argv[2:] or sorted(p.stem for p in work_dir.glob("*.asreview"))
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            meta = extract(name, data_dir, work_dir, Path(tmp))
            print(
                f"{name}: {meta['n_labelled']} labelled of {meta['n_records']}, "
                f"priors {','.join(meta['priors'])}, no-text records {meta['n_no_text']} "
                f"({meta['n_no_text_included']} included)"
            )


if __name__ == "__main__":
    main(sys.argv[1:])
