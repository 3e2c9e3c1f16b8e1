"""Score chunks of records with a review model, in this process or in N worker processes.

Prediction is CPU-bound Python, so `--workers N` means N processes. Each worker is
started with `spawn` (a fresh interpreter: the parent holds threads, pyarrow's and the
progress bar's, which `fork` does not copy safely), loads the model once and ignores
Ctrl-C, which the parent handles. Chunks go out as they are read, at most two per worker
ahead (memory holds a few chunks, whatever the input size), and come back in input order.
Only the columns the model reads travel to a worker, and only predictions travel back.

A record's predictions do not depend on the other records of its chunk (features,
classifiers and probabilities are computed row by row), so any chunking and any number of
workers give the same output as scoring everything at once.
"""

from __future__ import annotations

import os
import signal
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing import get_context
from typing import Any, TypeVar

import pandas as pd

from peerscreen.review.top_terms import CANDIDATES
from peerscreen.tracking import load_review_model

#: The record columns a review model reads (see `models.features.model_frame`).
MODEL_INPUTS = ("title", "abstract", "year", "language", "mesh")
#: Chunks in flight per worker: one being scored, one waiting.
_AHEAD = 2
#: Records a model scores at once.
PREDICT_BATCH = 500

T = TypeVar("T")


@dataclass(frozen=True)
class ScoringSpec:
    """What to load and what to predict; it travels to every worker."""

    model: str
    tracking_uri: str | None = None
    #: rank: inclusion score, decision band and top terms; tag: category, outcomes, flags
    with_inclusion: bool = False
    target_recall: float | None = None


def predict(model: Any, frame: pd.DataFrame, spec: ScoringSpec) -> pd.DataFrame:
    """One chunk's predictions, exactly as `rank_records`/`tag_records` compute them, in
    batches of `PREDICT_BATCH` records (the feature matrices of a batch are the working
    memory of a worker: this keeps it small whatever the chunk size)."""
    parts = [
        _predict_batch(model, frame.iloc[start : start + PREDICT_BATCH], spec)
        for start in range(0, len(frame), PREDICT_BATCH)
    ]
    return parts[0] if len(parts) == 1 else pd.concat(parts, ignore_index=True)


def _predict_batch(model: Any, frame: pd.DataFrame, spec: ScoringSpec) -> pd.DataFrame:
    if spec.with_inclusion:
        # candidates: ranking drops the record set's boilerplate words and shows the rest
        return model.predict(frame, target_recall=spec.target_recall, top_terms=CANDIDATES)
    return model.predict(frame, with_inclusion=False, top_terms=0)


def default_workers() -> int:
    """One worker per CPU core this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def workers_for(requested: int, records: float | None, chunk_size: int) -> int:
    """Workers worth starting: no more than there are chunks to score (each worker loads the
    model, seconds of start-up an input of one chunk never wins back)."""
    if records is None:
        return max(1, requested)
    chunks = max(1, -(-int(records) // max(1, chunk_size)))
    return max(1, min(requested, chunks))


class Scorer:
    """`with Scorer(spec, workers) as scorer: for item, predictions in scorer.map(items)`."""

    def __init__(self, spec: ScoringSpec, workers: int = 1, *, model: Any = None):
        self.spec = spec
        self.workers = max(1, workers)
        self._model = model
        self._pool: ProcessPoolExecutor | None = None

    def __enter__(self) -> Scorer:
        if self.workers > 1:
            self._pool = ProcessPoolExecutor(
                self.workers,
                mp_context=get_context("spawn"),
                initializer=_start_worker,
                initargs=(self.spec,),
            )
        elif self._model is None:
            self._model = load_review_model(self.spec.model, self.spec.tracking_uri)
        return self

    def __exit__(self, *exc_info: Any) -> None:
        if self._pool is not None:
            # on an error or Ctrl-C, drop queued chunks; running ones finish (seconds)
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def map(self, items: Iterable[tuple[T, pd.DataFrame]]) -> Iterator[tuple[T, pd.DataFrame]]:
        """(item, records frame) -> (item, predictions), in the order given."""
        if self._pool is None:
            for item, frame in items:
                yield item, predict(self._model, _model_inputs(frame), self.spec)
            return
        pending: deque[tuple[T, Future]] = deque()
        for item, frame in items:
            pending.append((item, self._pool.submit(_predict_in_worker, _model_inputs(frame))))
            while len(pending) >= self.workers * _AHEAD:
                done, future = pending.popleft()
                yield done, future.result()
        while pending:
            done, future = pending.popleft()
            yield done, future.result()


def _model_inputs(frame: pd.DataFrame) -> pd.DataFrame:
    present = [c for c in MODEL_INPUTS if c in frame]
    return frame[present].reset_index(drop=True)


# -- in a worker process ----------------------------------------------------------------------
_worker: dict[str, Any] = {}


def _start_worker(spec: ScoringSpec) -> None:
    """Load the model once per worker; a failure is kept and raised by the first chunk,
    so the parent sees the real error instead of a broken pool."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _worker["spec"] = spec
    try:
        _worker["model"] = load_review_model(spec.model, spec.tracking_uri)
    except Exception as exc:  # re-raised in _predict_in_worker, with its own type
        _worker["error"] = exc


def _predict_in_worker(frame: pd.DataFrame) -> pd.DataFrame:
    if "error" in _worker:
        raise _worker["error"]
    return predict(_worker["model"], frame, _worker["spec"])
