"""Where the screening loop loses: each benchmark review's traits beside each learner's WSS@95.

    .venv/bin/python benchmarks/review_traits.py benchmarks/results/learners/tfidf-lr-crossval.csv
    .venv/bin/python benchmarks/review_traits.py CROSSVAL.csv --write   # RESULTS.md section

Traits per review (from ../shared/data/benchmarks): records, inclusions, prevalence, the share
of records with no abstract (title only) and with no text at all, and how much the year says:
`year_auc`, the AUC of each record's five-year span's inclusion rate for telling inclusions
from exclusions. 0.5: the year says nothing, the inclusions span the search period like the
rest; near 1: the inclusions cluster in time. It is computed from all
the labels, so it describes the review; no learner sees it.

CROSSVAL.csv is the per-simulation table `peerscreen bench --grid ... --folds K` writes; each
grid point becomes a column of mean WSS@95 over seeds. The Spearman correlation of each
trait with each point's gain over the first point closes the table: which traits go with a
learner's losses.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from peerscreen.io.readers import read_file
from peerscreen.reporting import markdown_table

ROOT = Path(__file__).resolve().parent.parent
DATA = (ROOT.parent / "shared" / "data" / "benchmarks").resolve()
RESULTS_MD = ROOT / "benchmarks" / "RESULTS.md"
SECTION = "## Where the loop loses: review traits (issue 15)"
TRAITS = ["records", "inclusions", "prevalence", "title_only", "textless", "year_auc"]


def review_traits(path: Path) -> dict[str, float]:
    records, _ = read_file(path)
    frame = records.frame
    included = frame["included"].astype(int).to_numpy()
    title = frame["title"].fillna("").astype(str).str.strip() != ""
    abstract = frame["abstract"].fillna("").astype(str).str.strip() != ""
    years = pd.to_numeric(frame["year"], errors="coerce").to_numpy(dtype=float)
    return {
        "review": path.stem,
        "records": len(frame),
        "inclusions": int(included.sum()),
        "prevalence": float(included.mean()),
        "title_only": float((title & ~abstract).mean()),
        "textless": float((~title & ~abstract).mean()),
        "year_auc": year_auc(years, included),
    }


def year_auc(years: np.ndarray, included: np.ndarray) -> float:
    """AUC of each record's five-year span's inclusion rate for telling inclusions from
    exclusions, over records with a year: what the year tokens of the loop's year block
    could learn at best. (Leaving each record out of its own span's rate biases the AUC
    below 0.5 wherever one span holds most records.)"""
    known = ~np.isnan(years)
    labels = included[known]
    if labels.min(initial=1) == labels.max(initial=0):
        return float("nan")
    spans = (years[known] // 5).astype(int)
    rate = np.empty(len(labels))
    for span in np.unique(spans):
        members = spans == span
        n, hits = members.sum(), labels[members].sum()
        rate[members] = hits / n
    return float(roc_auc_score(labels, rate))


def learner_columns(crossval_csv: Path) -> pd.DataFrame:
    """Mean WSS@95 over seeds per review (rows) and grid point (columns, in run order)."""
    results = pd.read_csv(crossval_csv)
    order = list(dict.fromkeys(results["point"]))
    table = results.pivot_table(index="dataset", columns="point", values="wss95", aggfunc="mean")
    return table[order]


def traits_table(crossval_csv: Path, data_dir: Path = DATA) -> tuple[pd.DataFrame, pd.DataFrame]:
    traits = pd.DataFrame([review_traits(p) for p in sorted(data_dir.glob("*.csv"))])
    wss = learner_columns(crossval_csv)
    table = traits.merge(wss, left_on="review", right_index=True)
    base = wss.columns[0]
    correlations = []
    for point in wss.columns[1:]:
        gain = table[point] - table[base]
        row = {"gain": f"{point} - {base}"}
        row.update({t: gain.corr(table[t], method="spearman") for t in TRAITS})
        correlations.append(row)
    return table, pd.DataFrame(correlations)


def markdown(table: pd.DataFrame, correlations: pd.DataFrame, command: str) -> str:
    shown = table.copy()
    for column in shown.columns:
        if shown[column].dtype.kind == "f":
            shown[column] = shown[column].map(lambda v: f"{v:.3f}")
    return (
        f"{SECTION}\n\nCommand: `{command}`. Traits from the data (`year_auc`: how well "
        "closeness to the inclusions' median year tells inclusions apart; 0.5 = not at all); "
        "one column of mean WSS@95 (seeds 0-2) per learner or setting.\n\n"
        + markdown_table(shown)
        + "\n\nSpearman correlation over the 18 reviews of each point's gain (over the first "
        "point) with each trait:\n\n" + markdown_table(correlations.round(2)) + "\n"
    )


def write_section(text: str) -> None:
    current = RESULTS_MD.read_text()
    if SECTION in current:
        start = current.index(SECTION)
        following = current.find("\n## ", start + len(SECTION))
        end = len(current) if following < 0 else following + 1
        current = current[:start] + text + ("\n" if following >= 0 else "") + current[end:]
    else:
        current = current.rstrip() + "\n\n" + text
    RESULTS_MD.write_text(current)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("crossval_csv", type=Path)
    parser.add_argument("--data-dir", type=Path, default=DATA)
    parser.add_argument("--write", action="store_true", help="Fill the RESULTS.md section.")
    args = parser.parse_args()
    if not args.data_dir.is_dir():
        sys.exit(f"no benchmark data at {args.data_dir}")
    table, correlations = traits_table(args.crossval_csv, args.data_dir)
    command = "python benchmarks/review_traits.py " + " ".join(sys.argv[1:])
    text = markdown(table, correlations, command)
    print(text)
    if args.write:
        write_section(text)


if __name__ == "__main__":
    main()
