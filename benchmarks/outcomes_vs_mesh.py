"""Outcome tags and the youth_only flag on real abstracts, against labels nobody here wrote.

Tags every SYNERGY record in ../shared/data/benchmarks that carries MeSH headings with a
review model (as `peerscreen tag` does) and compares:

- each outcome domain with silver labels derived from the MeSH headings NLM indexers
  assigned (`MESH_TO_DOMAIN`: the seven mapped domains of issue 14, then a few more where
  MeSH has a clear heading, reported apart so the headline stays the seven);
- the `youth_only` exclusion flag with MeSH age groups (Child, Adolescent or Infant, and no
  adult age group).

- the peer-support category: none of these reviews is about peer support, so every record
  given a peer-support category (not `none`) is a false positive, unless its MeSH has
  `Peer Group` or `Self-Help Groups` (counted apart).

MeSH misses outcomes a study measured (indexers describe the topic, not every measure), so
precision against it is a floor rather than the truth; recall is closer to honest. The
model never sees the MeSH headings (they are removed from its input): they are the labels.

The files are split once, by name: every threshold, cue and floor (`configs/review.toml`,
`[evidence]`, chosen by `benchmarks/outcome_floors.py`) is chosen on the TUNED files only;
the HELD_OUT files are reported, never tuned on.

    .venv/bin/python benchmarks/outcomes_vs_mesh.py [--model models/default]
        [--before MODEL] [--no-gate] [--split tuned|held-out|all] [--write]

`--before MODEL` adds a before column from another model folder, scored with its evidence
gate off (how every model scored before the gate existed; without it, the same model with
the gate off); `--no-gate` scores the main model with its gate off too. `--write` saves
`benchmarks/results/outcomes_vs_mesh.{csv,md}` and replaces the section between the
`outcomes-vs-mesh` markers in `benchmarks/RESULTS.md`.
"""

from __future__ import annotations

import argparse
import copy
import re
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from peerscreen.io.readers import read_file
from peerscreen.reporting import markdown_table
from peerscreen.review.protocol import EvidenceRules
from peerscreen.review.sentences import ROLES
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
#: Where thresholds, cues and floors may be chosen, and where they never are.
TUNED = ("Chou_2004", "Jeyaraman_2020", "Meijboom_2021")
HELD_OUT = ("Donners_2021", "Menon_2022", "Nelson_2002", "Sep_2021")
SPLITS = {"tuned": TUNED, "held-out": HELD_OUT, "all": TUNED + HELD_OUT}
#: MeSH headings under which a peer-support category may be right.
PEER_MESH = {"Peer Group", "Self-Help Groups"}
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


def gate_off(model: Any) -> Any:
    """A shallow copy of `model` that tags as models did before the evidence gate: any
    sentence counts, no cue is needed, no floor applies, flags fire on background mentions
    and no `unless_population` rule cancels one."""
    protocol = model.protocol
    rules = EvidenceRules(
        roles=list(ROLES),
        outcome_without_cue=0.0,
        category_without_cue=0.0,
        flags_in_background=True,
    )
    exclusion = [r.model_copy(update={"unless_population": []}) for r in protocol.exclusion]
    off = copy.copy(model)
    off.__dict__.pop("_flagger", None)
    off.__dict__.pop("_evidence_gate", None)
    off.protocol = protocol.model_copy(update={"evidence": rules, "exclusion": exclusion})
    return off


def tag(model: Any, records) -> pd.DataFrame:
    """Tag as `peerscreen tag` does, without the MeSH headings (they are the labels)."""
    frame = records.frame.assign(mesh=[[] for _ in range(len(records))])
    return model.predict(frame, with_inclusion=False, top_terms=0)


def rows_for(name: str, records, predictions: pd.DataFrame) -> pd.DataFrame:
    mesh = records.frame["mesh"].tolist()
    return pd.DataFrame(
        {
            "dataset": name,
            "predicted": [predicted_outcomes(t) for t in predictions["outcomes"]],
            "core": [silver_outcomes(m, CORE_MAP) for m in mesh],
            "extra": [silver_outcomes(m, EXTRA_MAP) for m in mesh],
            "youth_silver": [silver_youth(m) for m in mesh],
            "youth_flag": [has_flag(t, "youth_only") for t in predictions["exclusion_flags"]],
            "category": predictions.get("category", pd.Series([None] * len(mesh))).tolist(),
            "peer_mesh": [bool(set(m) & PEER_MESH) for m in mesh],
        }
    )


