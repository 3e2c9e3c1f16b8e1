"""`ReviewModel`: one fitted featurizer and three heads for a review.

Inclusion (calibrated `p_include` and include/check/exclude bands), peer-support category
(4 classes), and outcome domains (multi-label with per-domain thresholds). The featurizer
is fitted once and shared, so a record is vectorised once however many heads read it. Each
head with its featurizer is also available as a plain scikit-learn `Pipeline`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse
from sklearn.pipeline import Pipeline

from peerscreen.errors import PeerscreenError
from peerscreen.io.records import RecordSet
from peerscreen.io.writers import LIST_SEPARATOR, PROBABILITY_DECIMALS
from peerscreen.review.criteria import CriteriaFlagger, CriteriaResult, Flag
from peerscreen.review.evidence import (
    ANY_CATEGORY,
    Evidence,
    EvidenceGate,
    RecordEvidence,
    evidence_json,
)
from peerscreen.review.models.features import (
    CRITERIA_COLUMN,
    criteria_results,
    fast_featurizer,
    model_frame,
)
from peerscreen.review.models.registry import get_backend
from peerscreen.review.protocol import Protocol

DECISIONS = ("include", "check", "exclude")


class NotEnoughLabelsError(PeerscreenError):
    pass


@dataclass(frozen=True)
class DecisionBands:
    """Cut points on `p_include`, chosen by cross-validation for a target recall.

    Below `exclude_below` lies the share of inclusions the target recall gives up; at or
    above `include_from` cross-validated precision reached the target too.
    """

    exclude_below: float
    include_from: float
    target_recall: float

    def decide(self, p: np.ndarray) -> np.ndarray:
        return np.where(
            p >= self.include_from, "include", np.where(p < self.exclude_below, "exclude", "check")
        )


def bands_from_scores(y: np.ndarray, p: np.ndarray, target_recall: float = 0.95) -> DecisionBands:
    """Pick cut points on out-of-fold scores: recall >= target above the lower cut, and
    precision >= target at or above the upper cut (1.0 if no cut reaches it)."""
    y = np.asarray(y).astype(int)
    p = np.asarray(p, dtype=float)
    order = np.argsort(-p, kind="stable")
    ps, ys = p[order], y[order]
    positives = max(1, ys.sum())
    tp = np.cumsum(ys)
    recall = tp / positives
    k = int(np.searchsorted(recall, target_recall - 1e-12)) if ys.sum() else len(ys) - 1
    k = min(k, len(ps) - 1)
    exclude_below = float(ps[k])
    precision = tp / np.arange(1, len(ys) + 1)
    ok = np.nonzero((precision >= target_recall) & np.r_[ps[1:] != ps[:-1], True])[0]
    include_from = float(ps[ok.max()]) if len(ok) else 1.0
    include_from = max(include_from, exclude_below)
    return DecisionBands(
        exclude_below=exclude_below, include_from=include_from, target_recall=target_recall
    )


class ReviewModel:
    """Fit on labelled records; predict inclusion, category and outcomes for new ones."""

    def __init__(
        self,
        protocol: Protocol,
        *,
        backend: str = "tfidf-lr",
        params: dict[str, Any] | None = None,
        random_state: int = 0,
    ):
        self.protocol = protocol
        self.backend = backend
        self.params = get_backend(backend).params(params)
        self.random_state = random_state
        self.bands: DecisionBands | None = None
        self.cv_scores: tuple[np.ndarray, np.ndarray] | None = None
        self.info: dict[str, Any] = {}

    # -- fitting -------------------------------------------------------------------------
    def fit(self, records: RecordSet | pd.DataFrame) -> ReviewModel:
        frame = records.frame if isinstance(records, RecordSet) else records
        matrix, _ = self._features(frame, fit=True)
        backend = get_backend(self.backend)
        seed = self.random_state

        included = frame["included"]
        mask = included.notna().to_numpy()
        y = included[mask].astype(int).to_numpy()
        if len(np.unique(y)) < 2:
            raise NotEnoughLabelsError(
                "need at least one included and one excluded record to train"
            )
        self.inclusion_ = backend.inclusion_head(self.params, seed).fit(matrix[mask], y)

        category = frame["category"] if "category" in frame else pd.Series([None] * len(frame))
        cmask = category.notna().to_numpy()
        self.category_ = None
        # a protocol without categories only screens: category labels in the data are ignored
        if self.protocol.categories and cmask.sum() and category[cmask].nunique() >= 2:
            self.category_ = backend.category_head(self.params, seed).fit(
                matrix[cmask], category[cmask].astype(str).to_numpy()
            )
        self.outcome_codes_ = list(self.protocol.outcome_codes)
        self.outcomes_ = None
        if cmask.sum():  # records labelled in the protocol format carry outcome labels
            lists = frame["outcomes"][cmask]
            Y = np.array([[int(code in set(o)) for code in self.outcome_codes_] for o in lists])
            if self.outcome_codes_ and Y.sum():
                self.outcomes_ = backend.outcome_head(self.params, seed).fit(matrix[cmask], Y)
        self.feature_names_ = np.asarray(self.features_[-1].get_feature_names_out(), dtype=object)
        return self

    # -- prediction ----------------------------------------------------------------------
    @property
    def flagger(self) -> CriteriaFlagger:
        cached = getattr(self, "_flagger", None)
        if cached is None:
            cached = self._flagger = CriteriaFlagger(self.protocol)
        return cached

    @property
    def evidence_gate(self) -> EvidenceGate:
        """The evidence rules compiled for this model's protocol (built once, never pickled)."""
        cached = getattr(self, "_evidence_gate", None)
        if cached is None:
            cached = self._evidence_gate = EvidenceGate(self.protocol)
        return cached

    @property
    def featurizer(self) -> Any:
        """The fitted featurizer with its faster transform (`fast_featurizer`): the same
        matrix, built once per loaded model and never pickled."""
        cached = getattr(self, "_fast_features", None)
        if cached is None or cached[0] is not self.features_:
            cached = self._fast_features = (self.features_, fast_featurizer(self.features_))
        return cached[1]

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state.pop("_flagger", None)
        state.pop("_fast_features", None)
        state.pop("_evidence_gate", None)
        return state

    def _features(
        self, frame: pd.DataFrame, *, fit: bool = False
    ) -> tuple[Any, list[CriteriaResult]]:
        X = model_frame(frame)
        results = criteria_results(self.flagger, X)
        X[CRITERIA_COLUMN] = results
        if fit:
            protocol = self.protocol.model_dump(mode="json")
            self.features_ = get_backend(self.backend).featurizer(protocol, self.params).fit(X)
        return self.featurizer.transform(X), results

    def transform(self, records: RecordSet | pd.DataFrame) -> tuple[Any, list[CriteriaResult]]:
        """Feature matrix and criteria results (the rules run once per record)."""
        frame = records.frame if isinstance(records, RecordSet) else records
        return self._features(frame)

    def bands_for(self, target_recall: float | None) -> DecisionBands:
        """Decision bands for `target_recall`, re-cut from the stored cross-validated scores."""
        if target_recall is None or self.cv_scores is None:
            return self.bands or DecisionBands(0.5, 0.5, 0.95)
        if self.bands is not None and abs(self.bands.target_recall - target_recall) < 1e-9:
            return self.bands
        y, p = self.cv_scores
        return bands_from_scores(y, p, target_recall)

    def predict_inclusion(self, matrix: Any) -> np.ndarray:
        return self.inclusion_.predict_proba(matrix)[:, 1]

    def predict(
        self,
        records: RecordSet | pd.DataFrame,
        *,
        top_terms: int = 5,
        with_inclusion: bool = True,
        target_recall: float | None = None,
    ) -> pd.DataFrame:
        """One row per record: p_include, decision, flags, category, outcomes, top terms,
        and the evidence of every tag and flag.

        A category or an outcome domain is tagged only on the record's own evidence
        (`EvidenceGate`): a cue of it outside background sentences, and for outcomes a
        score at or above the domain's floor too."""
        frame = records.frame if isinstance(records, RecordSet) else records
        gate = self.evidence_gate
        # the evidence pass first: it splits each record into sentences with the tokens it
        # has anyway, and the criteria rules then read the same split from the cache
        found = [
            gate.scan(t if isinstance(t, str) else None, a if isinstance(a, str) else None)
            for t, a in zip(_texts(frame, "title"), _texts(frame, "abstract"), strict=True)
        ]
        matrix, results = self.transform(frame)
        out = pd.DataFrame(index=range(matrix.shape[0]))
        if with_inclusion:
            p = self.predict_inclusion(matrix)
            out["p_include"] = p
            out["decision"] = self.bands_for(target_recall).decide(p)
        reasons = [_likely_exclusion(r) for r in results]
        if "decision" in out:  # an include decision carries no reason; flags stay as evidence
            reasons = [
                "" if d == "include" else r for d, r in zip(out["decision"], reasons, strict=True)
            ]
        out["exclusion_reason"] = reasons
        out["exclusion_flags"] = [r.describe() for r in results]
        categories: list[str] = [""] * len(found)
        if self.category_ is not None:
            probs = self.category_.predict_proba(matrix)
            classes = self.category_.classes_
            best = probs.argmax(axis=1)
            p_best = probs[np.arange(len(best)), best]
            categories = [
                gate.category_gate(str(c), float(p), e)
                for c, p, e in zip(classes[best], p_best, found, strict=True)
            ]
            column = {str(c): i for i, c in enumerate(classes)}
            out["category"] = np.array(categories, dtype=object)
            # the probability of the category given (of "none" where the gate chose it)
            out["p_category"] = [
                probs[i, column[c]] if c in column else p_best[i] for i, c in enumerate(categories)
            ]
        chosen = np.zeros((len(found), 0), dtype=bool)
        codes: list[str] = []
        if self.outcomes_ is not None:
            scores = self.outcomes_.predict_proba(matrix)
            codes = self.outcome_codes_
            chosen = gate.outcome_mask(codes, scores, scores >= self.outcomes_.thresholds_, found)
            out["outcomes"] = [
                LIST_SEPARATOR.join(c for c, on in zip(codes, row, strict=True) if on)
                for row in chosen
            ]
            out["outcome_scores"] = [
                LIST_SEPARATOR.join(
                    f"{c}={s:.{PROBABILITY_DECIMALS}f}"
                    for c, s, on in zip(codes, srow, row, strict=True)
                    if on
                )
                for srow, row in zip(scores, chosen, strict=True)
            ]
        out["design"] = [LIST_SEPARATOR.join(r.design) for r in results]
        out["evidence"] = [
            evidence_json(
                _record_evidence(e, c, [k for k, on in zip(codes, row, strict=True) if on], r)
            )
            for e, c, row, r in zip(found, categories, chosen, results, strict=True)
        ]
        if with_inclusion and top_terms:
            out["top_terms"] = self.top_terms(matrix, top_terms)
        return out

    def _inclusion_coefficients(self) -> np.ndarray | None:
        head = self.inclusion_
        inner = getattr(head, "calibrated_classifiers_", None)
        estimator = inner[0].estimator if inner else head
        coef = getattr(estimator, "coef_", None)
        return None if coef is None else np.asarray(coef).ravel()

    def top_terms(self, matrix: Any, k: int = 5) -> list[str]:
        """The words (word n-gram features) that pushed each inclusion score up most."""
        coef = self._inclusion_coefficients()
        if coef is None:
            return [""] * matrix.shape[0]
        readable = np.array([n.startswith("word__") for n in self.feature_names_])
        if not readable.any():  # e.g. embeddings only: no feature is a word to show
            return [""] * matrix.shape[0]
        weights = np.where(readable & (coef > 0), coef, 0.0)
        contributions = sparse.csr_matrix(matrix).multiply(weights).tocsr()
        terms = []
        for row in range(contributions.shape[0]):
            start, end = contributions.indptr[row], contributions.indptr[row + 1]
            idx, vals = contributions.indices[start:end], contributions.data[start:end]
            top = idx[np.argsort(-vals)[:k]] if len(idx) else []
            terms.append(
                LIST_SEPARATOR.join(
                    _readable_name(self.feature_names_[i]) for i in top if contributions[row, i] > 0
                )
            )
        return terms

    def pipeline(self, head: str = "inclusion") -> Pipeline:
        """A fitted scikit-learn Pipeline (featurizer + one head) for use outside peerscreen."""
        estimator = {
            "inclusion": self.inclusion_,
            "category": self.category_,
            "outcomes": self.outcomes_,
        }[head]
        return Pipeline([("features", self.features_), ("head", estimator)])


