"""Shared fixtures: paths to our own fixtures and to the real data in ../shared."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).resolve().parent / "fixtures"
SHARED = Path(os.environ.get("PEERSCREEN_SHARED", ROOT.parent / "shared"))
SHARED_DATA = SHARED / "data"

needs_shared = pytest.mark.skipif(
    not (SHARED_DATA / "benchmarks").is_dir(),
    reason=f"real benchmark data not found at {SHARED_DATA} (set PEERSCREEN_SHARED)",
)


@pytest.fixture
def fixtures() -> Path:
    return FIXTURES
