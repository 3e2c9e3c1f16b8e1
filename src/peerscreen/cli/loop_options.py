"""Loop options that `simulate`, `bench` and `screen` share, so their help reads the same."""

from __future__ import annotations

import typer

from peerscreen.screening.learners import DEFAULT_LEARNER, LEARNERS

TEXTLESS_OPTION = typer.Option(
    "tied",
    "--textless",
    help="Records with no title and no abstract: 'tied' (one block when the model's "
    "scores fall to theirs, as ASReview) or 'when-dry' (one block once the model's last "
    "20 picks found under half the running inclusion rate).",
)
RETRAIN_OPTION = typer.Option(
    "adaptive",
    "--retrain",
    help="'adaptive': refit after every inclusion and after exclusions reaching 2% of the "
    "labels; 'every': refit after every label, as ASReview does.",
)


LEARNER_OPTION = typer.Option(
    DEFAULT_LEARNER,
    "--learner",
    help="How the loop ranks from the labels: "
    + "; ".join(f"'{name}': {spec.description}" for name, spec in sorted(LEARNERS.items()))
    + ".",
)
