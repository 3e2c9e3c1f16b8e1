"""Tag and rank inputs of any size: read in chunks, score in batches, write as results come.

`tag_files` and `rank_files` are what `peerscreen tag` and `peerscreen rank` call. Memory
holds a few chunks of records (`chunk_size`, 2,000 by default), whatever the input size:

- **Reading.** Inputs up to `STREAM_ABOVE` bytes are imported whole, as `import` does, and
  deduplicated in full (`dedup.deduplicate`); the output is exactly what scoring them at
  once gives. Larger inputs are streamed (`readers.chunked`) and deduplicated in one pass
  (`dedup.StreamingDedup`: a later record repeating a kept record's DOI, PMID or title +
  year is dropped, not merged); a record id repeated across files gets its file's stem as
  a prefix (`stem:id`) when streaming, where `import` would prefix every id.
- **Scoring** runs in this process or in `workers` processes (`scoring.Scorer`); results
  come back in input order.
- **Tag** writes each chunk to the output as it is scored (`sinks`); the output appears,
  complete, when the last chunk is written.
- **Rank** needs every score before the first row: it keeps the scores (8 bytes a record)
  and spills the scored rows to disk, then writes them in rank order (bucketed by rank, so
  one bucket at a time is in memory). The ranking, the decisions, the summary and the top
  terms (boilerplate words of the whole record set dropped, `review.top_terms`) are those
  of `ranking.rank_records`.
- **Failures.** Nothing is left at the output path by an error or Ctrl-C. With `resume`,
  finished chunks are kept beside the output (`.<name>.partial/`) and a rerun of the same
  command with `resume` scores only the rest; the finished output is identical to an
  uninterrupted run. The folder records the inputs (path, size, modification time), the
  model, and the options that decide the chunks; resuming with any of them changed is
  refused. Without `resume`, such a folder from an earlier run is discarded.
"""

from __future__ import annotations

import pickle
import shutil
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from peerscreen.batch.scoring import Scorer, ScoringSpec, workers_for
from peerscreen.batch.sidecar import ResumeError, Sidecar, manifest
from peerscreen.batch.sinks import open_sink, output_suffix
from peerscreen.batch.sources import BatchOptions, Chunk, RecordSource
from peerscreen.errors import PeerscreenError
from peerscreen.io.writers import atomic_path
from peerscreen.review.models.review_model import DECISIONS
from peerscreen.review.ranking import (
    RankSummary,
    decision_counts,
    rank_summary,
    ranked_table,
    tag_table,
)
from peerscreen.review.top_terms import DocumentFrequency, clean_top_terms

#: Ranked rows per bucket when writing a spilled ranking in rank order.
_BUCKET_CHUNKS = 10


class NoRecordsError(PeerscreenError):
    """The inputs hold no records (e.g. a CSV with only a header line)."""

    def __init__(self, action: str, files: Sequence[str | Path]):
        names = ", ".join(str(f) for f in files)
        super().__init__(f"no records to {action} in {names} (is it only a header line?)")


@dataclass
class ProgressReport:
    """What a progress bar needs after each chunk: records scored, and units of work done
    out of `total` (records when the count is known up front, else bytes of input)."""

    records: int = 0
    done: float = 0
    total: float = 0
    unit: str = "records"


@dataclass
class BatchResult:
    n_records: int
    output: Path | None
    categories: dict[str, int] = field(default_factory=dict)
    summary: RankSummary | None = None
    head: pd.DataFrame | None = None
    streamed: bool = False
    dropped_duplicates: int = 0
    resumed_chunks: int = 0


ProgressCallback = Callable[[ProgressReport], None]


# -- tag ----------------------------------------------------------------------------------------
def tag_files(
    files: Sequence[str | Path],
    output: str | Path,
    spec: ScoringSpec,
    options: BatchOptions,
    *,
    model: Any = None,
    progress: ProgressCallback | None = None,
) -> BatchResult:
    """Tag every record of `files` into `output` (format by extension)."""
    output = Path(output)
    output_suffix(output)
    source = RecordSource(files, options)
    tracker = _Tracker(source, progress)
    counts: Counter[str] = Counter()
    sidecar = Sidecar(output)
    if not options.resume:
        sidecar.remove()  # an unfinished run this one replaces
        n = _tag_into(output, source, spec, options, model, tracker, counts)
        finished: set[int] = set()
    else:
        finished = sidecar.open(manifest("tag", source.files, spec, options), resume=True)
        with Scorer(spec, _workers(options, source), model=model) as scorer:
            for chunk, predictions in scorer.map(_unfinished(source.chunks(), finished, tracker)):
                sidecar.write(chunk.index, tag_table(chunk.records.frame, predictions))
                tracker.scored(chunk)
        n = _assemble_tag(sidecar, output, counts, source.files)
        sidecar.remove()
    return BatchResult(
        n_records=n,
        output=output,
        categories=_category_counts(counts),
        streamed=source.streamed,
        dropped_duplicates=source.dropped,
        resumed_chunks=len(finished),
    )