#: Evidence spans kept per tag (the first ones in the text).
EVIDENCE_PER_TAG = 3


def _texts(frame: pd.DataFrame, column: str) -> list:
    return list(frame[column]) if column in frame else [None] * len(frame)


def _record_evidence(
    found: RecordEvidence, category: str, outcomes: list[str], result: CriteriaResult
) -> list[Evidence]:
    """The evidence of one record's tags: its category's cues, each tagged outcome's cues,
    then each criteria flag's phrase (a reviewer sees why every tag and flag is there)."""
    own = found.categories.get(category) or [
        replace(e, code=category) for e in found.categories.get(ANY_CATEGORY, ())
    ]
    items = list(own[:EVIDENCE_PER_TAG]) if category else []
    for code in outcomes:
        items.extend(found.outcomes.get(code, ())[:EVIDENCE_PER_TAG])
    items.extend(_flag_evidence(flag) for flag in result.exclusions)
    return items


def _flag_evidence(flag: Flag) -> Evidence:
    return Evidence(
        code=flag.code,
        phrase=flag.evidence,
        start=flag.start,
        end=flag.end,
        sentence=flag.context,
        role=flag.role or flag.where,
    )


def _likely_exclusion(result: CriteriaResult) -> str:
    """The most confident flag's code (the protocol's order breaks ties), or ''."""
    if not result.exclusions:
        return ""
    best = max(result.exclusions, key=lambda f: f.confidence)
    return best.code


def _readable_name(name: str) -> str:
    prefix, _, rest = name.partition("__")
    return rest if prefix == "word" else rest.replace("=", ":")
