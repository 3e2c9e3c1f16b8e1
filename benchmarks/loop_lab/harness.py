"""Loop lab: try a screening-loop variant on every benchmark dataset x seeds 0-2, in one
process per worker, from exactly ASReview's priors (run benchmarks/asreview/run.sh first).

    .venv/bin/python benchmarks/loop_lab/harness.py VARIANT [WORKERS] [DATASET,DATASET]
    RANDOM_PRIORS=1 SEEDS=3,4,5,6,7 TAG=_held .venv/bin/python benchmarks/loop_lab/harness.py V

The second form (V a variant) is the held-out check: seeds ASReview was not run on, each
with one random inclusion and one random exclusion as priors (the ASReview column is then
only a reference; compare variants with each other). Records carry year, journal, keywords
and MeSH for the metadata variants.

Cross-review validation of variants already run (their out/VARIANT.csv files):

    .venv/bin/python benchmarks/loop_lab/harness.py --folds 3 base prod emp20

splits the reviews into the same K fixed groups as `peerscreen bench --folds K`, chooses the
variant with the best mean WSS@95 on the other groups for each group, and prints each
variant's in-sample mean beside the held-out mean of that choice (screening.crossval).

VARIANT names a function in variants.py (or module:function) that takes (data, seed) and
returns an object with `scores(labelled_indices, labels)`. Prints per-dataset WSS@95
against ASReview's (benchmarks/asreview/results.csv) and a summary line; rows go to
benchmarks/loop_lab/out/VARIANT.csv. A research tool for choosing the loop's defaults, not
part of the package: what it finds is then built into peerscreen and measured with
`peerscreen bench --priors`.
"""

import importlib
import os
import pickle
import sys
import time
from multiprocessing import Pool
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(HERE))
CACHE = Path.home() / ".cache" / "peerscreen" / "loop_lab"
OUT = HERE / "out"

DATA = ROOT.parent / "shared/data/benchmarks"
WORK = ROOT / "benchmarks/asreview/work"
from peerscreen.screening.simulation import screening_metrics  # noqa: E402


def load(name):
    CACHE.mkdir(parents=True, exist_ok=True)
    p = CACHE / f"{name}.meta.pkl"
    if p.exists():
        return pickle.loads(p.read_bytes())
    from peerscreen.io.ingest import import_records

    rs = import_records([DATA / f"{name}.csv"], dedup=False).records
    f = rs.frame
    d = dict(
        texts=rs.texts(),
        truth=f["included"].astype(int).to_numpy(),
        ids=f["record_id"].astype(str).tolist(),
        titles=f["title"].fillna("").astype(str).tolist(),
        abstracts=f["abstract"].fillna("").astype(str).tolist(),
        years=[r.year for r in rs],
        journals=[r.journal or "" for r in rs],
        keywords=[list(r.keywords) for r in rs],
        mesh=[list(r.mesh) for r in rs],
    )
    p.write_bytes(pickle.dumps(d))
    return d


