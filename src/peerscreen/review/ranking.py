"""Rank new records for human checking, and tag them (category, outcomes, flags).

`rank_records` puts the likely inclusions first and says how far down a reviewer should read:
with calibrated probabilities, the expected number of inclusions is the sum of `p_include`,
and the first K records whose summed probability reaches the target share of that total
give "about 95% estimated recall". The decision bands are cut on the training records'
cross-validated scores, K on this set's probabilities; both rank by `p_include`, so the
include and check bands are always the top records and the summary states K in band terms
(the bands cover it, or "then the first N of the exclude band"), one instruction rather
than two figures that disagree. Input labels come out as `label_*` columns so they never
collide with predictions.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from peerscreen.io.records import RecordSet
from peerscreen.review.models.review_model import ReviewModel
from peerscreen.review.top_terms import CANDIDATES, DocumentFrequency, clean_top_terms
from peerscreen.tracking import PYFUNC_TAG_OUTPUTS

RANK_COLUMNS = (
    "rank",
    "record_id",
    "title",
    "p_include",
    "decision",
    "reviewer_decision",
    "exclusion_reason",
    "exclusion_flags",
    "category",
    "p_category",
    "outcomes",
    "outcome_scores",
    "top_terms",
    "evidence",
)
#: What `tag` writes: the record's id and title, then the pyfunc's tag outputs.
TAG_COLUMNS = ("record_id", "title", *PYFUNC_TAG_OUTPUTS)
LABEL_COLUMNS = {
    "included": "label_included",
    "category": "label_category",
    "outcomes": "label_outcomes",
    "exclusion_reason": "label_exclusion_reason",
}


@dataclass
class RankSummary:
    """How far down the ranking to read, in the decision bands' terms.

    `records_to_target` (K) is how many top records hold `target_recall` of the expected
    inclusions; `banded` how many the include and check bands hold (they are the top
    `banded` records), and `banded_recall` the estimated recall of reading just those.
    `p_at_target` is the score of record K: reading every record at or above it.
    """

    n_records: int
    decisions: dict[str, int]
    expected_inclusions: float
    target_recall: float
    records_to_target: int
    banded_recall: float = 0.0
    p_at_target: float = 0.0

    @property
    def banded(self) -> int:
        return self.decisions.get("include", 0) + self.decisions.get("check", 0)

    @property
    def beyond_bands(self) -> int:
        """Records of the exclude band that reading to the target also needs."""
        return max(0, self.records_to_target - self.banded)

    def sentence(self) -> str:
        """One instruction: which records to read, and the recall that gives."""
        n, k, banded = self.n_records, self.records_to_target, self.banded
        expected = f"~{self.expected_inclusions:.1f} inclusions expected among {n} records"
        bands = (
            f"the {self.decisions.get('include', 0)} include and "
            f"{self.decisions.get('check', 0)} check records"
        )
        if k == 0:
            return f"no record is likely to be included ({expected})"
        if self.beyond_bands:
            return (
                f"read ranks 1-{k} ({k / n:.0%}): {bands}, then the first "
                f"{self.beyond_bands} of the exclude band (p >= {self.p_at_target:.2f}), "
                f"for about {self.target_recall:.0%} estimated recall ({expected}; the "
                f"include and check bands alone: {self.banded_recall:.0%})"
            )
        return (
            f"read ranks 1-{banded} ({banded / n:.0%}): {bands} hold about "
            f"{self.banded_recall:.0%} estimated recall ({expected}; "
            f"{self.target_recall:.0%} is reached by rank {k})"
        )

    @staticmethod
    def explanation() -> str:
        """Why the reading depth and the bands can differ, in one plain sentence."""
        return (
            "The bands are cut on the training records' cross-validated scores; the reading "
            "depth adds up these records' probabilities, so it reaches into the exclude band "
            "when new records are less clear-cut than the training ones."
        )


def records_to_recall(p_sorted: np.ndarray, target: float) -> int:
    """How many top records hold `target` of the expected inclusions (sum of probabilities)."""
    total = float(p_sorted.sum())
    if total <= 0:
        return 0
    cumulative = np.cumsum(p_sorted) / total
    return int(np.searchsorted(cumulative, target - 1e-12) + 1)


def _input_columns(frame: pd.DataFrame, taken: set[str]) -> pd.DataFrame:
    """Every input field after the predictions: labels renamed, nothing overwritten."""
    frame = frame.rename(columns={k: v for k, v in LABEL_COLUMNS.items() if k in frame})
    keep = [c for c in frame.columns if c not in taken]
    return frame[keep]


def rank_records(
    records: RecordSet, model: ReviewModel, *, target_recall: float = 0.95
) -> tuple[pd.DataFrame, RankSummary]:
    """Predict and sort: the ranked table (predictions first, then every input field)."""
    predictions = model.predict(records, target_recall=target_recall, top_terms=CANDIDATES)
    frame = records.frame.reset_index(drop=True)
    frequency = DocumentFrequency()
    frequency.add(frame)
    predictions = clean_top_terms(predictions, frequency.boilerplate())
    p = predictions["p_include"].to_numpy()
    order = np.argsort(-p, kind="stable")
    table = ranked_table(frame.iloc[order], predictions.iloc[order], np.arange(1, len(order) + 1))
    summary = rank_summary(p[order], decision_counts(predictions), target_recall)
    return table, summary


def ranked_table(frame: pd.DataFrame, predictions: pd.DataFrame, ranks: np.ndarray) -> pd.DataFrame:
    """Rows of the ranked output, in the order given: rank, record_id, title, predictions
    (with an empty `reviewer_decision` beside the model's band, for the reviewer's own),
    then every input field."""
    frame = frame.reset_index(drop=True)
    predictions = predictions.reset_index(drop=True)
    head = pd.DataFrame({"rank": ranks, "record_id": frame["record_id"], "title": frame["title"]})
    earlier = frame.get("reviewer_decision")  # a queue ranked again keeps what was decided
    head["reviewer_decision"] = (
        earlier if earlier is not None else pd.Series([None] * len(frame), dtype=object)
    )
    predicted = [c for c in RANK_COLUMNS if c in predictions]
    table = pd.concat([head, predictions[predicted]], axis=1)
    table = table[[c for c in RANK_COLUMNS if c in table]]
    return pd.concat([table, _input_columns(frame, set(table.columns))], axis=1)


def decision_counts(predictions: pd.DataFrame) -> dict[str, int]:
    return {d: int((predictions["decision"] == d).sum()) for d in ("include", "check", "exclude")}


def rank_summary(
    p_sorted: np.ndarray, decisions: dict[str, int], target_recall: float
) -> RankSummary:
    """The summary of a ranking, from every score in rank order and the band counts."""
    k = records_to_recall(p_sorted, target_recall)
    total = float(p_sorted.sum())
    banded = decisions.get("include", 0) + decisions.get("check", 0)
    return RankSummary(
        n_records=len(p_sorted),
        decisions=decisions,
        expected_inclusions=total,
        target_recall=target_recall,
        records_to_target=k,
        banded_recall=float(p_sorted[:banded].sum()) / total if total > 0 else 0.0,
        p_at_target=float(p_sorted[k - 1]) if k else 0.0,
    )


def tag_records(records: RecordSet, model: ReviewModel) -> pd.DataFrame:
    """Category, outcome domains and criteria flags only: no inclusion score, no ranking."""
    predictions = model.predict(records, with_inclusion=False, top_terms=0)
    return tag_table(records.frame, predictions)


def tag_table(frame: pd.DataFrame, predictions: pd.DataFrame) -> pd.DataFrame:
    """Rows of the tagged output: record_id, title, predictions, then every input field."""
    frame = frame.reset_index(drop=True)
    head = pd.DataFrame({"record_id": frame["record_id"], "title": frame["title"]})
    table = pd.concat([head, predictions[[c for c in TAG_COLUMNS if c in predictions]]], axis=1)
    return pd.concat([table, _input_columns(frame, set(table.columns))], axis=1)
