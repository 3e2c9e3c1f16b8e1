"""Outcome tags and the youth_only flag on real abstracts, against labels nobody here wrote.

Tags every SYNERGY record in ../shared/data/benchmarks that carries MeSH headings with a
review model (as `peerscreen tag` does) and compares:

- each outcome domain with silver labels derived from the MeSH headings NLM indexers
  assigned (`MESH_TO_DOMAIN`: the seven mapped domains of issue 14, then a few more where
  MeSH has a clear heading, reported apart so the headline stays the seven);
- the `youth_only` exclusion flag with MeSH age groups (Child, Adolescent or Infant, and no
  adult age group).

MeSH misses outcomes a study measured (indexers describe the topic, not every measure), so
precision against it is a floor rather than the truth; recall is closer to honest.

    .venv/bin/python benchmarks/outcomes_vs_mesh.py [--model models/default] [--write]

`--write` saves `benchmarks/results/outcomes_vs_mesh.{csv,md}` and replaces the section
between the `outcomes-vs-mesh` markers in `benchmarks/RESULTS.md`.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from peerscreen.io.readers import read_file
from peerscreen.reporting import markdown_table
from peerscreen.screening.datasets import BENCHMARK_DIR
from peerscreen.tracking import load_review_model

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "RESULTS.md"
START, END = "<!-- outcomes-vs-mesh:start -->", "<!-- outcomes-vs-mesh:end -->"

#: The seven domains the issue maps (the headline figures are over these).
CORE_MAP = {
    "quality_of_life": ("Quality of Life",),
    "hospitalization": ("Hospitalization", "Patient Readmission", "Length of Stay"),
    "satisfaction": ("Patient Satisfaction",),
    "social_support": ("Social Support",),
    "self_esteem_efficacy": ("Self Efficacy", "Self Concept"),
    "service_use_costs": ("Costs and Cost Analysis", "Health Care Costs", "Cost-Benefit Analysis"),
    "engagement_access": ("Patient Compliance", "Medication Adherence"),
}
#: Further domains with a clear MeSH heading (reported separately).
EXTRA_MAP = {
    "coping": ("Adaptation, Psychological",),
    "employment_education": ("Employment", "Employment, Supported", "Unemployment"),
    "recovery_hope": ("Hope", "Mental Health Recovery"),
    "empowerment": ("Power, Psychological",),
}
YOUTH = {"Child", "Adolescent", "Infant", "Child, Preschool", "Infant, Newborn"}
ADULT = {"Adult", "Young Adult", "Middle Aged", "Aged", "Aged, 80 and over"}


def silver_outcomes(mesh: list[str], mapping: dict[str, tuple[str, ...]]) -> set[str]:
    headings = set(mesh)
    return {domain for domain, names in mapping.items() if headings.intersection(names)}


def silver_youth(mesh: list[str]) -> bool:
    headings = set(mesh)
    return bool(headings & YOUTH) and not headings & ADULT


def predicted_outcomes(text: object) -> set[str]:
    if not isinstance(text, str):
        return set()
    return {part.strip() for part in re.split(r"[;|]", text) if part.strip()}


def has_flag(text: object, code: str) -> bool:
    """Whether the `exclusion_flags` text names `code` (entries read `code: "evidence" ...`)."""
    return (
        isinstance(text, str) and re.search(rf"(^|[;|]\s*){re.escape(code)}\s*:", text) is not None
    )


def load_records(files: list[Path]):
    """Each file's records that carry MeSH headings, as record sets."""
    for path in files:
        records, _ = read_file(path)
        frame = records.frame
        keep = np.flatnonzero([isinstance(m, list) and len(m) > 0 for m in frame["mesh"]])
        if len(keep):
            yield path.stem, records.take(keep)