def run_one(args):
    variant, name, seed = args
    mod, fn = variant.split(":") if ":" in variant else ("variants", variant)
    factory = getattr(importlib.import_module(mod), fn)
    d = load(name)
    d["name"] = name
    truth = d["truth"]
    index = {r: i for i, r in enumerate(d["ids"])}
    prior_file = WORK / f"{name}_s{seed}.priors.txt"
    if prior_file.exists() and not os.environ.get("RANDOM_PRIORS"):
        priors = [index[p] for p in prior_file.read_text().strip().split(",")]
    else:  # held-out seeds: one random inclusion and one random exclusion
        rng = np.random.default_rng(1000 + seed)
        priors = [
            int(rng.choice(np.flatnonzero(truth == 1))),
            int(rng.choice(np.flatnonzero(truth == 0))),
        ]
    t0 = time.perf_counter()
    learner = factory(d, seed)
    labelled = np.zeros(len(truth), bool)
    labelled[priors] = True
    known = list(priors)
    order = []
    n = len(truth) - len(priors)
    R = int(truth.sum() - truth[priors].sum())
    found = 0
    empty = np.array([not t.strip() for t in d["texts"]])
    W = getattr(learner, "window", 0)
    theta = getattr(learner, "theta", 0.5)
    recent = []
    e_reads = 0
    e_hits = 0
    while found < R:
        if getattr(learner, "skip_empty", False):
            kk = np.array([k for k in known if not empty[k]])
            if truth[kk].min() == truth[kk].max():
                kk = np.array(known)
            s = learner.scores(kk, truth[kk])
        else:
            s = learner.scores(np.array(known), truth[known])
        pool = np.flatnonzero(~labelled)
        pick = None
        if W:
            empties = pool[empty[pool]]
            if len(empties) and len(recent) >= W:
                rate = truth[known].mean()
                strength = getattr(learner, "strength", 0)
                if strength:
                    est = (strength * rate + e_hits) / (strength + e_reads)
                else:
                    est = theta * rate
                smooth = getattr(learner, "smooth", 0)
                text_prec = (np.sum(recent[-W:]) + smooth) / (W + 2 * smooth)
                if text_prec < est:
                    pick = int(empties[0])
                    e_reads += 1
                    e_hits += truth[pick]
            if pick is None:
                textpool = pool[~empty[pool]] if (~empty[pool]).any() else pool
                pick = int(textpool[np.argsort(-s[textpool], kind="stable")[0]])
                recent.append(truth[pick])
        if pick is None:
            pick = int(pool[np.argsort(-s[pool], kind="stable")[0]])
        labelled[pick] = True
        known.append(pick)
        order.append(pick)
        found += truth[pick]
    wall = time.perf_counter() - t0
    m = screening_metrics(truth[order], n, R)
    return dict(
        dataset=name,
        seed=seed,
        wss95=m["wss95"],
        wss100=m["wss100"],
        rrf10=m["rrf10"],
        atd=m["atd"],
        secs=wall,
    )


def crossval(n_folds, variants):
    """The cross-review table over variants' saved rows (each variant one grid point)."""
    from peerscreen.screening.crossval import cross_review_table, crossval_markdown, review_folds

    tag = os.environ.get("TAG", "")
    frames = []
    for variant in variants:
        path = OUT / f"{variant.replace(':', '_')}{tag}.csv"
        if not path.exists():
            sys.exit(f"{path}: no rows for {variant}; run `harness.py {variant}` first")
        frames.append(pd.read_csv(path).assign(point=variant))
    results = pd.concat(frames, ignore_index=True)
    folds = review_folds(sorted(results["dataset"].unique()), n_folds)
    table = cross_review_table(results, folds)
    print(crossval_markdown(table, folds, command="harness.py " + " ".join(sys.argv[1:])))


def main():
    if sys.argv[1] == "--folds":
        crossval(int(sys.argv[2]), sys.argv[3:])
        return
    variant = sys.argv[1]
    procs = int(sys.argv[2]) if len(sys.argv) > 2 else 2
    names = (
        sys.argv[3].split(",")
        if len(sys.argv) > 3 and sys.argv[3]
        else sorted(p.stem for p in DATA.glob("*.csv"))
    )
    seeds = [int(s) for s in os.environ.get("SEEDS", "0,1,2").split(",")]
    jobs = [(variant, n, s) for n in names for s in seeds]
    # big ones first for load balance
    sizes = {n: len(load(n)["truth"]) for n in names}
    jobs.sort(key=lambda j: -sizes[j[1]])
    t0 = time.time()
    with Pool(procs) as pool:
        rows = pool.map(run_one, jobs, chunksize=1)
    df = pd.DataFrame(rows)
    OUT.mkdir(exist_ok=True)
    tag = os.environ.get("TAG", "")
    df.to_csv(OUT / f"{variant.replace(':', '_')}{tag}.csv", index=False)
    asr = pd.read_csv(ROOT / "benchmarks/asreview/results.csv")
    asr = asr[asr.tool.str.startswith("asreview")].groupby("dataset")[["wss95", "rrf10"]].mean()
    per = df.groupby("dataset")[["wss95", "rrf10", "secs"]].mean()
    per["asr"] = asr.wss95.reindex(per.index)
    per["diff"] = per.wss95 - per.asr
    print(per.round(3).to_string())
    print(
        f"{variant}: mean wss95 {per.wss95.mean():.4f} asr {per.asr.mean():.4f} "
        f"diff {per['diff'].mean():+.4f} worst {per['diff'].min():+.3f} "
        f"n_below {(per['diff'] < -0.03).sum()} rrf10 {per.rrf10.mean():.3f} "
        f"loop_s {df.secs.sum():.0f} wall {time.time() - t0:.0f}"
    )


if __name__ == "__main__":
    main()