def youth_table(rows: pd.DataFrame) -> dict:
    gold, pred = rows["youth_silver"], rows["youth_flag"]
    tp, fp = int((gold & pred).sum()), int((~gold & pred).sum())
    p, r, f = prf(tp, fp, int((gold & ~pred).sum()))
    return {
        "silver": int(gold.sum()),
        "flagged": int(pred.sum()),
        "precision": p,
        "recall": r,
        "f1": f,
    }


def category_check(rows: pd.DataFrame, none: str) -> dict:
    """Records given a peer-support category though their review is not about it."""
    tagged = rows["category"].notna() & (rows["category"] != none)
    return {
        "records": len(rows),
        "peer-support category": int(tagged.sum()),
        "share": float(tagged.mean()) if len(rows) else 0.0,
        "of them with peer MeSH": int((tagged & rows["peer_mesh"]).sum()),
    }


def evaluate(rows: pd.DataFrame, none: str) -> dict:
    return {
        "core": score(rows.assign(silver=rows["core"]), CORE_MAP),
        "extra": score(rows.assign(silver=rows["extra"]), EXTRA_MAP),
        "youth": youth_table(rows),
        "category": category_check(rows, none),
    }


def run(model_path: Path, files: list[Path], before: Path | None, no_gate: bool) -> dict:
    model = load_review_model(model_path)
    if no_gate:
        model = gate_off(model)
    earlier = gate_off(load_review_model(before) if before is not None else model)
    none = model.protocol.none_category
    after_parts, before_parts, per_file = [], [], []
    for name, records in load_records(files):
        after_parts.append(rows_for(name, records, tag(model, records)))
        before_parts.append(rows_for(name, records, tag(earlier, records)))
        side = "tuned" if name in TUNED else "held-out" if name in HELD_OUT else "other"
        per_file.append({"dataset": name, "records with MeSH": len(records), "side": side})
    after, earlier_rows = pd.concat(after_parts), pd.concat(before_parts)
    result = {"files": pd.DataFrame(per_file), "sides": {}}
    for side, names in SPLITS.items():
        pick_a, pick_b = after["dataset"].isin(names), earlier_rows["dataset"].isin(names)
        if pick_a.any():
            result["sides"][side] = {
                "after": evaluate(after[pick_a], none),
                "before": evaluate(earlier_rows[pick_b], none),
                "n": int(pick_a.sum()),
            }
    return result


def side_table(side: dict, key: str) -> pd.DataFrame:
    """The after table with the before F1 beside it."""
    table = side["after"][key].copy()
    table.insert(len(table.columns) - 1, "f1 before", side["before"][key]["f1"].to_numpy())
    return table[[c for c in table.columns if c != "f1 before"] + ["f1 before"]]


def headline(side: dict) -> str:
    a, b = side["after"], side["before"]
    core_a, core_b = a["core"].set_index("domain"), b["core"].set_index("domain")
    lowest = core_a.drop(["micro", "macro"])
    lowest = lowest[lowest["tagged"] > 0]["precision"].min() if (lowest["tagged"] > 0).any() else 0
    return (
        f"micro-F1 {core_b.loc['micro', 'f1']:.3f} -> **{core_a.loc['micro', 'f1']:.3f}**, "
        f"macro-F1 {core_b.loc['macro', 'f1']:.3f} -> {core_a.loc['macro', 'f1']:.3f}, lowest "
        f"precision of a domain that tags {lowest:.3f}; youth_only F1 "
        f"{b['youth']['f1']:.3f} -> **{a['youth']['f1']:.3f}**; peer-support category on "
        f"{b['category']['share']:.1%} -> **{a['category']['share']:.1%}** of records"
    )


#: Issue 14's first bars, on the held-out files.
TARGETS = {"micro_f1": 0.55, "lowest_precision": 0.35, "youth_f1": 0.75}


