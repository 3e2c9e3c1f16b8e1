"""Choose the per-domain probability floors of `[evidence]` in configs/review.toml, on the
TUNED SYNERGY files only (never on the held-out ones of `outcomes_vs_mesh.py`).

Why floors: the model's own thresholds were cut for F1 on the team's corpus, where every
record is about peer support and an outcome's words mostly mean the outcome. On real
abstracts a cue in a methods or results sentence is needed (the evidence gate), and for some
domains the model's score must be higher too before the tag is worth a reviewer's trust.

Two knobs per domain: the floor, and how many sentences must hold a cue (the title counting
`title_weight`: `outcome_min_sentences`). A pair is allowed only when the team corpus's
out-of-fold F1 for that domain (5 folds, the splits `peerscreen train` uses) stays within
`--corpus-tolerance` of its F1 with no floor: the corpus is what the model learns from, and
its figures must hold. For each domain with at least `--min-silver` MeSH silver labels in
the tuned files, the allowed pair with the highest F1 against MeSH is kept (the stricter
pair on ties), the gate applied as in `peerscreen tag`; other domains, whose real-text
precision the silver labels cannot tell, get the strictest allowed pair. The model never
sees the MeSH headings.

    .venv/bin/python benchmarks/outcome_floors.py [--model models/default] [--write]

`--write` replaces the `outcome_floors` and `outcome_min_sentences` lines of
`configs/review.toml`; rebuild the model
afterwards (`make model`: the protocol is saved inside it).
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import numpy as np

from outcomes_vs_mesh import CORE_MAP, EXTRA_MAP, TUNED, load_records, silver_outcomes
from peerscreen.io.ingest import import_records
from peerscreen.review.evidence import EvidenceGate
from peerscreen.review.protocol import load_protocol
from peerscreen.screening.datasets import BENCHMARK_DIR
from peerscreen.tracking import load_review_model

HERE = Path(__file__).resolve().parent
CONFIG = HERE.parent / "configs" / "review.toml"
CORPUS = HERE.parent / "data" / "corpus" / "peer_support.jsonl"
FLOORS = (0.0, 0.5, 0.8, 0.9, 0.95, 0.98)
SENTENCES = (1, 2, 3)
CANDIDATES = [(f, k) for f in FLOORS for k in SENTENCES]
BETA = 1.0


def f_beta(tp: int, fp: int, fn: int, beta: float = BETA) -> float:
    b2 = beta * beta
    denominator = (1 + b2) * tp + b2 * fn + fp
    return (1 + b2) * tp / denominator if denominator else 0.0


def gated_scores(model, files: list[Path]) -> tuple[list[str], np.ndarray, np.ndarray, list]:
    """Per tuned record and domain: the score where the model's threshold passes (0
    elsewhere), the cue strength (`EvidenceGate.strength`), and the MeSH silver labels."""
    codes = list(model.outcome_codes_)
    gate = model.evidence_gate
    kept, strengths, silver = [], [], []
    for _, records in load_records(files):
        frame = records.frame.assign(mesh=[[] for _ in range(len(records))])
        matrix, _ = model.transform(frame)
        scores = model.outcomes_.predict_proba(matrix)
        found = [gate.scan(t, a) for t, a in zip(frame["title"], frame["abstract"], strict=True)]
        strengths.append([[gate.strength(e.outcomes.get(c, ())) for c in codes] for e in found])
        kept.append(np.where(scores >= model.outcomes_.thresholds_, scores, 0.0))
        silver += [silver_outcomes(m, {**CORE_MAP, **EXTRA_MAP}) for m in records.frame["mesh"]]
    return codes, np.vstack(kept), np.vstack(strengths), silver


def corpus_scores(
    protocol, corpus: Path, seed: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Out-of-fold outcome scores (0 under the model's threshold), cue strengths and labels
    on the team corpus, on the folds `peerscreen train` cross-validates with."""
    from sklearn.model_selection import StratifiedGroupKFold

    from peerscreen.review.models.review_model import ReviewModel
    from peerscreen.review.training import near_duplicate_groups

    records = import_records([corpus]).records
    frame = records.frame
    codes = protocol.outcome_codes
    y = frame["included"].astype(int).to_numpy()
    gold = np.array([[c in set(o or ()) for c in codes] for o in frame["outcomes"]], dtype=bool)
    labelled = frame["category"].notna().to_numpy()
    scores = np.zeros(gold.shape)
    splitter = StratifiedGroupKFold(n_splits=5, shuffle=True, random_state=seed)
    groups = near_duplicate_groups(records.texts())
    for train, test in splitter.split(np.zeros(len(y)), y, groups):
        model = ReviewModel(protocol, random_state=seed).fit(
            frame.iloc[train].reset_index(drop=True)
        )
        matrix, _ = model.transform(frame.iloc[test].reset_index(drop=True))
        raw = model.outcomes_.predict_proba(matrix)
        scores[test] = np.where(raw >= model.outcomes_.thresholds_, raw, 0.0)
    gate = EvidenceGate(protocol)
    found = [gate.scan(t, a) for t, a in zip(frame["title"], frame["abstract"], strict=True)]
    strength = np.array([[gate.strength(e.outcomes.get(c, ())) for c in codes] for e in found])
    return scores[labelled], strength[labelled], gold[labelled]


