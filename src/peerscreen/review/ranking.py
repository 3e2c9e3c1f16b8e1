"""Rank new records for human checking, and tag them (category, outcomes, flags).

`rank_records` puts the likely inclusions first and says how far down a reviewer should read:
with calibrated probabilities, the expected number of inclusions is the sum of `p_include`,
and the first K records whose summed probability reaches the target share of that total
give "about 95% estimated recall". Input labels come out as `label_*` columns so they never
collide with predictions.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from peerscreen.io.records import RecordSet
from peerscreen.review.models.review_model import ReviewModel
from peerscreen.tracking import PYFUNC_TAG_OUTPUTS

RANK_COLUMNS = (
    "rank",
    "record_id",
    "title",
    "p_include",
    "decision",
    "exclusion_reason",
    "exclusion_flags",
    "category",
    "p_category",
    "outcomes",
    "outcome_scores",
    "top_terms",
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
    n_records: int
    decisions: dict[str, int]
    expected_inclusions: float
    target_recall: float
    records_to_target: int

    def sentence(self) -> str:
        share = self.records_to_target / self.n_records if self.n_records else 0
        return (
            f"check the first {self.records_to_target} records ({share:.0%}) to reach about "
            f"{self.target_recall:.0%} estimated recall "
            f"(~{self.expected_inclusions:.1f} inclusions expected among {self.n_records})"
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
    predictions = model.predict(records, target_recall=target_recall)
    frame = records.frame.reset_index(drop=True)
    p = predictions["p_include"].to_numpy()
    order = np.argsort(-p, kind="stable")
    table = ranked_table(frame.iloc[order], predictions.iloc[order], np.arange(1, len(order) + 1))
    summary = rank_summary(p[order], decision_counts(predictions), target_recall)
    return table, summary


def ranked_table(frame: pd.DataFrame, predictions: pd.DataFrame, ranks: np.ndarray) -> pd.DataFrame:
    """Rows of the ranked output, in the order given: rank, record_id, title, predictions,
    then every input field."""
    frame = frame.reset_index(drop=True)
    predictions = predictions.reset_index(drop=True)
    head = pd.DataFrame({"rank": ranks, "record_id": frame["record_id"], "title": frame["title"]})
    predicted = [c for c in RANK_COLUMNS if c in predictions]
    table = pd.concat([head, predictions[predicted]], axis=1)
    table = table[[c for c in RANK_COLUMNS if c in table]]
    return pd.concat([table, _input_columns(frame, set(table.columns))], axis=1)


def decision_counts(predictions: pd.DataFrame) -> dict[str, int]:
    return {d: int((predictions["decision"] == d).sum()) for d in ("include", "check", "exclude")}


def rank_summary(
    p_sorted: np.ndarray, decisions: dict[str, int], target_recall: float
) -> RankSummary:
    """The summary of a ranking, from every score in rank order."""
    return RankSummary(
        n_records=len(p_sorted),
        decisions=decisions,
        expected_inclusions=float(p_sorted.sum()),
        target_recall=target_recall,
        records_to_target=records_to_recall(p_sorted, target_recall),
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