def prf(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def score(rows: pd.DataFrame, mapping: dict[str, tuple[str, ...]]) -> pd.DataFrame:
    """Per domain precision, recall, F1, then micro and macro rows."""
    table = []
    totals = np.zeros(3, dtype=int)
    for domain in mapping:
        gold = rows["silver"].map(lambda s, d=domain: d in s)
        pred = rows["predicted"].map(lambda s, d=domain: d in s)
        tp, fp, fn = int((gold & pred).sum()), int((~gold & pred).sum()), int((gold & ~pred).sum())
        totals += (tp, fp, fn)
        p, r, f = prf(tp, fp, fn)
        table.append(
            {
                "domain": domain,
                "silver": int(gold.sum()),
                "tagged": int(pred.sum()),
                "precision": p,
                "recall": r,
                "f1": f,
            }
        )
    frame = pd.DataFrame(table)
    p, r, f = prf(*totals)
    micro = {
        "domain": "micro",
        "silver": int(frame["silver"].sum()),
        "tagged": int(frame["tagged"].sum()),
        "precision": p,
        "recall": r,
        "f1": f,
    }
    macro = {
        "domain": "macro",
        "silver": micro["silver"],
        "tagged": micro["tagged"],
        "precision": frame["precision"].mean(),
        "recall": frame["recall"].mean(),
        "f1": frame["f1"].mean(),
    }
    return pd.concat([frame, pd.DataFrame([micro, macro])], ignore_index=True)


def run(model_path: Path, files: list[Path]) -> dict:
    model = load_review_model(model_path)
    parts, per_file = [], []
    for name, records in load_records(files):
        predictions = model.predict(records, with_inclusion=False, top_terms=0)
        mesh = records.frame["mesh"].tolist()
        part = pd.DataFrame(
            {
                "dataset": name,
                "predicted": [predicted_outcomes(t) for t in predictions["outcomes"]],
                "core": [silver_outcomes(m, CORE_MAP) for m in mesh],
                "extra": [silver_outcomes(m, EXTRA_MAP) for m in mesh],
                "youth_silver": [silver_youth(m) for m in mesh],
                "youth_flag": [has_flag(t, "youth_only") for t in predictions["exclusion_flags"]],
            }
        )
        parts.append(part)
        per_file.append({"dataset": name, "records with MeSH": len(part)})
    rows = pd.concat(parts, ignore_index=True)
    core = score(rows.assign(silver=rows["core"]), CORE_MAP)
    extra = score(rows.assign(silver=rows["extra"]), EXTRA_MAP)
    gold, pred = rows["youth_silver"], rows["youth_flag"]
    p, r, f = prf(int((gold & pred).sum()), int((~gold & pred).sum()), int((gold & ~pred).sum()))
    youth = pd.DataFrame(
        [
            {
                "flag": "youth_only",
                "silver": int(gold.sum()),
                "flagged": int(pred.sum()),
                "precision": p,
                "recall": r,
                "f1": f,
            }
        ]
    )
    return {
        "core": core,
        "extra": extra,
        "youth": youth,
        "files": pd.DataFrame(per_file),
        "n": len(rows),
    }


def report(result: dict, model_path: Path) -> str:
    core = result["core"].set_index("domain")
    root = HERE.parent.resolve()
    resolved = model_path.resolve()
    shown = resolved.relative_to(root) if resolved.is_relative_to(root) else model_path
    lines = [
        f"Model `{shown}` (`make model`); {result['n']:,} SYNERGY records with MeSH headings "
        f"({', '.join(f'{r.dataset} {r._2:,}' for r in result['files'].itertuples())}). "
        "Command: `.venv/bin/python benchmarks/outcomes_vs_mesh.py --write`. "
        "Silver labels from MeSH: precision is a floor (MeSH misses measured outcomes).",
        "",
        f"Seven mapped domains: micro-F1 **{core.loc['micro', 'f1']:.3f}**, macro-F1 "
        f"{core.loc['macro', 'f1']:.3f}, lowest precision "
        f"{core.drop(['micro', 'macro'])['precision'].min():.3f}. youth_only F1 "
        f"**{result['youth']['f1'].iloc[0]:.3f}**.",
        "",
        markdown_table(result["core"]),
        "",
        "More domains with a clear MeSH heading (not in the headline):",
        "",
        markdown_table(result["extra"]),
        "",
        "youth_only against MeSH age groups (Child, Adolescent or Infant without an adult group):",
        "",
        markdown_table(result["youth"]),
    ]
    return "\n".join(lines) + "\n"


def write_results(text: str, result: dict) -> None:
    out = HERE / "results"
    out.mkdir(exist_ok=True)
    tables = [result["core"].assign(set="core"), result["extra"].assign(set="extra")]
    pd.concat(tables).to_csv(out / "outcomes_vs_mesh.csv", index=False, float_format="%.4f")
    (out / "outcomes_vs_mesh.md").write_text(text, encoding="utf-8")
    section = f"{START}\n## Outcome tags against MeSH (real abstracts)\n\n{text}{END}"
    current = RESULTS.read_text(encoding="utf-8")
    if START in current:
        head, _, rest = current.partition(START)
        _, _, tail = rest.partition(END)
        RESULTS.write_text(head + section + tail, encoding="utf-8")
    else:
        RESULTS.write_text(current.rstrip() + "\n\n" + section + "\n", encoding="utf-8")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, default=HERE.parent / "models" / "default")
    parser.add_argument("--data", type=Path, default=BENCHMARK_DIR)
    parser.add_argument("--write", action="store_true", help="save results and RESULTS.md")
    args = parser.parse_args()
    files = sorted(p for p in args.data.glob("*.csv") if not p.name.startswith("Cohen_"))
    if not files:
        print(f"no SYNERGY files in {args.data} (see ../shared/data/README.md)", file=sys.stderr)
        return 2
    if not args.model.exists():
        print(f"{args.model}: no model (build it with `make model`)", file=sys.stderr)
        return 2
    result = run(args.model, files)
    text = report(result, args.model)
    print(text)
    if args.write:
        write_results(text, result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
