"""A project's decisions as a record table, ready for every writer format."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pandas as pd

if TYPE_CHECKING:
    from peerscreen.screening.project import ScreeningProject

_LIST_FIELDS = ("authors", "keywords", "mesh", "outcomes")
#: What `export` writes first: the screening decision of each record, then its fields.
EXPORT_COLUMNS = (
    "record_id",
    "title",
    "abstract",
    "included",
    "exclusion_reason",
    "note",
    "decided_at",
    "screening_status",
    "screening_order",
    "p_include",
)


def export_frame(project: ScreeningProject) -> pd.DataFrame:
    """Every record in import order: the screening decision as `included`,
    `exclusion_reason`, `note`, `decided_at` (empty when unscreened), `screening_status`,
    `screening_order` and the latest `p_include`, then every imported field (the input's
    own `included` and `exclusion_reason` as `input_included`, `input_exclusion_reason`)."""
    state = project.label_state()
    scores = project.scores()
    columns = json.loads(project.meta["columns"])
    rows = project.record_rows()
    rank = {p: i for i, p in enumerate(state.order, 1)}
    status_names = {"include": "included", "exclude": "excluded", "skip": "skipped"}
    out: dict[str, list[Any]] = {name: [] for name in EXPORT_COLUMNS}
    inputs = [c for c in columns if c not in ("record_id", "title", "abstract")]
    # an input field whose name the decision uses (the input's own `included` and
    # `exclusion_reason` labels) gets an input_ prefix: on re-import the decisions win
    renamed: dict[str, str] = {}
    taken = set(out) | set(inputs)
    for name in inputs:
        target = name
        while target in out or (target != name and target in taken):
            target = f"input_{target}"
        renamed[name] = target
        taken.add(target)
    extra: dict[str, list[Any]] = {renamed[c]: [] for c in inputs}  # input order
    for position, (record_id, title, abstract, year, language, fields) in enumerate(rows):
        decision = state.latest.get(position)
        p_include = scores.p_include(position)
        out["record_id"].append(record_id)
        out["title"].append(title)
        out["abstract"].append(abstract)
        out["included"].append(decision.label if decision else None)
        out["exclusion_reason"].append(decision.reason if decision else None)
        out["note"].append(decision.note if decision else None)
        out["decided_at"].append(decision.decided_at if decision else None)
        out["screening_status"].append(status_names[decision.action] if decision else "unscreened")
        out["screening_order"].append(rank.get(position))
        out["p_include"].append(None if p_include is None else round(p_include, 4))
        values = json.loads(fields) | {"year": year, "language": language}
        for name in inputs:
            value = values.get(name)
            if name in _LIST_FIELDS and value is None:
                value = []
            extra[renamed[name]].append(value)
    frame = pd.DataFrame({k: pd.Series(v, dtype=object) for k, v in {**out, **extra}.items()})
    for name, dtype in (
        ("included", "Int8"),
        ("screening_order", "Int64"),
        ("year", "Int64"),
        ("source_position", "Int64"),
        ("input_included", "Int8"),
    ):
        if name in frame:
            frame[name] = pd.array(frame[name].tolist(), dtype=dtype)
    frame["p_include"] = pd.to_numeric(frame["p_include"], errors="coerce").astype(float)
    return frame
