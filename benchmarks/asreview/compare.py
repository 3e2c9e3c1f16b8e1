"""peerscreen vs ASReview LAB 3.0.8, with the same priors and the same metric code.

Run after `bash benchmarks/asreview/run.sh`, with the peerscreen venv:

    .venv/bin/python benchmarks/asreview/compare.py
    DATASETS="Donners_2021 Sep_2021" SEEDS="0" .venv/bin/python benchmarks/asreview/compare.py
    MODE=simulate .venv/bin/python benchmarks/asreview/compare.py   # one CLI call per simulation

For each dataset x seed it
1. scores ASReview's labelling order (work/NAME_sS.order.csv, written by extract.py) with
   `peerscreen.screening.simulation.screening_metrics` (priors excluded from the order, N and R);
2. runs peerscreen from exactly ASReview's priors. By default (MODE=bench) that is one call,
   `peerscreen bench DATA --priors work/priors.csv --output-dir work/peerscreen --no-track`,
   timed around the whole call (start-up included): the way a team runs a benchmark with
   peerscreen. MODE=simulate runs `peerscreen simulate DATA/NAME.csv --prior-ids <priors>
   --seed S --output-dir work/peerscreen/NAME_sS --no-track` once per simulation, timed
   around each CLI call as run.sh times ASReview's;
3. re-scores peerscreen's own order.csv with the same function as a check on metrics.json.

Writes benchmarks/asreview/results.csv and the section "## peerscreen vs ASReview LAB 3.0.8"
of benchmarks/RESULTS.md (the rest of that file is left alone).
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import platform
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from peerscreen.screening.learners import DEFAULT_LEARNER, get_learner
from peerscreen.screening.simulation import screening_metrics

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
WORK = HERE / "work"
RESULTS_CSV = HERE / "results.csv"
RESULTS_MD = ROOT / "benchmarks" / "RESULTS.md"
SECTION = "## peerscreen vs ASReview LAB 3.0.8"
DEFAULT_DATA_DIR = (ROOT.parent / "shared" / "data" / "benchmarks").resolve()
#: peerscreen backend for the loop (BACKEND=name; default: simulate's own default).
BACKEND = os.environ.get("BACKEND")
OURS = WORK / ("peerscreen" if not BACKEND else f"peerscreen-{BACKEND}")
RUN_INFO = OURS / "run_info.json"
#: "bench": one `peerscreen bench --priors` call for every simulation; "simulate": one
#: `peerscreen simulate --prior-ids` call per simulation, as ASReview is run.
MODE = os.environ.get("MODE", "bench")
if MODE not in ("bench", "simulate"):
    raise SystemExit(f"MODE must be bench or simulate, not {MODE!r}")
PEERSCREEN = ROOT / ".venv" / "bin" / "peerscreen"
COLUMNS = [
    "dataset",
    "seed",
    "tool",
    "wss95",
    "wss100",
    "rrf10",
    "atd",
    "records_to_95",
    "records_to_all",
    "wall_seconds",
]


def source_fingerprint() -> str:
    """Hash of peerscreen's source: the package is being edited while benchmarks run."""
    digest = hashlib.sha256()
    for path in sorted((ROOT / "src" / "peerscreen").rglob("*.py")):
        digest.update(str(path.relative_to(ROOT)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def git_state() -> str:
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "src"], capture_output=True, text=True, cwd=ROOT
        ).stdout.strip()
    except OSError:
        return "unknown"
    return f"{head}{' + uncommitted changes under src/' if dirty else ''}"


def load_labels(csv_path: Path) -> pd.Series:
    frame = pd.read_csv(
        csv_path,
        dtype={"record_id": str},
        usecols=["record_id", "label_included"],
        keep_default_na=False,
    )
    if frame["record_id"].duplicated().any():
        raise SystemExit(f"{csv_path}: record_id is not unique")
    return frame.set_index("record_id")["label_included"].astype(int)


