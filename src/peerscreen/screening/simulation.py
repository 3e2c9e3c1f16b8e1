"""Replay screening on a fully labelled dataset: how much reading would the model have saved?

The loop: start from prior knowledge (random priors, given record ids, or none with a
cold start by the review's criteria), then repeatedly retrain, let the query strategy pick
the next record, and reveal its label, until every inclusion is found (or a budget runs
out). Metrics follow the definitions in issue 4 and `metrics.py`; priors are excluded from
N and R.

Retraining: `retrain="every"` refits the model after every label, as ASReview does.
The default, `"adaptive"`, refits after every inclusion and otherwise once the exclusions
since the last fit reach 2% of the labels so far (at 500 labels: every 10th exclusion). An
inclusion moves the model; one more exclusion among hundreds barely does, so the next
records in the current ranking are what the refitted model would show anyway (AutoTAR
grows its batches for the same reason). Measured with ASReview's priors on the 18
benchmark datasets x 3 seeds: mean WSS@95 0.3919 against 0.3923 retraining every label, in
a quarter of the time. `peerscreen screen` still retrains after every decision: there a
refit costs under a second against a reviewer's minute.

Records with neither title nor abstract carry no text. They never train the model (see
`ActiveLearner.scores`), and `textless` says when they are read:
- "tied" (default): every model gives them the same intercept-only score, so they are
  screened as one tied block in file order when the pool's best score drops to theirs, as
  ASReview does. We keep this rather than pushing them last, because a few are inclusions
  in the Cohen sets and hiding them would make WSS@100 look better than a real review could
  afford.
- "when-dry": they are screened as one block, in file order, as soon as the model's last 20
  picks with text found fewer inclusions than half the rate among all labels so far: the
  point where a record the model cannot judge is as good a bet as the model's next pick.
  On the 18 benchmark datasets (3 seeds, ASReview's priors) this raised mean WSS@95 by
  0.014 (Cohen CalciumChannelBlockers +0.16, BetaBlockers +0.18, where several inclusions
  have no text), and cost 0.03-0.06 where no textless record is an inclusion (the block is
  read for nothing: UrinaryIncontinence, Triptans, ProtonPumpInhibitors).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from peerscreen.errors import PeerscreenError
from peerscreen.io.records import RecordSet
from peerscreen.screening.cold_start import similarity_to
from peerscreen.screening.learners import DEFAULT_LEARNER, build_learner
from peerscreen.screening.query import get_query
from peerscreen.screening.stopping import STOPPING_RULES, first_stop


class SimulationError(PeerscreenError):
    pass


#: When records without title and abstract are read (see the module docstring).
TEXTLESS_POLICIES = ("tied", "when-dry")
#: "when-dry": the model's yield is judged on its last this many picks with text...
DRY_WINDOW = 20
#: ...against this share of the inclusion rate among all labels so far.
DRY_SHARE = 0.5

#: Retraining schedules for the simulation loop (see the module docstring).
RETRAIN_POLICIES = ("adaptive", "every")
#: Under "adaptive", exclusions since the last fit that trigger a refit, as a share of labels.
ADAPTIVE_RETRAIN_SHARE = 0.02


def retrain_due(policy: str, n_labelled: int, since_fit: int, last_label: int) -> bool:
    """Whether the loop refits before the next pick (a model exists already)."""
    if policy == "every" or last_label == 1:
        return True
    return since_fit >= max(1, int(n_labelled * ADAPTIVE_RETRAIN_SHARE))


@dataclass
class SimulationResult:
    dataset: str
    order: list[int]  # screened record positions, priors excluded, in screening order
    labels: np.ndarray  # label of each screened record, same order
    p_at_step: list[float]
    priors: list[int]
    n: int  # records excluding priors
    n_included: int  # inclusions excluding priors
    wall_seconds: float
    record_ids: list[str]
    metrics: dict[str, Any] = field(default_factory=dict)
    stopping: dict[str, dict[str, Any]] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)


def check_labelled(records: RecordSet, name: str) -> None:
    """Refuse a dataset a simulation cannot replay: no records at all (a CSV with only a
    header line), or records without a label; `name` is the file or benchmark shown."""
    frame = records.frame
    if frame.empty:
        raise SimulationError(f"{name}: no labelled records to simulate (it holds no records)")
    if frame["included"].isna().any():
        raise SimulationError(f"{name}: every record needs a label to simulate")


def choose_priors(labels: np.ndarray, n_included: int, n_excluded: int, seed: int) -> list[int]:
    rng = np.random.default_rng(seed)
    included, excluded = np.flatnonzero(labels == 1), np.flatnonzero(labels == 0)
    if len(included) < n_included or len(excluded) < n_excluded:
        raise SimulationError("not enough labelled records for the requested priors")
    picks = [
        *rng.choice(included, n_included, replace=False),
        *rng.choice(excluded, n_excluded, replace=False),
    ]
    return [int(i) for i in picks]


def screening_metrics(labels_in_order: np.ndarray, n: int, n_included: int) -> dict[str, float]:
    """WSS@95/100, RRF@5/10/20, ATD, records to 95% and to all, from a screening order.

    `labels_in_order` covers the screened records (priors excluded); records never screened
    count as found after all N records.
    """
    labels = np.asarray(labels_in_order, dtype=int)
    found = np.cumsum(labels)
    positions = np.flatnonzero(labels) + 1  # 1-based read position of each inclusion found
    missing = n_included - len(positions)
    all_positions = np.r_[positions, np.full(missing, n)] if missing > 0 else positions

    def records_to(count: int) -> int:
        if count <= 0:
            return 0
        hit = np.searchsorted(found, count)
        return int(hit + 1) if hit < len(found) else n

    k95 = records_to(math.ceil(0.95 * n_included))
    k100 = records_to(n_included)

    def rrf(share: float) -> float:
        cut = math.ceil(share * n)
        return float(found[min(cut, len(found)) - 1] / n_included) if cut and len(found) else 0.0

    return {
        "wss95": 1 - k95 / n - 0.05,
        "wss100": 1 - k100 / n,
        "rrf5": rrf(0.05),
        "rrf10": rrf(0.10),
        "rrf20": rrf(0.20),
        "atd": float(np.mean(all_positions) / n) if n_included else 0.0,
        "records_to_95": k95,
        "records_to_all": k100,
        "n": n,
        "n_included": n_included,
    }


def stopping_results(
    labels: np.ndarray,
    n: int,
    n_included: int,
    *,
    target_recall: float = 0.95,
    confidence: float = 0.95,
) -> dict[str, dict[str, Any]]:
    """Where each stopping rule would have stopped, the recall there and the work saved.

    Once every inclusion is found, every record left is an exclusion whatever the order, so
    the replay is extended with exclusions to N: a rule that has not stopped by then is
    seen stopping (or not) exactly as it would in a real review.
    """
    labels = np.asarray(labels, dtype=int)
    if labels.sum() >= n_included and len(labels) < n:
        labels = np.r_[labels, np.zeros(n - len(labels), dtype=int)]
    found = np.cumsum(labels)
    step = max(1, len(labels) // 400)
    results = {}
    for name in STOPPING_RULES:
        stop = first_stop(
            labels, n, name, target_recall=target_recall, confidence=confidence, step=step
        )
        if stop is None:
            results[name] = {
                "stopped_at": None,
                "recall": 1.0,
                "work_saved": 1 - len(labels) / n,
                "stopped": False,
            }
            continue
        recall = float(found[stop - 1] / n_included) if n_included else 1.0
        results[name] = {
            "stopped_at": int(stop),
            "recall": recall,
            "work_saved": 1 - stop / n,
            "stopped": True,
        }
    return results


def simulate(
    records: RecordSet,
    *,
    dataset: str = "",
    backend: str = "tfidf-lr",
    learner: str = DEFAULT_LEARNER,
    params: dict | None = None,
    query: str = "max",
    prior_included: int = 1,
    prior_excluded: int = 1,
    seed: int = 0,
    prior_ids: list[str] | None = None,
    cold_start_text: str | None = None,
    stop_after: int | None = None,
    semantic: bool = True,
    retrain: str = "adaptive",
    textless: str = "tied",
    guide_text: str | None = None,
    year_weight: float | None = None,
    year_ramp: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> SimulationResult:
    """Replay screening; returns the order, per-step scores, metrics and stopping results."""
    if retrain not in RETRAIN_POLICIES:
        raise SimulationError(
            f"unknown retrain policy '{retrain}' (choose from {', '.join(RETRAIN_POLICIES)})"
        )
    if textless not in TEXTLESS_POLICIES:
        raise SimulationError(
            f"unknown textless policy '{textless}' (choose from {', '.join(TEXTLESS_POLICIES)})"
        )
    check_labelled(records, dataset or "dataset")
    frame = records.frame
    truth = frame["included"].astype(int).to_numpy()
    ids = frame["record_id"].astype(str).tolist()
    start = time.perf_counter()
    if prior_ids is not None:
        index = {rid: i for i, rid in enumerate(ids)}
        unknown = [p for p in prior_ids if p not in index]
        if unknown:
            raise SimulationError(
                f"{dataset}: prior ids not in the dataset: {', '.join(unknown[:5])}"
            )
        priors = [index[p] for p in prior_ids]
    elif cold_start_text is not None:
        priors = []
    else:
        priors = choose_priors(truth, prior_included, prior_excluded, seed)

    texts = records.texts()
    model = build_learner(
        learner,
        texts,
        backend=backend,
        params=params,
        seed=seed,
        guide_texts=[guide_text] if guide_text else None,
        years=records.years(),
        year_weight=year_weight,
        year_ramp=year_ramp,
    )
    prior_scores = (
        similarity_to(texts, cold_start_text, semantic=semantic)
        if cold_start_text is not None
        else np.zeros(len(texts))
    )
    strategy = get_query(query)
    rng = np.random.default_rng(seed)
    labelled = np.zeros(len(truth), dtype=bool)
    labelled[priors] = True
    known = list(priors)
    n = len(truth) - len(priors)
    n_included = int(truth.sum() - truth[priors].sum())
    order: list[int] = []
    p_at_step: list[float] = []
    found = 0
    budget = n if stop_after is None else min(n, stop_after)
    model_scores: np.ndarray | None = None
    since_fit = 0
    text_hits: list[int] = []  # label of each pick with text, for textless="when-dry"
    while len(order) < budget and found < n_included:
        if model_scores is None or retrain_due(
            retrain, len(known), since_fit, int(truth[known[-1]])
        ):
            model_scores = model.scores(np.array(known), truth[known])
            since_fit = 0
        since_fit += 1
        # no inclusion (or no exclusion) seen yet: rank by the criteria
        scores = prior_scores if model_scores is None else model_scores
        pick = None
        if textless == "when-dry":
            pick = _textless_pick(model.has_text, labelled, text_hits, truth[known])
        if pick is None:
            hidden = labelled | ~model.has_text if textless == "when-dry" else labelled
            if hidden.all():  # only textless records left
                hidden = labelled
            pick = int(strategy(scores, hidden, rng)[0])
            if model.has_text[pick]:
                text_hits.append(int(truth[pick]))
        labelled[pick] = True
        known.append(pick)
        order.append(pick)
        p_at_step.append(float(scores[pick]))
        found += int(truth[pick])
        if progress:
            progress(len(order), found)
    wall = time.perf_counter() - start
    labels = truth[order]
    result = SimulationResult(
        dataset=dataset,
        order=order,
        labels=labels,
        p_at_step=p_at_step,
        priors=priors,
        n=n,
        n_included=n_included,
        wall_seconds=wall,
        record_ids=ids,
        settings={
            "backend": backend,
            "learner": learner,
            "query": query,
            "seed": seed,
            "prior_ids": [ids[i] for i in priors],
            "cold_start": cold_start_text is not None,
            "stop_after": stop_after,
            "retrain": retrain,
            "textless": textless,
            "criteria_as_inclusion": bool(guide_text),
            "year_features": model.uses_years,
            "year_weight": year_weight,
            "year_ramp": year_ramp,
        },
    )
    result.metrics = screening_metrics(labels, n, n_included)
    result.metrics["wall_seconds"] = wall
    result.stopping = stopping_results(labels, n, n_included)
    return result


def _textless_pick(
    has_text: np.ndarray, labelled: np.ndarray, text_hits: list[int], known_labels: np.ndarray
) -> int | None:
    """The next textless record (file order) once the model has run dry, else None."""
    if len(text_hits) < DRY_WINDOW:
        return None
    waiting = np.flatnonzero(~has_text & ~labelled)
    if not len(waiting):
        return None
    recent_yield = float(np.mean(text_hits[-DRY_WINDOW:]))
    if recent_yield < DRY_SHARE * float(np.mean(known_labels)):
        return int(waiting[0])
    return None


def order_frame(result: SimulationResult) -> pd.DataFrame:
    """order.csv: step, record_id, label, p_include at that step (priors as step 0)."""
    rows = [
        {
            "step": 0,
            "record_id": result.record_ids[i],
            "label": None,
            "p_include": None,
            "prior": True,
        }
        for i in result.priors
    ]
    rows += [
        {
            "step": s,
            "record_id": result.record_ids[i],
            "label": int(lab),
            "p_include": p,
            "prior": False,
        }
        for s, (i, lab, p) in enumerate(
            zip(result.order, result.labels, result.p_at_step, strict=True), 1
        )
    ]
    return pd.DataFrame(rows)
