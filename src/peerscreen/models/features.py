"""Model inputs: the record frame every backend reads, and criteria flags as features.

Estimators take a pandas DataFrame with the columns of `MODEL_COLUMNS` (build it with
`model_frame`), so text models, rule features and metadata checks all see the same record.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse
from sklearn.base import BaseEstimator, TransformerMixin

from peerscreen.criteria import CriteriaFlagger, CriteriaResult
from peerscreen.protocol import Protocol
from peerscreen.records import RecordSet, join_text

MODEL_COLUMNS = ("text", "title", "abstract", "year", "language", "mesh")
#: Optional column of precomputed `CriteriaResult`s, so ranking runs the rules only once.
CRITERIA_COLUMN = "_criteria"


def model_frame(records: RecordSet | pd.DataFrame) -> pd.DataFrame:
    """The columns models read, from a RecordSet or any frame with title/abstract."""
    frame = records.frame if isinstance(records, RecordSet) else records
    title = frame["title"] if "title" in frame else pd.Series([None] * len(frame))
    abstract = frame["abstract"] if "abstract" in frame else pd.Series([None] * len(frame))
    title = [t if isinstance(t, str) else None for t in title]
    abstract = [a if isinstance(a, str) else None for a in abstract]
    out = pd.DataFrame(
        {
            "text": [join_text(t, a) for t, a in zip(title, abstract, strict=True)],
            "title": title,
            "abstract": abstract,
            "year": _column(frame, "year", None),
            "language": _column(frame, "language", None),
            "mesh": [m if isinstance(m, list) else [] for m in _column(frame, "mesh", None)],
        }
    )
    if CRITERIA_COLUMN in frame:
        out[CRITERIA_COLUMN] = list(frame[CRITERIA_COLUMN])
    return out


def _column(frame: pd.DataFrame, name: str, default: Any) -> list:
    if name not in frame:
        return [default] * len(frame)
    values = []
    for value in frame[name]:
        missing = value is None or value is pd.NA or (isinstance(value, float) and value != value)
        values.append(default if missing else value)
    return values


def criteria_results(flagger: CriteriaFlagger, frame: pd.DataFrame) -> list[CriteriaResult]:
    if CRITERIA_COLUMN in frame:
        return list(frame[CRITERIA_COLUMN])
    # pandas turns [2001, None] into floats with NaN: a missing year must stay None
    years = [None if y is None or pd.isna(y) else int(y) for y in frame["year"]]
    return flagger.flag_many(
        list(frame["title"]), list(frame["abstract"]), years, list(frame["language"])
    )


class _LazyFlagger:
    """Mixin: a CriteriaFlagger built on first use from `self.protocol`, never pickled."""

    protocol: dict | None

    def _flagger(self) -> CriteriaFlagger:
        flagger = self.__dict__.get("_flagger_cache")
        if flagger is None:
            flagger = CriteriaFlagger(Protocol.model_validate(self.protocol))
            self.__dict__["_flagger_cache"] = flagger
        return flagger

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state.pop("_flagger_cache", None)
        return state


class AddCriteria(_LazyFlagger, TransformerMixin, BaseEstimator):
    """First featurizer step: run the criteria rules and add their results as a column
    (a column already present, e.g. computed once by `ReviewModel`, is passed through)."""

    def __init__(self, protocol: dict | None = None):
        self.protocol = protocol

    def fit(self, X: pd.DataFrame, y: Any = None) -> AddCriteria:
        return self

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        if CRITERIA_COLUMN in X:
            return X
        X = X.copy()
        X[CRITERIA_COLUMN] = criteria_results(self._flagger(), X)
        return X

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        return np.asarray([*MODEL_COLUMNS, CRITERIA_COLUMN], dtype=object)


class CriteriaFeatures(TransformerMixin, BaseEstimator):
    """Criteria flags as numeric features: one column per exclusion code (its confidence),
    design and population cues (0/1), category and outcome cue counts (log-scaled), and
    outcome domains implied by MeSH headings (0/1). Reads the `_criteria` column that
    `AddCriteria` adds, and the `mesh` column.

    `protocol` is the protocol as a plain dict (`Protocol.model_dump()`), so the estimator
    clones and pickles cleanly.
    """

    def __init__(self, protocol: dict | None = None):
        self.protocol = protocol

    def fit(self, X: pd.DataFrame, y: Any = None) -> CriteriaFeatures:
        protocol = Protocol.model_validate(self.protocol)
        names = [f"exclusion={c}" for c in protocol.exclusion_codes]
        names += [f"design={d}" for d in protocol.design]
        names += [f"population={p}" for p in protocol.population]
        names += [f"category_cue={c}" for c in protocol.category_codes]
        names += [f"outcome_cue={o}" for o in protocol.outcome_codes]
        names += [f"mesh_outcome={o}" for o in protocol.outcome_codes]
        self.feature_names_out_ = np.array(names, dtype=object)
        self.mesh_to_outcome_ = dict(protocol.mesh_to_outcome)
        return self

    def transform(self, X: pd.DataFrame) -> sparse.csr_matrix:
        results: list[CriteriaResult] = list(X[CRITERIA_COLUMN])
        index = {name: i for i, name in enumerate(self.feature_names_out_)}
        rows, cols, values = [], [], []

        def put(row: int, name: str, value: float) -> None:
            if value:
                rows.append(row)
                cols.append(index[name])
                values.append(value)

        mesh_map = self.mesh_to_outcome_
        for row, (result, mesh) in enumerate(zip(results, X["mesh"], strict=True)):
            for flag in result.exclusions:
                put(row, f"exclusion={flag.code}", flag.confidence)
            for name in result.design:
                put(row, f"design={name}", 1.0)
            for name in result.population:
                put(row, f"population={name}", 1.0)
            for code, count in result.category_cues.items():
                put(row, f"category_cue={code}", float(np.log1p(count)))
            for code, count in result.outcome_cues.items():
                put(row, f"outcome_cue={code}", float(np.log1p(count)))
            for code in {mesh_map[m] for m in mesh or [] if m in mesh_map}:
                put(row, f"mesh_outcome={code}", 1.0)
        shape = (len(X), len(self.feature_names_out_))
        return sparse.csr_matrix((values, (rows, cols)), shape=shape, dtype=np.float64)

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        return self.feature_names_out_
