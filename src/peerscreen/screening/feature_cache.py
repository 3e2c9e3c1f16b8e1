"""The loop's word matrix, built once per record set in a process.

Why: TF-IDF is unsupervised and knows nothing of the seed or the labels, so every
simulation of one review builds the same matrix. `peerscreen bench` runs each review with
several seeds (and a grid of learners) in one process; building the matrix again for each
took about a third of a benchmark's time. The last few matrices are kept, keyed by the
backend, its parameters and the exact texts (criteria text included), so a hit is always
the matrix a fresh build would give. A `peerscreen screen` project already keeps its whole
learner per process (`project_model`), so this only spares repeated builds of the same
texts. Callers must not modify the matrix in place.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from scipy import sparse

#: Matrices kept: a benchmark walks review by review, so one would do; two spare a review
#: that alternates with another (tests, a grid over learners).
MAX_CACHED = 2

_MATRICES: OrderedDict[tuple, sparse.csr_matrix] = OrderedDict()
_LOCK = threading.Lock()


def word_matrix(
    backend: str,
    params: dict,
    texts: list[str],
    make_featurizer: Callable[[dict], Any],
) -> sparse.csr_matrix:
    """`make_featurizer(params).fit_transform(texts)` as CSR, from the cache when these
    exact texts were featurized with this backend and these parameters before."""
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


def clear() -> None:
    """Forget every kept matrix (tests; a process that wants its memory back)."""
    with _LOCK:
        _MATRICES.clear()