def corpus_check(protocol, corpus: Path, tolerance: float):
    """A test `(code, (floor, sentences)) -> bool`: does the corpus F1 hold?"""
    scores, strength, gold = corpus_scores(protocol, corpus)
    codes = protocol.outcome_codes

    def f1(j: int, pair: tuple[float, int]) -> float:
        floor, needed = pair
        pred = (scores[:, j] > 0) & (scores[:, j] >= floor) & (strength[:, j] >= needed)
        g = gold[:, j]
        return f_beta(int((pred & g).sum()), int((pred & ~g).sum()), int((~pred & g).sum()), 1.0)

    def ok(code: str, pair: tuple[float, int]) -> bool:
        j = codes.index(code)
        return f1(j, pair) >= f1(j, (0.0, 1)) - tolerance

    return ok


def choose(
    codes: list[str],
    scores: np.ndarray,
    strength: np.ndarray,
    silver: list,
    min_silver: int,
    corpus_ok,
) -> tuple[dict, dict]:
    mapped = [c for c in codes if c in CORE_MAP or c in EXTRA_MAP]
    gold = np.array([[c in s for c in mapped] for s in silver], dtype=bool)
    columns = [codes.index(c) for c in mapped]
    picked, power = scores[:, columns], strength[:, columns]

    def allowed(j: int) -> list[tuple[float, int]]:
        return [p for p in CANDIDATES if corpus_ok(mapped[j], p)]

    def counts(j: int, pair: tuple[float, int]) -> tuple[int, int, int]:
        floor, needed = pair
        pred = (picked[:, j] > 0) & (picked[:, j] >= floor) & (power[:, j] >= needed)
        g = gold[:, j]
        return int((pred & g).sum()), int((pred & ~g).sum()), int((~pred & g).sum())

    # ties go to the stricter pair (the higher floor, then more sentences)
    rich = [j for j in range(len(mapped)) if gold[:, j].sum() >= min_silver]
    floors, sentences = {}, {}
    for j, code in enumerate(mapped):
        pair = (
            max(allowed(j), key=lambda p, j=j: (f_beta(*counts(j, p)), p))
            if j in rich
            else max(allowed(j))
        )
        floors[code], sentences[code] = pair
        tp, fp, fn = counts(j, pair)
        print(
            f"{code:22s} silver {int(gold[:, j].sum()):3d} floor {pair[0]:.2f} sentences "
            f"{pair[1]} tp {tp} fp {fp} fn {fn} F{BETA:g} {f_beta(tp, fp, fn):.3f}"
            + ("" if j in rich else " (strictest the corpus allows)")
        )
    return floors, sentences


def toml_line(name: str, values: dict) -> str:
    return f"{name} = {{ " + ", ".join(f"{k} = {v}" for k, v in values.items()) + " }"


def write_floors(floors: dict, sentences: dict) -> None:
    text = CONFIG.read_text(encoding="utf-8")
    for name, values in (("outcome_floors", floors), ("outcome_min_sentences", sentences)):
        text, n = re.subn(rf"(?m)^{name} = .*$", toml_line(name, values), text)
        if n != 1:
            raise SystemExit(f"{CONFIG}: expected one `{name} = ...` line in [evidence]")
    CONFIG.write_text(text, encoding="utf-8")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, default=HERE.parent / "models" / "default")
    parser.add_argument("--data", type=Path, default=BENCHMARK_DIR)
    parser.add_argument("--min-silver", type=int, default=10)
    parser.add_argument("--config", type=Path, default=CONFIG)
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--corpus-tolerance", type=float, default=0.03)
    parser.add_argument("--write", action="store_true", help="update configs/review.toml")
    args = parser.parse_args()
    files = sorted(p for p in args.data.glob("*.csv") if p.stem in TUNED)
    if not files:
        print(f"no tuned SYNERGY files in {args.data}", file=sys.stderr)
        return 2
    model = load_review_model(args.model)
    codes, scores, strength, silver = gated_scores(model, files)
    ok = corpus_check(load_protocol(args.config), args.corpus, args.corpus_tolerance)
    floors, sentences = choose(codes, scores, strength, silver, args.min_silver, ok)
    print(toml_line("outcome_floors", floors))
    print(toml_line("outcome_min_sentences", sentences))
    if args.write:
        write_floors(floors, sentences)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
