"""Where the embedded defaults live: the default review config, corpus and model."""

from __future__ import annotations

from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_CONFIG = PROJECT_ROOT / "configs" / "review.toml"
DEFAULT_CORPUS = PROJECT_ROOT / "data" / "corpus" / "peer_support.jsonl"
DEFAULT_MODEL_DIR = PROJECT_ROOT / "models" / "default"