def metrics_from_order(order_ids: list[str], priors: list[str], labels: pd.Series) -> dict:
    """Our metric code on any labelling order: priors out of the order, N and R."""
    prior_set = set(priors)
    screened = [r for r in order_ids if r not in prior_set]
    labels_in_order = labels.loc[screened].to_numpy(dtype=int)
    n = len(labels) - len(priors)
    n_included = int(labels.sum() - labels.loc[priors].sum())
    return screening_metrics(labels_in_order, n, n_included)


def asreview_row(name: str, seed: int, labels: pd.Series) -> tuple[dict, list[str]]:
    tag = f"{name}_s{seed}"
    order = pd.read_csv(WORK / f"{tag}.order.csv", dtype={"record_id": str})
    priors = _asreview_priors(name, seed)
    if order.loc[order["prior"] == 1, "record_id"].tolist() != priors:
        raise SystemExit(f"{tag}: priors.txt and order.csv disagree")
    if (order["label"].to_numpy() != labels.loc[order["record_id"]].to_numpy()).any():
        raise SystemExit(f"{tag}: ASReview labels differ from the CSV")
    m = metrics_from_order(order["record_id"].tolist(), priors, labels)
    seconds = float((WORK / f"{tag}.time").read_text())
    return {
        "dataset": name,
        "seed": seed,
        "tool": "asreview-3.0.8",
        **m,
        "wall_seconds": seconds,
    }, priors


def peerscreen_command(csv_path: Path, priors: list[str], seed: int, out: Path) -> list[str]:
    return [
        str(PEERSCREEN),
        "simulate",
        str(csv_path),
        "--prior-ids",
        ",".join(priors),
        "--seed",
        str(seed),
        "--output-dir",
        str(out),
        "--no-track",
        *(["--backend", BACKEND] if BACKEND else []),
    ]


def peerscreen_row(
    name: str, seed: int, csv_path: Path, priors: list[str], labels: pd.Series, reuse: bool
) -> dict:
    if MODE == "bench":
        out = OURS / f"{name}-s{seed}"  # bench's folder names
        reported = json.loads((out / "metrics.json").read_text())
        seconds, fresh = float(reported["wall_seconds"]), True  # the loop; the call is timed whole
        return _checked_row(name, seed, out, priors, labels, seconds, fresh)
    out = OURS / f"{name}_s{seed}"
    timing = out / "cli_seconds.txt"
    fresh = not (reuse and (out / "metrics.json").exists() and timing.exists())
    if fresh:
        cmd = peerscreen_command(csv_path, priors, seed, out)
        start = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
        seconds = time.perf_counter() - start
        if proc.returncode != 0:
            raise SystemExit(f"peerscreen failed on {name} s{seed}:\n{proc.stdout}\n{proc.stderr}")
        timing.write_text(f"{seconds:.3f}\n")
    seconds = float(timing.read_text())
    return _checked_row(name, seed, out, priors, labels, seconds, fresh)


def _checked_row(
    name: str,
    seed: int,
    out: Path,
    priors: list[str],
    labels: pd.Series,
    seconds: float,
    fresh: bool,
) -> dict:
    reported = json.loads((out / "metrics.json").read_text())
    if reported.get("settings", {}).get("prior_ids", priors) != priors:
        raise SystemExit(f"{name} s{seed}: peerscreen used other priors than ASReview")
    # Same metric code on peerscreen's own order: must agree with its metrics.json.
    order = pd.read_csv(out / "order.csv", dtype={"record_id": str})
    ours = metrics_from_order(order["record_id"].tolist(), priors, labels)
    for key in (
        "wss95",
        "wss100",
        "rrf10",
        "atd",
        "records_to_95",
        "records_to_all",
        "n",
        "n_included",
    ):
        if not np.isclose(ours[key], reported[key]):
            raise SystemExit(
                f"{name} s{seed}: {key} {ours[key]} recomputed vs {reported[key]} in metrics.json"
            )
    return {
        "dataset": name,
        "seed": seed,
        "tool": "peerscreen",
        **ours,
        "wall_seconds": seconds,
        "loop_seconds": float(reported.get("wall_seconds", np.nan)),
        "fresh": fresh,
    }