def targets(after: dict) -> str:
    """The held-out figures against the issue's targets: met, or missed by how much."""
    core = after["core"].set_index("domain").drop(["micro", "macro"])
    # a domain that tags nothing has no precision (0/0): it is named, not counted as 0
    tagging = core[core["tagged"] > 0]
    silent = ", ".join(
        f"{d} ({core.loc[d, 'silver']} silver)" for d in core.index if core.loc[d, "tagged"] == 0
    )
    worst = tagging["precision"].idxmin() if len(tagging) else core["precision"].idxmin()
    figures = (
        ("micro-F1", after["core"].set_index("domain").loc["micro", "f1"], "micro_f1", ""),
        (
            "lowest precision of a domain that tags",
            core.loc[worst, "precision"],
            "lowest_precision",
            f" ({worst}: {core.loc[worst, 'tagged']} tagged, {core.loc[worst, 'silver']} silver"
            + (f"; tagging nothing: {silent}" if silent else "")
            + ")",
        ),
        ("youth_only F1", after["youth"]["f1"], "youth_f1", ""),
    )
    parts = []
    for name, value, key, note in figures:
        bar = TARGETS[key]
        verdict = "met" if value >= bar else f"missed by {bar - value:.3f}"
        parts.append(f"{name} {value:.3f}{note} against {bar:.2f}: {verdict}")
    return "Targets (issue 14), held-out files: " + "; ".join(parts) + "."


def report(
    result: dict, model_path: Path, before: Path | None, no_gate: bool, label: str = ""
) -> str:
    root = HERE.parent.resolve()

    def shown(path: Path) -> Path:
        resolved = path.resolve()
        return resolved.relative_to(root) if resolved.is_relative_to(root) else path

    files = result["files"]
    listing = {
        side: ", ".join(f"{r.dataset} {r._2:,}" for r in files.itertuples() if r.side == side)
        for side in ("tuned", "held-out")
    }
    before_text = (
        f"{label or f'`{shown(before)}`'} with its evidence gate off"
        if before
        else "the same model, gate off"
    )
    lines = [
        f"Model `{shown(model_path)}`{' (gate off)' if no_gate else ''} (`make model`), "
        f"before: {before_text}. SYNERGY records with MeSH headings; **tuned** on "
        f"{listing['tuned']}; **held out** (no threshold, cue or floor chosen on them) "
        f"{listing['held-out']}. The model never sees the MeSH headings. Silver labels from "
        "MeSH: precision is a floor (MeSH misses measured outcomes).",
        "",
    ]
    for side in ("held-out", "tuned", "all"):
        if side in result["sides"]:
            lines.append(
                f"- **{side}** ({result['sides'][side]['n']:,} records): "
                + headline(result["sides"][side])
            )
    if "held-out" in result["sides"]:
        lines += ["", targets(result["sides"]["held-out"]["after"])]
    for side in ("held-out", "tuned"):
        if side not in result["sides"]:
            continue
        data = result["sides"][side]
        youth = pd.DataFrame(
            [
                {
                    "flag": "youth_only",
                    **data["after"]["youth"],
                    "f1 before": data["before"]["youth"]["f1"],
                }
            ]
        )
        lines += [
            "",
            f"Seven mapped domains, {side} files:",
            "",
            markdown_table(side_table(data, "core")),
            "",
            f"youth_only against MeSH age groups (Child, Adolescent or Infant without an adult "
            f"group), {side} files:",
            "",
            markdown_table(youth),
        ]
    if "all" in result["sides"]:
        lines += [
            "",
            "More domains with a clear MeSH heading (all files; not in the headline):",
            "",
            markdown_table(side_table(result["sides"]["all"], "extra")),
        ]
    return "\n".join(lines) + "\n"


def write_results(text: str, result: dict) -> None:
    out = HERE / "results"
    out.mkdir(exist_ok=True)
    tables = []
    for side, data in result["sides"].items():
        for when in ("after", "before"):
            for key in ("core", "extra"):
                tables.append(data[when][key].assign(split=side, set=key, when=when))
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
    parser.add_argument("--before", type=Path, default=None, help="model for the before column")
    parser.add_argument("--before-label", default="", help="how the --before model was built")
    parser.add_argument("--no-gate", action="store_true", help="score --model with its gate off")
    parser.add_argument("--split", choices=sorted(SPLITS), default="all")
    parser.add_argument("--data", type=Path, default=BENCHMARK_DIR)
    parser.add_argument("--write", action="store_true", help="save results and RESULTS.md")
    args = parser.parse_args()
    names = set(SPLITS[args.split])
    files = sorted(p for p in args.data.glob("*.csv") if p.stem in names)
    if not files:
        print(f"no SYNERGY files in {args.data} (see ../shared/data/README.md)", file=sys.stderr)
        return 2
    for path in (args.model, args.before):
        if path is not None and not path.exists():
            print(f"{path}: no model (build it with `make model`)", file=sys.stderr)
            return 2
    result = run(args.model, files, args.before, args.no_gate)
    text = report(result, args.model, args.before, args.no_gate, args.before_label)
    print(text)
    if args.write:
        write_results(text, result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
