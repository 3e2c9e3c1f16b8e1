"""Creating a screening project: import the files, flag the criteria, score the cold start.

Cold start: until an inclusion and an exclusion are both labelled, records are ranked by
TF-IDF similarity to the protocol's criteria in words, scaled down for records whose criteria
flags trip an exclusion rule (a flag at confidence c multiplies the score by 1 - c / 2).
After that, the protocol's criteria in words keep training the model as one more inclusion
(the `criteria_as_inclusion` setting, on unless `create_project(criteria_as_inclusion=False)`).
"""

from __future__ import annotations

import dataclasses
import json
import uuid
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from peerscreen.io.ingest import ImportResult, import_records
from peerscreen.paths import DEFAULT_CONFIG
from peerscreen.review.criteria import CriteriaFlagger, Flag
from peerscreen.review.models.registry import get_backend
from peerscreen.review.protocol import load_protocol
from peerscreen.screening.learner import similarity_to
from peerscreen.screening.project import ScreeningProject, open_project
from peerscreen.screening.query import get_query
from peerscreen.screening.store import (
    PROJECT_FORMAT,
    SCHEMA_VERSION,
    ScreeningError,
    file_hash,
    is_project,
    jsonable,
    now,
    write_project_file,
)

#: A criteria flag at confidence c multiplies the cold-start score by 1 - PENALTY * c.
COLD_START_FLAG_PENALTY = 0.5
#: Columns kept in their own table columns; every other imported field goes to `fields`.
_OWN_COLUMNS = ("record_id", "title", "abstract", "year", "language")


def cold_start_scores(
    texts: Sequence[str], criteria_text: str, flags: Sequence[Sequence[Flag]]
) -> np.ndarray:
    """Similarity to the criteria in words, scaled down by the strongest exclusion flag."""
    similarity = similarity_to(list(texts), criteria_text)
    strongest = np.array([max((f.confidence for f in fs), default=0.0) for fs in flags])
    return similarity * (1 - COLD_START_FLAG_PENALTY * strongest)


def create_project(
    path: str | Path,
    files: Sequence[str | Path],
    *,
    config: str | Path | None = None,
    backend: str = "tfidf-lr",
    query: str = "max",
    params: dict | None = None,
    seed: int = 0,
    force: bool = False,
    fmt: str | None = None,
    dedup: bool = True,
    criteria_as_inclusion: bool = True,
) -> tuple[ScreeningProject, ImportResult]:
    """Import `files` into a new screening project at `path` and return it, open.

    The file is built beside `path` and renamed into place, so a failed init leaves nothing.
    `force` replaces an existing screening project, never any other file.
    """
    path = Path(path)
    if path.is_dir():
        raise ScreeningError(f"{path}: is a folder, not a project file")
    if path.exists():
        if not force:
            raise ScreeningError(f"{path}: already exists (use --force to replace it)")
        if not is_project(path):
            raise ScreeningError(f"{path}: exists and is not a screening project; not replacing it")
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise ScreeningError(f"{path}: folder {folder} does not exist")
    resolved = get_backend(backend).params(params)  # validates the names early
    get_query(query)
    config_path = Path(config) if config is not None else DEFAULT_CONFIG
    protocol = load_protocol(config_path)
    result = import_records(files, fmt=fmt, dedup=dedup)
    frame = result.records.frame
    if len(frame) == 0:
        raise ScreeningError("no records to screen in " + ", ".join(map(str, files)))
    titles, abstracts = frame["title"].tolist(), frame["abstract"].tolist()
    years = [None if pd.isna(y) else int(y) for y in frame["year"]]
    languages = [None if pd.isna(v) else v for v in frame["language"]]
    flagged = CriteriaFlagger(protocol).flag_many(titles, abstracts, years, languages)
    flags = [r.exclusions for r in flagged]
    texts = result.records.texts()
    prior = cold_start_scores(texts, protocol.criteria_text(), flags)
    others = [c for c in frame.columns if c not in _OWN_COLUMNS]
    settings = {
        "backend": backend,
        "query": query,
        "seed": seed,
        "params": params or {},  # the overrides; the backend's defaults fill the rest
        "resolved_params": resolved,
        "criteria_as_inclusion": criteria_as_inclusion,
    }
    meta = {
        "format": PROJECT_FORMAT,
        "schema_version": str(SCHEMA_VERSION),
        "project_id": uuid.uuid4().hex,
        "created_at": now(),
        "config_path": str(config_path.resolve()),
        "config_hash": file_hash(config_path),
        "config_text": config_path.read_text(encoding="utf-8"),
        "protocol_digest": protocol.digest(),
        "review": protocol.review.name,
        "settings": json.dumps(jsonable(settings)),
        "columns": json.dumps(list(frame.columns)),
        "sources": json.dumps([str(f) for f in files]),
    }
    rows = []
    for position, values in enumerate(frame.to_dict("records")):  # any column name
        rows.append(
            (
                position,
                values["record_id"],
                jsonable(values["title"]),
                jsonable(values["abstract"]),
                years[position],
                languages[position],
                json.dumps({c: jsonable(values[c]) for c in others}, ensure_ascii=False),
                json.dumps([dataclasses.asdict(f) for f in flags[position]], ensure_ascii=False),
                float(prior[position]),
            )
        )
    write_project_file(path, meta, rows, prior)
    return open_project(path), result