def run_bench_once(datasets: list[str], seeds: list[int], data_dir: Path) -> float:
    """One `peerscreen bench --priors` call for every dataset x seed; returns its wall time."""
    OURS.mkdir(parents=True, exist_ok=True)
    table = OURS / "priors.csv"
    rows = [
        {"dataset": name, "seed": seed, "prior_ids": ";".join(_asreview_priors(name, seed))}
        for name in datasets
        for seed in seeds
    ]
    pd.DataFrame(rows).to_csv(table, index=False)
    cmd = [
        str(PEERSCREEN),
        "bench",
        str(data_dir),
        "--datasets",
        ",".join(datasets),
        "--seeds",
        ",".join(map(str, seeds)),
        "--priors",
        str(table),
        "--output-dir",
        str(OURS),
        "--results-dir",
        str(OURS / "results"),
        "--no-track",
        *(["--backend", BACKEND] if BACKEND else []),
    ]
    print("running: " + " ".join(cmd), flush=True)
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"peerscreen bench failed:\n{proc.stdout}\n{proc.stderr}")
    (OURS / "bench_seconds.txt").write_text(f"{seconds:.3f}\n")
    return seconds


def _asreview_priors(name: str, seed: int) -> list[str]:
    text = (WORK / f"{name}_s{seed}.priors.txt").read_text()
    return [p for p in text.strip().split(",") if p]


def summary_table(results: pd.DataFrame) -> str:
    metrics = [
        ("wss95", "WSS@95"),
        ("wss100", "WSS@100"),
        ("rrf10", "RRF@10"),
        ("atd", "ATD"),
        ("wall_seconds", "s/sim"),
    ]
    tools = [("asreview-3.0.8", "ASR"), ("peerscreen", "ours")]
    per = results.groupby(["dataset", "tool"])[[k for k, _ in metrics]].mean()
    datasets = sorted(results["dataset"].unique())
    head = ["dataset"] + [f"{title} {short}" for _, title in metrics for _, short in tools]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" + "---:|" * (len(head) - 1)]

    def fmt(key: str, value: float) -> str:
        return f"{value:.1f}" if key == "wall_seconds" else f"{value:.3f}"

    for name in datasets:
        cells = [name]
        for key, _ in metrics:
            cells += [
                fmt(key, per.loc[(name, tool), key]) if (name, tool) in per.index else "–"
                for tool, _ in tools
            ]
        lines.append("| " + " | ".join(cells) + " |")
    # Overall: mean of the per-dataset means (each dataset weighs the same).
    overall = per.groupby("tool").mean()
    cells = [f"**mean ({len(datasets)} datasets)**"]
    for key, _ in metrics:
        cells += [
            f"**{fmt(key, overall.loc[tool, key])}**" if tool in overall.index else "–"
            for tool, _ in tools
        ]
    lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def asreview_version() -> str:
    exe = HERE / ".venv" / "bin" / "asreview"
    try:
        return subprocess.run(
            [str(exe), "--version"], capture_output=True, text=True
        ).stdout.strip()
    except OSError:
        return "asreview (venv missing)"


def asreview_everything(data_dir: Path) -> pd.DataFrame:
    """ASReview's rows for every dataset x seed run.sh has left in work/ (may exceed this run)."""
    rows = []
    for order in sorted(WORK.glob("*_s*.order.csv")):
        name, seed = order.name[: -len(".order.csv")].rsplit("_s", 1)
        csv_path = data_dir / f"{name}.csv"
        if csv_path.exists() and (WORK / f"{name}_s{seed}.time").exists():
            rows.append(asreview_row(name, int(seed), load_labels(csv_path))[0])
    return pd.DataFrame(rows)


