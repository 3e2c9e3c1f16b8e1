"""Creating a screening project: import the files, flag the criteria, score the cold start.

Cold start: until an inclusion and an exclusion are both labelled, records are ranked by
TF-IDF similarity to the protocol's criteria in words, scaled down for records whose criteria
flags trip an exclusion rule (a flag at confidence c multiplies the score by 1 - c / 2).
After that, the protocol's criteria in words keep training the model as one more inclusion
(the `criteria_as_inclusion` setting, on unless `create_project(criteria_as_inclusion=False)`).

`create_project_in` adds a project to a screening database (the server, PostgreSQL);
`create_project` makes the CLI's one-project file, built beside its path and renamed into
place, so a failed init leaves nothing.
"""

from __future__ import annotations

import dataclasses
import json
import os
import tempfile
import uuid
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import sqlalchemy as sa

from peerscreen.io.ingest import ImportResult, import_records
from peerscreen.paths import DEFAULT_CONFIG
from peerscreen.review.criteria import CriteriaFlagger, Flag
from peerscreen.review.models.registry import get_backend
from peerscreen.review.protocol import load_protocol
from peerscreen.screening import schema
from peerscreen.screening.cold_start import similarity_to
from peerscreen.screening.database import Database, open_database
from peerscreen.screening.learners import DEFAULT_LEARNER, get_learner
from peerscreen.screening.project import ScreeningProject, open_project
from peerscreen.screening.query import get_query
from peerscreen.screening.store import ScreeningError, file_hash, jsonable, now

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


def create_project_in(
    database: Database,
    name: str,
    files: Sequence[str | Path],
    *,
    config: str | Path | None = None,
    mode: str = "single",
    backend: str = "tfidf-lr",
    learner: str = DEFAULT_LEARNER,
    query: str = "max",
    params: dict | None = None,
    seed: int = 0,
    fmt: str | None = None,
    dedup: bool = True,
    criteria_as_inclusion: bool = True,
) -> tuple[ScreeningProject, ImportResult]:
    """Import `files` into a new project `name` of `database` (one transaction: a failure
    adds nothing) and return it, open, with the import report."""
    name = (name or "").strip()
    if not name:
        raise ScreeningError("a project needs a name")
    if mode not in schema.MODES:
        raise ScreeningError(f"unknown screening mode '{mode}' (choose from single, dual)")
    resolved = get_backend(backend).params(params)  # validates the names early
    get_learner(learner)
    get_query(query)
    config_path = Path(config) if config is not None else DEFAULT_CONFIG
    protocol = load_protocol(config_path)
    result = import_records(files, fmt=fmt, dedup=dedup)
    frame = result.records.frame
    if len(frame) == 0:
        raise ScreeningError("no records to screen in " + ", ".join(map(str, files)))
    settings = {
        "backend": backend,
        "learner": learner,
        "query": query,
        "seed": seed,
        "params": params or {},  # the overrides; the backend's defaults fill the rest
        "resolved_params": resolved,
        "criteria_as_inclusion": criteria_as_inclusion,
    }
    created = now()
    meta = {
        "project_id": uuid.uuid4().hex,
        "created_at": created,
        "config_path": str(config_path.resolve()),
        "config_hash": file_hash(config_path),
        "config_text": config_path.read_text(encoding="utf-8"),
        "protocol_digest": protocol.digest(),
        "review": protocol.review.name,
        "settings": json.dumps(jsonable(settings)),
        "columns": json.dumps(list(frame.columns)),
        "sources": json.dumps([str(f) for f in files]),
    }
    rows, prior = _record_rows(result, protocol)
    with database.begin() as conn:
        taken = conn.execute(
            sa.select(schema.projects.c.id).where(schema.projects.c.name == name)
        ).first()
        if taken is not None:
            raise ScreeningError(f"a project named '{name}' exists already in {database.url}")
        project_id = conn.execute(
            sa.insert(schema.projects).values(
                name=name, mode=mode, created_at=created, meta=json.dumps(meta)
            )
        ).inserted_primary_key[0]
        conn.execute(sa.insert(schema.records), [dict(r, project_id=project_id) for r in rows])
        conn.execute(
            sa.insert(schema.model_state).values(
                project_id=project_id,
                version=0,
                kind="cold-start",
                revision=0,
                n_labels=0,
                updated_at=created,
                scores=prior.astype("<f8").tobytes(),
            )
        )
    return ScreeningProject(database, project_id), result


