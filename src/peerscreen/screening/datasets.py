"""The labelled benchmark datasets in ../shared/data and their published criteria."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

from peerscreen.errors import InputError
from peerscreen.paths import PROJECT_ROOT

SHARED_DATA = Path(os.environ.get("PEERSCREEN_SHARED", PROJECT_ROOT.parent / "shared")) / "data"
BENCHMARK_DIR = SHARED_DATA / "benchmarks"
CRITERIA_FILE = BENCHMARK_DIR / "criteria.toml"


def resolve_dataset(name_or_path: str | Path) -> Path:
    """A dataset path, or a benchmark name ("Donners_2021") looked up in ../shared."""
    path = Path(name_or_path)
    if path.exists():
        return path
    candidate = BENCHMARK_DIR / f"{name_or_path}.csv"
    if candidate.exists():
        return candidate
    raise InputError(
        path, f"no such file, and no benchmark dataset of that name in {BENCHMARK_DIR}"
    )


def benchmark_files(folder: str | Path | None = None) -> list[Path]:
    folder = Path(folder) if folder else BENCHMARK_DIR
    files = sorted(folder.glob("*.csv"))
    if not files:
        raise InputError(folder, "no benchmark CSV files here")
    return files


def published_criteria(dataset: str, criteria_file: Path = CRITERIA_FILE) -> str | None:
    """The review's published eligibility criteria (SYNERGY index), keyed by dataset name."""
    if not criteria_file.exists():
        return None
    data = tomllib.loads(criteria_file.read_text(encoding="utf-8"))
    for entry in data.get("datasets", []):
        if entry.get("key") == dataset:
            publication = entry.get("publication", {})
            return publication.get("eligibility_criteria") or entry.get("eligibility_criteria")
    return None
