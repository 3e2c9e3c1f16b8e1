"""The model side of a screening project: the active learner, the stored scores, the
retrain and the queue of records to screen next.

After each decision the active learner can retrain on the labels so far; the query
strategy orders the records from the stored scores. Scores carry the decision revision
they came from, and a retrain never overwrites scores of a later revision, so a retrain
racing another process (or the server's worker) is harmless.
"""

from __future__ import annotations

import contextlib
import json
import threading
from typing import TYPE_CHECKING

import numpy as np
import sqlalchemy as sa

from peerscreen.errors import PeerscreenError
from peerscreen.screening import schema
from peerscreen.screening.learners import ScreeningLearner, build_learner
from peerscreen.screening.query import get_query
from peerscreen.screening.store import Scores, ScreeningError, ScreeningRecord, now

if TYPE_CHECKING:
    from peerscreen.screening.labels import LabelState

#: Learners by (project uid, backend, learner, params, seed): the texts of a project never
#: change, so one process builds the matrix once however often it opens the project.
_LEARNERS: dict[tuple, ScreeningLearner] = {}
_LEARNERS_LOCK = threading.Lock()
_MAX_CACHED_LEARNERS = 4


class ProjectModel:
    """Scores, retraining and the queue; mixed into `ScreeningProject`, whose records,
    decisions and protocol it reads."""

    @property
    def backend(self) -> str:
        return self.settings["backend"]

    @property
    def learner_name(self) -> str:
        """The screening learner (projects made before the registry used the SVM)."""
        return self.settings.get("learner", "svm")

    @property
    def query(self) -> str:
        return self.settings["query"]

    @property
    def seed(self) -> int:
        return int(self.settings["seed"])

    @property
    def criteria_as_inclusion(self) -> bool:
        """Whether the protocol's criteria in words train the model as one more inclusion
        (projects made before this setting existed: no)."""
        return bool(self.settings.get("criteria_as_inclusion", False))

    def guide_texts(self) -> list[str]:
        return [self.protocol.criteria_text()] if self.criteria_as_inclusion else []

    # -- scores -------------------------------------------------------------------------
    def scores(self) -> Scores:
        """The stored scores of the latest retrain (possibly stale: see `scores_stale`).
        Every retrain stores a new version, so the blob is read again only when the
        version changed."""
        m = schema.model_state
        with self.database.read() as conn:
            version = conn.execute(
                sa.select(m.c.version).where(m.c.project_id == self.id)
            ).scalar_one()
            cached = self._scores_cache
            if cached is not None and cached.version == version:
                return cached
            row = conn.execute(
                sa.select(
                    m.c.version,
                    m.c.kind,
                    m.c.revision,
                    m.c.n_labels,
                    m.c.updated_at,
                    m.c.scores,
                    m.c.probabilities,
                ).where(m.c.project_id == self.id)
            ).one()
        probabilities = None if row[6] is None else np.frombuffer(row[6], dtype="<f8")
        scores = Scores(
            *row[:5], values=np.frombuffer(row[5], dtype="<f8"), probabilities=probabilities
        )
        self._scores_cache = scores
        return scores

    def scores_stale(self, state: LabelState | None = None) -> bool:
        state = state or self.label_state()
        return self.scores().revision != state.revision

    def prior_scores(self) -> np.ndarray:
        return np.array(self.prior_values(), dtype=float)

    # -- learner ------------------------------------------------------------------------
    def learner(
        self,
        texts: list[str] | None = None,
        years: list[int | None] | None = None,
        guides: list[str] | None = None,
    ) -> ScreeningLearner:
        """The active learner with its feature matrix, built once per process (from `texts`,
        `years` and `guides` if given, else read from the project)."""
        params = self.settings.get("params") or {}
        key = (
            self.meta["project_id"],
            self.backend,
            self.learner_name,
            json.dumps(params, sort_keys=True),
            self.seed,
        )
        with _LEARNERS_LOCK:
            if key not in _LEARNERS:
                while len(_LEARNERS) >= _MAX_CACHED_LEARNERS:
                    _LEARNERS.pop(next(iter(_LEARNERS)))
                try:
                    learner = build_learner(
                        self.learner_name,
                        texts if texts is not None else self.texts(),
                        backend=self.backend,
                        params=params,
                        seed=self.seed,
                        years=years if years is not None else self.years(),
                        guide_texts=guides if guides is not None else self.guide_texts(),
                    )
                except ValueError as exc:  # e.g. no record has any text: an empty vocabulary
                    raise ScreeningError(f"{self.where}: cannot build features ({exc})") from None
                _LEARNERS[key] = learner
            return _LEARNERS[key]

    def warm_up(self) -> threading.Thread:
        """Build the feature matrix in a background thread (seconds at 5,000 records), so
        the first retrain of a session need not wait for it; returns the started thread."""

        def build() -> None:
            with contextlib.suppress(PeerscreenError):  # the next retrain raises it again
                self.learner()

        thread = threading.Thread(target=build, name="peerscreen-features", daemon=True)
        thread.start()
        return thread

    def retrain(self, state: LabelState | None = None) -> Scores:
        """Refit on the current labels and store the scores with their calibrated
        p_include (cold-start scores until both classes are labelled). Never overwrites
        scores from a later revision."""
        state = state or self.label_state()
        labelled = np.array(state.order, dtype=int)
        fitted = self.learner().scored(labelled, state.labels_in_order)
        kind, probabilities = "model", None
        if fitted is None:
            values, kind = self.prior_scores(), "cold-start"
        else:
            values = fitted.ranking
            if fitted.p_include is not None:
                probabilities = np.asarray(fitted.p_include, dtype="<f8")
        values = np.asarray(values, dtype="<f8")
        m = schema.model_state
        with self.database.begin() as conn:
            version, stored_revision = conn.execute(
                sa.select(m.c.version, m.c.revision).where(m.c.project_id == self.id)
            ).one()
            if stored_revision > state.revision:
                return self.scores()
            scores = Scores(
                version + 1, kind, state.revision, len(labelled), now(), values, probabilities
            )
            conn.execute(
                sa.update(m)
                .where(m.c.project_id == self.id)
                .values(
                    version=scores.version,
                    kind=kind,
                    revision=state.revision,
                    n_labels=len(labelled),
                    updated_at=scores.updated_at,
                    scores=values.tobytes(),
                    probabilities=None if probabilities is None else probabilities.tobytes(),
                )
            )
        return scores

    def fresh_scores(self) -> Scores:
        """The stored scores, retraining first if decisions were made since."""
        state = self.label_state()
        scores = self.scores()
        return scores if scores.revision == state.revision else self.retrain(state)

    # -- queue --------------------------------------------------------------------------
    def queue(self, scores: Scores | None = None, state: LabelState | None = None) -> list[int]:
        """Unscreened positions in the order to screen them, then the skipped ones."""
        state = state or self.label_state()
        scores = scores or self.scores()
        strategy = get_query(self.query)
        rng = np.random.default_rng([self.seed, state.revision])
        n = len(state.status)
        screened = np.fromiter((s is not None for s in state.status), bool, n)
        skip = np.fromiter((s == "skip" for s in state.status), bool, n)
        fresh = strategy(scores.values, screened, rng).tolist()  # 20,000 records: ~1 ms
        if not skip.any():
            return fresh
        order = strategy(scores.values, screened & ~skip, rng)
        return fresh + order[skip[order]].tolist()

    def next_record(self) -> ScreeningRecord | None:
        queue = self.queue()
        return self.record_at(queue[0]) if queue else None