def section_markdown(
    results: pd.DataFrame,
    seeds: list[int],
    data_dir: Path,
    datasets_env: str | None,
    seeds_env: str | None,
    run_info: dict,
) -> str:
    totals = results.groupby("tool")["wall_seconds"].agg(["sum", "count"])
    loop = results.loc[results["tool"] == "peerscreen", "loop_seconds"]
    rel_data = os.path.relpath(data_dir, ROOT)
    env = ""
    if datasets_env:
        env += f'DATASETS="{datasets_env}" '
    if seeds_env:
        env += f'SEEDS="{seeds_env}" '
    if data_dir != DEFAULT_DATA_DIR:
        env += f"DATA_DIR={rel_data} "
    if run_info.get("backend"):
        env += f"BACKEND={run_info['backend']} "
    prior_example = "ID1,ID2"
    n_sims = int(totals["count"].max())
    lines = [
        SECTION,
        "",
        f"Run {dt.date.today().isoformat()} on this machine: {os.cpu_count()} cores ({cpu_name()}), "
        f"Python {platform.python_version()}; simulations run one at a time. "
        f"{asreview_version()} in its own venv (`benchmarks/asreview/.venv`). "
        f"{results['dataset'].nunique()} datasets x seeds {', '.join(map(str, seeds))} = {n_sims} simulations per tool. "
        f"peerscreen at {run_info['git']} (source hash {run_info['fingerprint']}"
        + (
            ", CHANGED during the run: rows are not all from the same code"
            if run_info["changed"]
            else ""
        )
        + f"). Load average (1 min) at the start of the peerscreen phase {run_info['load'][0]:.1f}, "
        f"at its end {run_info['load'][1]:.1f}"
        + (
            ": timings are inflated by other jobs sharing the CPUs."
            if max(run_info["load"]) > 1.5
            else " (the one job running: the machine was otherwise idle)."
        ),
        "",
        "Both tools start from the same two priors (one inclusion, one exclusion, drawn by ASReview with "
        "`--prior-seed S`), screen one record at a time and stop at the last inclusion. ASReview keeps "
        "its defaults (`elas_u4`: TF-IDF + linear SVM, max query, balanced sample weights, a refit "
        "after every label); peerscreen runs its defaults: the "
        f"`{run_info.get('backend') or 'tfidf-lr'}` backend with the `{DEFAULT_LEARNER}` learner "
        f"({get_learner(DEFAULT_LEARNER).description}; the SVM is the same TF-IDF + linear SVM "
        "with the same balanced weights, and the year a small feature block that ramps in over "
        "the first five inclusions), max query, a refit after "
        "every inclusion and after exclusions reaching 2% of the labels (`--retrain adaptive`), "
        "textless records as a tied block (`--textless tied`), and, where the review publishes "
        "its eligibility criteria (`criteria.toml`: 7 of the 18 datasets, none of the Cohen "
        "sets), the criteria text as one more inclusion in every fit "
        "(`--criteria-as-inclusion`). ASReview is given neither the years nor the criteria, "
        "which every real review has; the loop-settings table below separates their effects. Both "
        "labelling orders are scored by the same code, `peerscreen.screening.simulation.screening_metrics`, with "
        "priors excluded from N and R. "
        + (
            "Seconds: ASReview's are wall time around each of its CLI calls (one per simulation, "
            "start-up included, as `asreview simulate` runs); peerscreen's are the wall time of its "
            "one `peerscreen bench --priors` call (start-up included) divided by the number of "
            "simulations. "
            if run_info.get("mode") == "bench"
            else "Seconds are wall time around each tool's CLI call (start-up included), mean per "
            "simulation. "
        )
        + "ASR = ASReview LAB 3.0.8, ours = peerscreen. The mean row "
        "weighs each dataset the same. Records with neither title nor abstract (10-60 per Cohen file, "
        "a few of them inclusions) get one constant score in both tools and are screened in file order "
        "once the pool's scores fall to theirs; they decide WSS@100 on several Cohen sets. peerscreen "
        "leaves them out of its model's training (ASReview trains on them as empty rows).",
        "",
        summary_table(results),
        "",
        "Total wall time on this machine, same session: "
        + "; ".join(
            f"{'ASReview 3.0.8' if tool.startswith('asreview') else 'peerscreen'} "
            f"{row['sum']:.0f} s for {int(row['count'])} simulations"
            for tool, row in totals.iterrows()
        )
        + (
            f" (peerscreen's screening loops alone: {loop.sum():.0f} s, the rest is start-up, "
            "reading the data and writing outputs"
            + (
                "; run as one `peerscreen bench` call)."
                if run_info.get("mode") == "bench"
                else "; one `peerscreen simulate` call per simulation)."
            )
            if len(loop)
            else "."
        ),
        "",
        *run_info.get("asreview_all", []),
        "Commands (from the repository root):",
        "",
        "```bash",
        f"{env}COMPARE=1 bash benchmarks/asreview/run.sh   # all of it, as run for this table",
        "# or in two steps:",
        f"{env}bash benchmarks/asreview/run.sh                 # ASReview side + extract.py",
        f"{env}.venv/bin/python benchmarks/asreview/compare.py  # peerscreen side, this section",
        "# the peerscreen side, as compare.py runs it (priors.csv: ASReview's priors per dataset, seed):",
        f".venv/bin/peerscreen bench {rel_data} --priors benchmarks/asreview/work/{OURS.name}/priors.csv "
        f"--output-dir benchmarks/asreview/work/{OURS.name} --no-track"
        + (f" --backend {run_info['backend']}" if run_info.get("backend") else ""),
        "# each ASReview simulation:",
        f"benchmarks/asreview/.venv/bin/asreview simulate {rel_data}/NAME.csv --n-prior-included 1 "
        "--n-prior-excluded 1 --prior-seed S --seed S -o benchmarks/asreview/work/NAME_sS.asreview",
        "# or one peerscreen simulation at a time (MODE=simulate; priors from work/NAME_sS.priors.txt):",
        f".venv/bin/peerscreen simulate {rel_data}/NAME.csv --prior-ids {prior_example} --seed S "
        f"--output-dir benchmarks/asreview/work/{OURS.name}/NAME_sS --no-track"
        + (f" --backend {run_info['backend']}" if run_info.get("backend") else ""),
        "```",
        "",
        "Per-simulation rows: `benchmarks/asreview/results.csv`.",
        "",
    ]
    return "\n".join(lines)


