"""The screening learner registry: how the loop turns labels into a ranking, by name.

A backend (`review.models.registry`) says which features and which classifier; a learner
says how the loop uses them: one classifier over the words and the publication year, the
words alone, or several such classifiers fused by how well each ranks this review
(`fusion.AdaptiveFusion`). `simulate`, `bench` and `screen` take `--learner NAME`; a new
variant is one function and one `register_learner` call, and `tests/screening/
test_learners.py` holds every registered learner to the same contract.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from peerscreen.errors import PeerscreenError
from peerscreen.screening.fusion import DEFAULT_SHARPNESS, AdaptiveFusion
from peerscreen.screening.learner import ActiveLearner, BalancedLogistic, LearnerScores


class ScreeningLearner(Protocol):
    """What the loop needs of a learner."""

    has_text: np.ndarray
    uses_years: bool

    @property
    def n_records(self) -> int: ...

    def scores(self, labelled: np.ndarray, labels: np.ndarray) -> np.ndarray | None: ...

    def scored(self, labelled: np.ndarray, labels: np.ndarray) -> LearnerScores | None: ...


@dataclass(frozen=True)
class LearnerSpec:
    name: str
    description: str
    build: Callable[..., ScreeningLearner]


LEARNERS: dict[str, LearnerSpec] = {}
#: The default of `simulate`, `bench` and `screen` (chosen in benchmarks/RESULTS.md,
#: "Screening learners, cross-review validation"): `svm-lr` was chosen on the other two
#: groups for each of the three held-out groups, held-out WSS@95 0.452 against `svm`'s 0.446.
DEFAULT_LEARNER = "svm-lr"


def register_learner(spec: LearnerSpec) -> LearnerSpec:
    LEARNERS[spec.name] = spec
    return spec


def get_learner(name: str) -> LearnerSpec:
    try:
        return LEARNERS[name]
    except KeyError:
        raise PeerscreenError(
            f"unknown learner '{name}' (choose from {', '.join(sorted(LEARNERS))})"
        ) from None


def build_learner(name: str, texts: list[str], **options: Any) -> ScreeningLearner:
    """The learner `name` over `texts`; options as `ActiveLearner` takes them (backend,
    params, seed, guide_texts, years, year_weight, year_ramp)."""
    return get_learner(name).build(texts, **options)


def _svm(texts: list[str], **options: Any) -> ActiveLearner:
    return ActiveLearner(texts, **options)


def _svm_words(texts: list[str], **options: Any) -> ActiveLearner:
    options = {**options, "years": None, "year_weight": None, "year_ramp": None}
    return ActiveLearner(texts, **options)


def _fusion(
    sharpness: float, *, with_lr: bool = False, window: int | None = None
) -> Callable[..., ScreeningLearner]:
    def build(texts: list[str], **options: Any) -> ScreeningLearner:
        with_year = ActiveLearner(texts, **options)
        if not with_year.uses_years and not with_lr:  # no year block to weigh: nothing to fuse
            return with_year
        members: dict[str, ScreeningLearner] = {"words+year": with_year}
        if with_year.uses_years:
            members["words"] = with_year.variant(year_weight=0.0)
        if with_lr:
            seed = options.get("seed", 0)
            members["lr-words"] = with_year.variant(head=BalancedLogistic(random_state=seed))
        return AdaptiveFusion(members, sharpness=sharpness, window=window)

    return build


register_learner(
    LearnerSpec(
        "svm",
        "one balanced linear SVM over the words and the publication year (issue 4's model)",
        _svm,
    )
)
register_learner(
    LearnerSpec("svm-words", "the same SVM over the words alone (ASReview's features)", _svm_words)
)
register_learner(
    LearnerSpec(
        "fusion",
        "words+year and words-only SVMs, rank-fused with weights from each one's AUC on the "
        "records screened so far in this run",
        _fusion(DEFAULT_SHARPNESS),
    )
)
register_learner(
    LearnerSpec(
        "fusion-equal",
        "words+year and words-only SVMs, rank-fused with equal weights",
        _fusion(0.0),
    )
)
register_learner(
    LearnerSpec(
        "fusion-sharp",
        "as fusion, but leaning harder on the member that ranks this review better",
        _fusion(40.0),
    )
)
register_learner(
    LearnerSpec(
        "fusion-lr",
        "as fusion, with a third member: logistic regression on the words (CAL's model)",
        _fusion(DEFAULT_SHARPNESS, with_lr=True),
    )
)


def _svm_and_lr(texts: list[str], **options: Any) -> ScreeningLearner:
    """The SVM and a logistic regression, both over the words and the year, fused with equal
    weights: two losses over the same features, so the year block stays in both."""
    svm = ActiveLearner(texts, **options)
    seed = options.get("seed", 0)
    weight, ramp = svm.year_scale if svm.uses_years else (0.0, 5)
    head = BalancedLogistic(C=5.0, random_state=seed, metadata_weight=weight, metadata_ramp=ramp)
    return AdaptiveFusion({"svm": svm, "lr": svm.variant(head=head)}, sharpness=0.0)


register_learner(
    LearnerSpec(
        "svm-lr",
        "the SVM and a logistic regression (C 5), both over the words and the year, "
        "rank-fused with equal weights",
        _svm_and_lr,
    )
)
register_learner(
    LearnerSpec(
        "fusion-window",
        "as fusion, weights from the last 50 labels only and leaning harder (sharpness 40)",
        _fusion(40.0, window=50),
    )
)