def _tag_into(
    output: Path,
    source: RecordSource,
    spec: ScoringSpec,
    options: BatchOptions,
    model: Any,
    tracker: _Tracker,
    counts: Counter[str],
) -> int:
    """Score and write chunk by chunk into a temporary file, renamed into place at the end
    (removed on any error or Ctrl-C)."""
    n = 0
    with atomic_path(output) as temp:
        sink = open_sink(temp, output)
        try:
            with Scorer(spec, _workers(options, source), model=model) as scorer:
                chunks = ((c, c.records.frame) for c in source.chunks())
                for chunk, predictions in scorer.map(chunks):
                    table = tag_table(chunk.records.frame, predictions)
                    if "category" in table:
                        counts.update(table["category"].dropna().tolist())
                    sink.write(table)
                    n += len(table)
                    tracker.scored(chunk)
        finally:
            sink.close()
        if not n:
            raise NoRecordsError("tag", source.files)
    return n


def _assemble_tag(
    sidecar: Sidecar, output: Path, counts: Counter[str], files: Sequence[Path]
) -> int:
    """Write the finished chunks, in order, into the output."""
    indices = sorted(sidecar.finished())
    if not indices:
        raise NoRecordsError("tag", files)
    n = 0
    with atomic_path(output) as temp:
        sink = open_sink(temp, output)
        try:
            for index in indices:
                table = sidecar.read(index)
                if "category" in table:
                    counts.update(table["category"].dropna().tolist())
                sink.write(table)
                n += len(table)
        finally:
            sink.close()
    return n


def _category_counts(counts: Counter[str]) -> dict[str, int]:
    """Counts by category, most frequent first (as `value_counts` orders them)."""
    if not counts:
        return {}
    return pd.Series(counts).sort_values(ascending=False).to_dict()


# -- rank ---------------------------------------------------------------------------------------
def rank_files(
    files: Sequence[str | Path],
    output: str | Path | None,
    spec: ScoringSpec,
    options: BatchOptions,
    *,
    top: int = 15,
    model: Any = None,
    progress: ProgressCallback | None = None,
) -> BatchResult:
    """Rank every record of `files` by `p_include`; write them in rank order to `output`
    (if given). The result carries the summary and the first `top` rows."""
    if output is None and options.resume:
        raise ResumeError("--resume needs an output file (-o)")
    source = RecordSource(files, options)
    tracker = _Tracker(source, progress)
    if output is None:
        return _rank_in_memory(source, spec, options, top, model, tracker)
    output = Path(output)
    output_suffix(output)
    sidecar = Sidecar(output)
    finished = sidecar.open(manifest("rank", source.files, spec, options), resume=options.resume)
    scores: dict[int, np.ndarray] = {}
    decisions: Counter[str] = Counter()
    try:
        for index in finished:
            table = sidecar.read(index)
            scores[index] = table["p_include"].to_numpy()
            decisions.update(decision_counts(table))
        with Scorer(spec, _workers(options, source), model=model) as scorer:
            for chunk, predictions in scorer.map(_unfinished(source.chunks(), finished, tracker)):
                ranks = np.zeros(len(predictions), dtype=np.int64)
                sidecar.write(chunk.index, ranked_table(chunk.records.frame, predictions, ranks))
                scores[chunk.index] = predictions["p_include"].to_numpy()
                decisions.update(decision_counts(predictions))
                tracker.scored(chunk)
        if not scores:
            raise NoRecordsError("rank", source.files)
        p_sorted, head = _write_ranking(sidecar, output, scores, options.chunk_size, top)
    except BaseException:
        if not options.resume:
            sidecar.remove()
        raise
    sidecar.remove()
    summary = rank_summary(p_sorted, {d: decisions[d] for d in DECISIONS}, _recall(spec))
    return BatchResult(
        n_records=summary.n_records,
        output=output,
        summary=summary,
        head=head,
        streamed=source.streamed,
        dropped_duplicates=source.dropped,
        resumed_chunks=len(finished),
    )


