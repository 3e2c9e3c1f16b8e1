"""The active learner behind screening and simulation: retrain on the labels, score the pool.

Features are computed once for the whole record set (TF-IDF is unsupervised, so fitting it
on every record, labelled or not, uses no label: ASReview does the same), and each retrain
fits a fresh, fast linear classifier on the labelled rows only.

Beside the words, the default model reads each record's publication year (`year_features`):
a review's inclusions cluster in time (its search dates, when the treatment it studies was
in use), and every export a team screens carries the year. ASReview LAB reads the words
only.

Rarity of inclusions: `BalancedLinearSVM` weighs each labelled record so that the
inclusions together count `ratio` (9.8) times as much as the exclusions together, however
few they are: ten inclusions among five hundred exclusions still move the decision boundary.
No undersampling, which would throw away exclusions a reviewer paid for.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.feature_extraction.text import TfidfVectorizer

from peerscreen.errors import PeerscreenError
from peerscreen.review.models.registry import get_backend
from peerscreen.screening.calibration import (
    apply_platt,
    fold_assignment,
    platt_fit,
    recalibration_due,
)
from peerscreen.screening.feature_cache import word_matrix
from peerscreen.screening.liblinear import fit_linear


def default_screening_featurizer(params: dict) -> Any:
    return TfidfVectorizer(
        ngram_range=(1, 2), sublinear_tf=True, min_df=1, max_df=0.95, strip_accents="unicode"
    )


def default_screening_head(params: dict, seed: int) -> Any:
    return BalancedLinearSVM(C=0.11, ratio=9.8, random_state=seed)


def balanced_weights(labels: np.ndarray, ratio: float) -> np.ndarray:
    """Per-record weights: each inclusion 1, each exclusion n_included / (ratio x n_excluded),
    then scaled to sum to the number of records (so C keeps its meaning as labels grow).
    The inclusions together weigh `ratio` times the exclusions together. This is ASReview
    LAB's "balanced" balancer, so both tools' default models are the same model."""
    labels = np.asarray(labels)
    included = labels == 1
    n_included, n_excluded = int(included.sum()), int((~included).sum())
    weights = np.where(included, 1.0, n_included / (ratio * max(1, n_excluded)))
    return weights * (len(labels) / weights.sum())


class BalancedLinearSVM(ClassifierMixin, BaseEstimator):
    """Linear SVM (squared hinge, L2) on `balanced_weights`: the default screening model.

    Why these weights and not a fixed class weight: with inclusions weighted a fixed 9.8x,
    the model's reach for the odd inclusion depended on how many exclusions had piled up,
    and on the 18 benchmark datasets (3 seeds, ASReview's priors) four of them ended more
    than 0.03 WSS@95 below ASReview (Chou_2004 by 0.11). With the weights scaled to the
    class counts, no dataset is more than 0.013 away and the mean is within 0.002.

    liblinear stops at tolerance 0.01 rather than 0.0001: half the time per fit, with the
    same rankings to within noise (mean WSS@95 0.3923 against 0.3925 on the same runs).
    The fit is `LinearSVC`'s, through `liblinear.fit_linear`."""

    _loss = "squared_hinge"

    def __init__(
        self,
        C: float = 0.11,
        ratio: float = 9.8,
        tol: float = 1e-2,
        random_state: int | None = None,
        metadata_start: int | None = None,
        metadata_weight: float = 0.3,
        metadata_ramp: int = 5,
    ):
        self.C = C
        self.ratio = ratio
        self.tol = tol
        self.random_state = random_state
        self.metadata_start = metadata_start
        self.metadata_weight = metadata_weight
        self.metadata_ramp = metadata_ramp

    def metadata_scale(self, n_included: int) -> float:
        """How much the metadata columns (from `metadata_start` on) count against the words:
        `metadata_weight`, reached once `metadata_ramp` inclusions are known. One inclusion's
        year says little about the rest, while its words say a lot."""
        if self.metadata_ramp <= 0:
            return self.metadata_weight
        return self.metadata_weight * min(1.0, n_included / self.metadata_ramp)

    def fit(self, X: Any, y: Any) -> BalancedLinearSVM:
        y = np.asarray(y, dtype=int)
        start = self.metadata_start
        factor = self.metadata_scale(int((y == 1).sum()))
        scaled = start is not None and start < X.shape[1] and factor != 1.0
        coef, self.intercept_ = fit_linear(
            _scale_columns(X, start, factor) if scaled else X,
            y,
            loss=self._loss,
            C=self.C,
            tol=self.tol,
            random_state=self.random_state,
            sample_weight=balanced_weights(y, self.ratio),
        )
        if scaled:  # fold the scale into the weights, so the model scores unscaled features
            coef = coef.copy()
            coef[:, start:] *= factor
        self.coef_ = coef
        self.classes_ = np.array([0, 1])
        return self

    def decision_function(self, X: Any) -> np.ndarray:
        return np.asarray(X @ self.coef_[0]).ravel() + self.intercept_[0]


class BalancedLogistic(BalancedLinearSVM):
    """L2 logistic regression on the same `balanced_weights` and column scale: the model of
    Cormack & Grossman's continuous active learning (CAL), a second opinion for
    `fusion.AdaptiveFusion` that errs differently from the SVM's hinge.

    Solved in the dual, as the SVM is: with far more TF-IDF columns than labelled records the
    primal solver took 4x as long per simulation (Cohen_2006_ProtonPumpInhibitors, seed 0:
    53 s against 18 s for `svm-lr`), enough to break the benchmark's wall-time budget."""

    def __init__(
        self,
        C: float = 1.0,
        ratio: float = 9.8,
        tol: float = 1e-3,
        random_state: int | None = None,
        metadata_start: int | None = None,
        metadata_weight: float = 0.0,
        metadata_ramp: int = 5,
    ):
        super().__init__(
            C=C,
            ratio=ratio,
            tol=tol,
            random_state=random_state,
            metadata_start=metadata_start,
            metadata_weight=metadata_weight,
            metadata_ramp=metadata_ramp,
        )

    _loss = "logistic_regression"


def _scale_columns(X: Any, start: int, factor: float) -> Any:
    """X with the columns from `start` on multiplied by `factor`: only the values change,
    so a CSR matrix keeps its index arrays and is scaled in one pass over its values (a
    sparse product with a diagonal matrix cost a third of each fit)."""
    if not sparse.issparse(X):
        scaled = np.array(X, dtype=float)
        scaled[:, start:] *= factor
        return scaled
    X = sparse.csr_matrix(X)
    data = X.data.copy()
    data[X.indices >= start] *= factor
    return sparse.csr_matrix((data, X.indices, X.indptr), shape=X.shape)


def _year_tokens(year: int | None) -> list[str]:
    if year is None:
        return []
    return [f"year={year}", f"5y={year // 5}", f"5y+2={(year + 2) // 5}"]


def _identity(tokens: list[str]) -> list[str]:
    return tokens


def year_features(years: list[int | None]) -> sparse.csr_matrix | None:
    """One TF-IDF row per record over its year and the two overlapping five-year spans that
    hold it, so a few inclusions from 1998 and 2001 also lift 1999 and 2000. Records without
    a year get an empty row. None when no record has a year.

    Why: on the 18 benchmark datasets (ASReview's priors, seeds 0-2) the year block raised
    mean WSS@95 from 0.400 to 0.437 (five random priors per dataset, seeds 3-7: 0.406 to
    0.429), most on Nelson_2002 (+0.19), Sep_2021 (+0.12) and Estrogens (+0.11); no dataset
    lost more than 0.03 (chosen in benchmarks/loop_lab as variant year03_r5)."""
    tokens = [_year_tokens(None if y is None or pd.isna(y) else int(y)) for y in years]
    if not any(tokens):
        return None
    vectorizer = TfidfVectorizer(analyzer=_identity, sublinear_tf=True)
    return sparse.csr_matrix(vectorizer.fit_transform(tokens))


class ActiveLearner:
    """Scores every record from the labels so far. State: the feature matrix, and the
    latest calibrated p_include of `scored` (reused while a new one is not due).

    `guide_texts` (e.g. the review's eligibility criteria in words) join every fit as
    inclusions that are always labelled: the review's own description of what it wants.
    With ASReview's priors on the 7 benchmark datasets that publish criteria, this raised
    mean WSS@95 over all 18 from 0.437 to 0.447 (Chou_2004 +0.16, Donners_2021 +0.04) and
    lowered none by more than 0.016.

    `years` (publication year per record, None where unknown) add `year_features` after the
    words, for heads that weigh metadata columns (the default `BalancedLinearSVM`)."""

    def __init__(
        self,
        texts: list[str],
        *,
        backend: str = "tfidf-lr",
        params: dict | None = None,
        seed: int = 0,
        guide_texts: list[str] | None = None,
        years: list[int | None] | None = None,
        year_weight: float | None = None,
        year_ramp: int | None = None,
    ):
        spec = get_backend(backend)
        self.params = spec.params(params)
        self.seed = seed
        make_features = spec.screening_featurizer or default_screening_featurizer
        make_head = spec.screening_head or default_screening_head
        self._head = make_head(self.params, seed)
        self._set_year_scale(year_weight, year_ramp)
        guides = [g for g in (guide_texts or []) if g and g.strip()]
        safe = [t if t.strip() else " " for t in [*texts, *guides]]
        matrix = word_matrix(backend, self.params, safe, make_features)
        n_word_columns = matrix.shape[1]
        matrix = self._with_years(matrix, years, len(guides))
        self.uses_years = matrix.shape[1] > n_word_columns
        self.features = matrix[: len(texts)]
        self.guide_features = matrix[len(texts) :]
        self.has_text = np.array([bool(t.strip()) for t in texts])
        #: (labels, inclusions, p_include or None) of the latest calibration
        self._calibration: tuple[int, int, np.ndarray | None] | None = None

    def _set_year_scale(self, weight: float | None, ramp: int | None) -> None:
        """Override the head's year-block weight and ramp (`BalancedLinearSVM`); the
        cross-review benchmark (`peerscreen bench --grid year_weight=...`) varies them."""
        settings = {"metadata_weight": weight, "metadata_ramp": ramp}
        settings = {k: v for k, v in settings.items() if v is not None}
        if not settings:
            return
        get_params = getattr(self._head, "get_params", None)
        if get_params is None or not set(settings) <= set(get_params()):
            raise PeerscreenError("this backend's screening head has no year block to weigh")
        self._head.set_params(**settings)

    def _with_years(
        self, matrix: sparse.csr_matrix, years: list[int | None] | None, n_guides: int
    ) -> sparse.csr_matrix:
        """The year block after the words, for heads that weigh metadata columns
        (`metadata_start`); the guide rows (criteria in words) have no year."""
        get_params = getattr(self._head, "get_params", None)
        if years is None or get_params is None or "metadata_start" not in get_params():
            return matrix
        block = year_features([*years, *([None] * n_guides)])
        if block is None:
            return matrix
        self._head.set_params(metadata_start=matrix.shape[1])
        stacked = sparse.hstack([matrix, block]).tocsr()
        stacked.sum_duplicates()  # canonical once here, not inside every fit's input checks
        return stacked

    @property
    def n_records(self) -> int:
        return self.features.shape[0]

    @property
    def year_scale(self) -> tuple[float, int] | None:
        """The head's (year weight, ramp), or None when the head has no year block."""
        params = self._head.get_params() if hasattr(self._head, "get_params") else {}
        if "metadata_weight" not in params:
            return None
        return params["metadata_weight"], params["metadata_ramp"]

    def variant(
        self,
        *,
        year_weight: float | None = None,
        year_ramp: int | None = None,
        head: Any | None = None,
    ) -> ActiveLearner:
        """A learner over the same feature matrix with another head (a `BalancedLinearSVM`
        kind, so it knows where the year block starts) or the year block weighed otherwise
        (`year_weight=0`: the words alone). `fusion.AdaptiveFusion` combines such variants
        without building the TF-IDF matrix twice."""
        twin = copy.copy(self)
        twin._head = clone(self._head if head is None else head)
        if head is not None and "metadata_start" in self._head.get_params():
            twin._head.set_params(metadata_start=self._head.get_params()["metadata_start"])
        twin._set_year_scale(year_weight, year_ramp)
        twin._calibration = None
        return twin

    def scores(self, labelled: np.ndarray, labels: np.ndarray) -> np.ndarray | None:
        """The ranking score of every record given `labels` (0/1) at the `labelled` indices:
        the head's p(inclusion) if it has one, else its decision value through a logistic
        curve. It orders records; it is not a calibrated probability (`scored` adds one).

        None until both classes have been seen (the caller falls back to its prior ranking).

        Records with neither title nor abstract are left out of the fit: their feature rows
        are empty, so all they could teach is a shift of the intercept and of the class
        weights, which moved the ranking of the records that do have text for no reason
        (on Cohen SkeletalMuscleRelaxants, 20% of whose records are empty, leaving them out
        raised WSS@95 from 0.13 to 0.26). They stay in only while they hold the only
        example of a class.
        """
        fitted = self._fit_all(labelled, labels)
        return None if fitted is None else _ranking(fitted[0], self.features)

    def scored(self, labelled: np.ndarray, labels: np.ndarray) -> LearnerScores | None:
        """`scores` plus a calibrated p_include per record (see `calibration`). The ranking
        is exactly `scores`. None until both classes have been seen.

        p_include: the labelled records are split into stratified folds; a head fitted
        without each fold scores it (out-of-fold decision values), and Platt scaling fitted
        on those turns the fold heads' mean decision on every record into a probability
        (a screened record gets its own out-of-fold one). The fold heads, not the full
        model, score the pool because a head fitted on fewer labels has smaller decision
        values: Platt fitted on the fold heads and applied to the full model read every
        record as likelier than it is (an off-topic record at 0.9 with four labels).

        Cost: one fit per fold on the labelled rows, so the p_include array is kept and
        reused until `calibration.recalibration_due` (a new or undone inclusion, or labels
        changed by 5%); in between, a retrain is the one fit it always was."""
        fitted = self._fit_all(labelled, labels)
        if fitted is None:
            return None
        head, labelled, labels = fitted
        ranking = _ranking(head, self.features)
        counts = (len(labels), int(labels.sum()))
        if self._calibration is None or recalibration_due(self._calibration[:2], counts):
            self._calibration = (*counts, self._calibrate(labelled, labels))
        return LearnerScores(ranking, self._calibration[2])

    def _calibrate(self, labelled: np.ndarray, labels: np.ndarray) -> np.ndarray | None:
        """Calibrated p_include for every record (None under `MIN_PER_CLASS` of a class)."""
        folds = fold_assignment(labels, self.seed)
        if folds is None:
            return None
        out_of_fold, pool = self._out_of_fold(labelled, labels, folds)
        slope, intercept = platt_fit(out_of_fold, labels)
        pool[labelled] = out_of_fold
        return apply_platt(pool, slope, intercept)

    def _fit_all(
        self, labelled: np.ndarray, labels: np.ndarray
    ) -> tuple[Any, np.ndarray, np.ndarray] | None:
        """The head fitted on every usable label, with the labelled indices and labels it
        used (textless records dropped, see `scores`); None with a single class."""
        labelled = np.asarray(labelled, dtype=int)
        labels = np.asarray(labels, dtype=int)
        if len(labelled) == 0 or labels.min() == labels.max():
            return None
        with_text = self.has_text[labelled]
        if not with_text.all() and len(np.unique(labels[with_text])) == 2:
            labelled, labels = labelled[with_text], labels[with_text]
        return self._fit(labelled, labels), labelled, labels

    def _fit(self, labelled: np.ndarray, labels: np.ndarray) -> Any:
        """A fresh head fitted on these labelled rows plus the guide texts (inclusions)."""
        head = clone(self._head)
        head.fit(self._with_guides(labelled), self._with_guide_labels(labels))
        return head

    def _with_guides(self, labelled: np.ndarray) -> sparse.csr_matrix:
        """The labelled rows, then the guide rows (they join every fit as inclusions)."""
        rows = self.features[labelled]
        if self.guide_features.shape[0]:
            rows = sparse.vstack([rows, self.guide_features]).tocsr()
        return rows

    def _with_guide_labels(self, labels: np.ndarray) -> np.ndarray:
        return np.r_[labels, np.ones(self.guide_features.shape[0], dtype=int)]

    def _out_of_fold(
        self, labelled: np.ndarray, labels: np.ndarray, folds: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Each labelled record's decision value from a head fitted without its fold, and
        the fold heads' mean decision value on every record.

        Why on a compact matrix: a fold's head only meets the columns the labelled and guide
        rows use (an L2 linear model gives every other column weight 0, so its decisions on
        the held-out rows are the same), and fitting over the few thousand columns those
        rows hold instead of every n-gram of the record set made each fold fit about ten
        times cheaper at 5,000 records."""
        n_guides = self.guide_features.shape[0]
        rows = self._with_guides(labelled)
        used = np.zeros(rows.shape[1], dtype=bool)
        used[rows.indices] = True
        columns = np.flatnonzero(used)
        compact = sparse.csr_matrix(
            (rows.data, (np.cumsum(used) - 1)[rows.indices], rows.indptr),
            shape=(rows.shape[0], len(columns)),
        )
        template = clone(self._head)
        start = (
            template.get_params().get("metadata_start") if hasattr(template, "get_params") else None
        )
        if start is not None:  # the metadata block starts at the first kept column past it
            template.set_params(metadata_start=int(np.searchsorted(columns, start)))
        guide_rows = np.arange(len(labelled), len(labelled) + n_guides)
        out_of_fold = np.empty(len(labelled))
        heads = []
        for fold in range(int(folds.max()) + 1):
            held = folds == fold
            head = clone(template)
            head.fit(
                compact[np.r_[np.flatnonzero(~held), guide_rows]],
                np.r_[labels[~held], np.ones(n_guides, dtype=int)],
            )
            out_of_fold[held] = _raw_decision(head, compact[np.flatnonzero(held)])
            heads.append(head)
        return out_of_fold, self._mean_decision(heads, columns)

    def _mean_decision(self, heads: list[Any], columns: np.ndarray) -> np.ndarray:
        """The fold heads' mean raw score on every record. Linear heads: their coefficients
        averaged and spread back to every column, then one product with the features
        (the mean of linear decisions is the decision of the mean model)."""
        coefs = [getattr(h, "coef_", None) for h in heads]
        if all(isinstance(c, np.ndarray) and c.shape == (1, len(columns)) for c in coefs):
            weights = np.zeros(self.features.shape[1])
            weights[columns] = np.mean([c[0] for c in coefs], axis=0)
            intercept = float(np.mean([np.ravel(h.intercept_)[0] for h in heads]))
            return np.asarray(self.features @ weights, dtype=float) + intercept
        narrowed = self.features[:, columns]
        return np.mean([_raw_decision(h, narrowed) for h in heads], axis=0)


@dataclass(frozen=True)
class LearnerScores:
    """One retrain's output: `ranking` orders the queue; `p_include` is the calibrated
    probability shown and exported (None until `calibration.MIN_PER_CLASS` of each class
    are labelled)."""

    ranking: np.ndarray
    p_include: np.ndarray | None


def _ranking(head: Any, features: sparse.csr_matrix) -> np.ndarray:
    """The ranking score: the head's p(inclusion), else its decision value through a
    logistic curve (orders records; not a calibrated probability)."""
    if hasattr(head, "predict_proba"):
        return head.predict_proba(features)[:, 1]
    return 1 / (1 + np.exp(-_decision(head, features)))


def _raw_decision(head: Any, features: sparse.csr_matrix) -> np.ndarray:
    """The score Platt scaling reads: the decision value, or the log-odds of the
    probability for heads without one."""
    if hasattr(head, "decision_function") or not hasattr(head, "predict_proba"):
        return np.asarray(_decision(head, features), dtype=float)
    p = np.clip(head.predict_proba(features)[:, 1], 1e-12, 1 - 1e-12)
    return np.log(p / (1 - p))


def _decision(head: Any, features: sparse.csr_matrix) -> np.ndarray:
    """`head.decision_function(features)`, computed directly for a binary linear model: the
    feature matrix was validated once when it was built, and re-checking it on every
    retrain cost a fifth of the loop's time."""
    coef = getattr(head, "coef_", None)
    intercept = getattr(head, "intercept_", None)
    if (
        isinstance(coef, np.ndarray)
        and coef.ndim == 2
        and coef.shape[0] == 1
        and intercept is not None
    ):
        return features @ coef[0] + float(np.ravel(intercept)[0])
    return head.decision_function(features)