def _record_rows(result: ImportResult, protocol) -> tuple[list[dict], np.ndarray]:
    """The records table rows of an import (criteria flags and cold-start score included)."""
    frame = result.records.frame
    titles, abstracts = frame["title"].tolist(), frame["abstract"].tolist()
    years = [None if pd.isna(y) else int(y) for y in frame["year"]]
    languages = [None if pd.isna(v) else v for v in frame["language"]]
    flagged = CriteriaFlagger(protocol).flag_many(titles, abstracts, years, languages)
    flags = [r.exclusions for r in flagged]
    prior = cold_start_scores(result.records.texts(), protocol.criteria_text(), flags)
    others = [c for c in frame.columns if c not in _OWN_COLUMNS]
    rows = []
    for position, values in enumerate(frame.to_dict("records")):  # any column name
        rows.append(
            {
                "position": position,
                "record_id": values["record_id"],
                "title": jsonable(values["title"]),
                "abstract": jsonable(values["abstract"]),
                "year": years[position],
                "language": languages[position],
                "fields": json.dumps({c: jsonable(values[c]) for c in others}, ensure_ascii=False),
                "flags": json.dumps(
                    [dataclasses.asdict(f) for f in flags[position]], ensure_ascii=False
                ),
                "prior": float(prior[position]),
            }
        )
    return rows, prior


def is_project_file(path: Path) -> bool:
    """Whether `path` is a screening database (so `--force` may replace it)."""
    try:
        open_database(path).dispose()
    except ScreeningError:
        return False
    return True


def create_project(
    path: str | Path,
    files: Sequence[str | Path],
    *,
    config: str | Path | None = None,
    mode: str = "single",
    backend: str = "tfidf-lr",
    learner: str = DEFAULT_LEARNER,
    query: str = "max",
    params: dict | None = None,
    seed: int = 0,
    force: bool = False,
    fmt: str | None = None,
    dedup: bool = True,
    criteria_as_inclusion: bool = True,
) -> tuple[ScreeningProject, ImportResult]:
    """Import `files` into a new one-project file at `path` and return it, open.

    The file is built beside `path` and renamed into place, so a failed init leaves nothing.
    `force` replaces an existing screening project, never any other file.
    """
    path = Path(path)
    if path.is_dir():
        raise ScreeningError(f"{path}: is a folder, not a project file")
    if path.exists():
        if not force:
            raise ScreeningError(f"{path}: already exists (use --force to replace it)")
        if not is_project_file(path):
            raise ScreeningError(f"{path}: exists and is not a screening project; not replacing it")
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise ScreeningError(f"{path}: folder {folder} does not exist")
    handle, temp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    os.close(handle)
    temp = Path(temp_name)
    temp.unlink()  # open_database(create=True) makes the file itself
    try:
        database = open_database(temp, create=True)
        try:
            _, result = create_project_in(
                database,
                path.stem,
                files,
                config=config,
                mode=mode,
                backend=backend,
                learner=learner,
                query=query,
                params=params,
                seed=seed,
                fmt=fmt,
                dedup=dedup,
                criteria_as_inclusion=criteria_as_inclusion,
            )
            with database.engine.connect() as conn:  # fold the WAL into the file
                conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            database.dispose()
        _remove_sidecars(path)  # a stale WAL beside the new file would be replayed into it
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        _remove_sidecars(temp)
        raise
    return open_project(path), result


def _remove_sidecars(path: Path) -> None:
    for suffix in ("-wal", "-shm", "-journal"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