def write_section(text: str) -> None:
    old = RESULTS_MD.read_text() if RESULTS_MD.exists() else "# Benchmark results\n\n"
    # up to the next heading: subsections (### ...) written by hand are kept
    pattern = re.compile(rf"^{re.escape(SECTION)}\n.*?(?=^##|\Z)", re.S | re.M)
    if pattern.search(old):
        new = pattern.sub(lambda _: text + "\n", old, count=1)
    else:
        new = old.rstrip("\n") + "\n\n" + text
    RESULTS_MD.write_text(new.rstrip("\n") + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--reuse-peerscreen",
        action="store_true",
        help="Do not rerun peerscreen where work/peerscreen/NAME_sS already has results.",
    )
    parser.add_argument(
        "--asreview-only",
        action="store_true",
        help="Score ASReview's orders only; do not run peerscreen or write RESULTS.md.",
    )
    args = parser.parse_args()

    data_dir = Path(os.environ.get("DATA_DIR", DEFAULT_DATA_DIR)).resolve()
    datasets_env, seeds_env = os.environ.get("DATASETS"), os.environ.get("SEEDS")
    datasets = (
        datasets_env.split() if datasets_env else sorted(p.stem for p in data_dir.glob("*.csv"))
    )
    seeds = [int(s) for s in (seeds_env or "0 1 2").split()]

    rows = []
    total = len(datasets) * len(seeds)
    fingerprint = source_fingerprint()
    changed = False
    load_start = os.getloadavg()[0]
    bench_seconds = None
    if MODE == "bench" and not args.asreview_only:
        bench_seconds = run_bench_once(datasets, seeds, data_dir)
        print(f"peerscreen bench: {bench_seconds:.1f} s for {total} simulations", flush=True)
    for i, name in enumerate(datasets, 1):
        csv_path = data_dir / f"{name}.csv"
        labels = load_labels(csv_path)
        for seed in seeds:
            asr, priors = asreview_row(name, seed, labels)
            rows.append(asr)
            line = (
                f"[{(i - 1) * len(seeds) + seeds.index(seed) + 1}/{total}] {name} s{seed}: "
                f"ASReview wss95 {asr['wss95']:.3f} rrf10 {asr['rrf10']:.3f} {asr['wall_seconds']:.1f}s"
            )
            if not args.asreview_only:
                if source_fingerprint() != fingerprint:
                    changed = True
                    print("WARNING: peerscreen's source changed during this run", flush=True)
                ours = peerscreen_row(name, seed, csv_path, priors, labels, args.reuse_peerscreen)
                rows.append(ours)
                line += (
                    f" | peerscreen wss95 {ours['wss95']:.3f} rrf10 {ours['rrf10']:.3f} "
                    f"{ours['wall_seconds']:.1f}s ({ours['loop_seconds']:.1f}s loop)"
                )
            print(line, flush=True)

    if bench_seconds is not None:  # spread the one call's time over its simulations
        ours = [r for r in rows if r["tool"] == "peerscreen"]
        for r in ours:
            r["wall_seconds"] = bench_seconds / len(ours)
    results = pd.DataFrame(rows)
    means = results.groupby("tool")[["wss95", "wss100", "rrf10", "atd", "wall_seconds"]].mean()
    print(means.to_string(float_format=lambda v: f"{v:.3f}"))
    if args.asreview_only:
        return
    run_info = {
        "git": git_state(),
        "fingerprint": fingerprint,
        "changed": changed,
        "backend": BACKEND or "",
        "mode": MODE,
        "bench_seconds": bench_seconds,
        "load": (load_start, os.getloadavg()[0]),
    }
    if any(r.get("fresh") for r in rows if r["tool"] == "peerscreen"):
        RUN_INFO.write_text(json.dumps(run_info) + "\n")
    elif RUN_INFO.exists():  # every peerscreen row reused: describe the run that made them
        run_info = json.loads(RUN_INFO.read_text())
    everything = asreview_everything(data_dir)
    if len(everything) > (results["tool"] != "peerscreen").sum():
        per = (
            everything.groupby("dataset")[["wss95", "wss100", "rrf10", "atd", "wall_seconds"]]
            .mean()
            .mean()
        )
        run_info["asreview_all"] = [
            f"ASReview alone on everything run.sh has run ({everything['dataset'].nunique()} datasets, "
            f"{len(everything)} simulations): mean WSS@95 {per['wss95']:.3f}, WSS@100 {per['wss100']:.3f}, "
            f"RRF@10 {per['rrf10']:.3f}, ATD {per['atd']:.3f}, {per['wall_seconds']:.1f} s per simulation, "
            f"{everything['wall_seconds'].sum():.0f} s in all.",
            "",
        ]
    results[COLUMNS].to_csv(RESULTS_CSV, index=False, float_format="%.6g")
    write_section(section_markdown(results, seeds, data_dir, datasets_env, seeds_env, run_info))
    print(f"wrote {RESULTS_CSV.relative_to(ROOT)} and {RESULTS_MD.relative_to(ROOT)}")


if __name__ == "__main__":
    sys.exit(main())
