"""The loop's word matrix, built once per record set while a benchmark runs.

Why: TF-IDF is unsupervised and knows nothing of the seed or the labels, so every
simulation of one review builds the same matrix. `peerscreen bench` runs each review with
several seeds in one process; building the matrix again for each took about a third of a
benchmark's time. Inside `kept()` (`benchmark.run_benchmark` opens it) the last few
matrices are kept, keyed by the backend, its parameters and the exact texts (criteria text
included), so a hit is always the matrix a fresh build would give. Outside it nothing is
kept: a `peerscreen screen` project keeps its whole learner per process already
(`project_model`), and a second copy of a large project's matrix would only cost memory.
Callers must not modify the matrix in place.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from scipy import sparse

#: Matrices kept: a benchmark walks review by review, so one would do; two spare a review
#: that alternates with another (tests, a grid over learners).
MAX_CACHED = 2

_MATRICES: OrderedDict[tuple, sparse.csr_matrix] = OrderedDict()
_LOCK = threading.Lock()
_OPEN = [0]  # how many `kept()` blocks are open


@contextmanager
def kept() -> Iterator[None]:
    """Within this block, `word_matrix` keeps what it builds; on leaving the outermost
    block, the kept matrices are dropped."""
    with _LOCK:
        _OPEN[0] += 1
    try:
        yield
    finally:
        with _LOCK:
            _OPEN[0] -= 1
            if not _OPEN[0]:
                _MATRICES.clear()


def word_matrix(
    backend: str,
    params: dict,
    texts: list[str],
    make_featurizer: Callable[[dict], Any],
) -> sparse.csr_matrix:
    """`make_featurizer(params).fit_transform(texts)` as CSR, from the cache when these
    exact texts were featurized with this backend and these parameters before (inside
    `kept()`; elsewhere always built)."""
    if not _OPEN[0]:
        return sparse.csr_matrix(make_featurizer(params).fit_transform(texts))
    key = (backend, json.dumps(params, sort_keys=True, default=repr), tuple(texts))
    with _LOCK:
        if key in _MATRICES:
            _MATRICES.move_to_end(key)
            return _MATRICES[key]
    matrix = sparse.csr_matrix(make_featurizer(params).fit_transform(texts))
    with _LOCK:
        _MATRICES[key] = matrix
        while len(_MATRICES) > MAX_CACHED:
            _MATRICES.popitem(last=False)
    return matrix