def _write_ranking(
    sidecar: Sidecar, output: Path, scores: dict[int, np.ndarray], chunk_size: int, top: int
) -> tuple[np.ndarray, pd.DataFrame]:
    """All scores -> ranks; the spilled rows -> buckets of consecutive ranks -> the output,
    one bucket in memory at a time. Returns the scores in rank order and the first rows."""
    indices = sorted(scores)
    p = np.concatenate([scores[i] for i in indices])
    order = np.argsort(-p, kind="stable")
    ranks = np.empty(len(p), dtype=np.int64)
    ranks[order] = np.arange(1, len(p) + 1)
    bucket_rows = chunk_size * _BUCKET_CHUNKS
    buckets = sidecar.folder / "buckets"
    shutil.rmtree(buckets, ignore_errors=True)  # from an interrupted earlier attempt
    buckets.mkdir()
    frequency = DocumentFrequency()
    start = 0
    for index in indices:
        table = sidecar.read(index)
        frequency.add(table)
        table["rank"] = ranks[start : start + len(table)]
        start += len(table)
        which = (table["rank"].to_numpy() - 1) // bucket_rows
        for bucket in np.unique(which):
            with (buckets / f"{bucket:06d}.pkl").open("ab") as handle:
                pickle.dump(table[which == bucket], handle, protocol=pickle.HIGHEST_PROTOCOL)
    stop = frequency.boilerplate()
    head = None
    with atomic_path(output) as temp:
        sink = open_sink(temp, output)
        try:
            for path in sorted(buckets.glob("*.pkl")):
                block = pd.concat(list(_pickles(path)), ignore_index=True)
                block = block.sort_values("rank", kind="stable").reset_index(drop=True)
                block = clean_top_terms(block, stop)
                if head is None:
                    head = block.head(top)
                sink.write(block)
        finally:
            sink.close()
    return p[order], head


def _recall(spec: ScoringSpec) -> float:
    return spec.target_recall if spec.target_recall is not None else 0.95


def _pickles(path: Path) -> Iterator[pd.DataFrame]:
    with path.open("rb") as handle:
        while True:
            try:
                yield pickle.load(handle)
            except EOFError:
                return


def _rank_in_memory(
    source: RecordSource,
    spec: ScoringSpec,
    options: BatchOptions,
    top: int,
    model: Any,
    tracker: _Tracker,
) -> BatchResult:
    """No output file: keep every score and the best `top` rows so far, nothing else."""
    scores, decisions = [], Counter()
    best: pd.DataFrame | None = None
    frequency = DocumentFrequency()
    seen = 0
    with Scorer(spec, _workers(options, source), model=model) as scorer:
        for chunk, predictions in scorer.map((c, c.records.frame) for c in source.chunks()):
            p = predictions["p_include"].to_numpy()
            scores.append(p)
            decisions.update(decision_counts(predictions))
            frequency.add(chunk.records.frame)
            table = ranked_table(chunk.records.frame, predictions, np.arange(seen, seen + len(p)))
            seen += len(p)
            candidates = table if best is None else pd.concat([best, table], ignore_index=True)
            order = np.lexsort((candidates["rank"].to_numpy(), -candidates["p_include"].to_numpy()))
            best = candidates.iloc[order[:top]].reset_index(drop=True)
            tracker.scored(chunk)
    if not scores:
        raise NoRecordsError("rank", source.files)
    p_all = np.concatenate(scores)
    order = np.argsort(-p_all, kind="stable")
    summary = rank_summary(p_all[order], {d: decisions[d] for d in DECISIONS}, _recall(spec))
    if best is not None:
        best["rank"] = np.arange(1, len(best) + 1)
        best = clean_top_terms(best, frequency.boilerplate())
    return BatchResult(
        n_records=len(p_all),
        output=None,
        summary=summary,
        head=best,
        streamed=source.streamed,
        dropped_duplicates=source.dropped,
    )


# -- plumbing -------------------------------------------------------------------------------------
def _workers(options: BatchOptions, source: RecordSource) -> int:
    """`options.workers`, capped at the number of chunks when the record count is known."""
    known = source.total if source.unit == "records" else None
    return workers_for(options.workers, known, options.chunk_size)


class _Tracker:
    """Turns scored chunks into `ProgressReport`s."""

    def __init__(self, source: RecordSource, callback: ProgressCallback | None):
        self.state = ProgressReport(total=source.total, unit=source.unit)
        self.callback = callback

    def scored(self, chunk: Chunk) -> None:
        self.state.records += len(chunk.records)
        self.state.done = max(self.state.done, chunk.done)
        if self.callback is not None:
            self.callback(self.state)


def _unfinished(
    chunks: Iterator[Chunk], finished: set[int], tracker: _Tracker
) -> Iterator[tuple[Chunk, pd.DataFrame]]:
    """Chunks still to score (finished ones are read, to keep dedup state, and skipped)."""
    for chunk in chunks:
        if chunk.index in finished:
            tracker.scored(chunk)
            continue
        yield chunk, chunk.records.frame
