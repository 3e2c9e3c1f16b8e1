"""Unfinished batch runs: the folder beside an output that lets `--resume` continue one."""

from __future__ import annotations

import json
import os
import pickle
import shutil
import tempfile
from dataclasses import asdict
from pathlib import Path

import pandas as pd

from peerscreen.batch.scoring import ScoringSpec
from peerscreen.batch.sources import BatchOptions
from peerscreen.errors import PeerscreenError


class ResumeError(PeerscreenError):
    """An unfinished run cannot be continued with these inputs or options."""


class Sidecar:
    """The folder beside an output that holds an unfinished run: what it was started with
    (`manifest.json`) and one file per finished chunk (`part-000000.pkl`, written
    atomically, so a part is either complete or absent). Parts are pickled tables: they
    come back exactly as written, and only this program reads them."""

    def __init__(self, target: Path):
        self.folder = target.parent / f".{target.name}.partial"

    def open(self, manifest: dict, *, resume: bool) -> set[int]:
        """Start (or, with `resume`, continue) a run; the indices of finished chunks."""
        if self.folder.exists():
            if resume:
                self._check(manifest)
                return self.finished()
            shutil.rmtree(self.folder)
        self.folder.mkdir(parents=True)
        (self.folder / "manifest.json").write_text(json.dumps(manifest, indent=1))
        return set()

    def _check(self, manifest: dict) -> None:
        try:
            kept = json.loads((self.folder / "manifest.json").read_text())
        except (OSError, ValueError):
            kept = {}
        changed = [key for key in manifest if kept.get(key) != manifest[key]]
        if changed:
            raise ResumeError(
                f"cannot resume the run in {self.folder}: {', '.join(changed)} changed since "
                "it started (run without --resume to start again)"
            )

    def finished(self) -> set[int]:
        return {int(p.stem.split("-")[1]) for p in self.folder.glob("part-*.pkl")}

    def part(self, index: int) -> Path:
        return self.folder / f"part-{index:06d}.pkl"

    def write(self, index: int, table: pd.DataFrame) -> None:
        handle, temp = tempfile.mkstemp(dir=self.folder, suffix=".tmp")
        with os.fdopen(handle, "wb") as out:
            pickle.dump(table, out, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(temp, self.part(index))

    def read(self, index: int) -> pd.DataFrame:
        with self.part(index).open("rb") as handle:
            return pickle.load(handle)

    def remove(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


def manifest(task: str, files: list[Path], spec: ScoringSpec, options: BatchOptions) -> dict:
    inputs = []
    for path in files:
        stat = path.stat()
        inputs.append([str(path.resolve()), stat.st_size, stat.st_mtime_ns])
    model = Path(spec.model)
    stamp = None
    if model.exists():
        stat = (model / "artifacts").stat() if model.is_dir() else model.stat()
        stamp = stat.st_mtime_ns
    return {
        "task": task,
        "inputs": inputs,
        "model": [spec.model, stamp],
        "target_recall": spec.target_recall,
        "options": {k: v for k, v in asdict(options).items() if k not in ("workers", "resume")},
    }
