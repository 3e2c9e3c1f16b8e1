"""Lazy re-exports for package `__init__` files (PEP 562).

A package names its public API once, as {name: module}; a name is imported on first use, so
`import peerscreen.review.protocol` does not pay for spaCy and scikit-learn models just
because the package also offers `train`.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any


def lazy_exports(package: str, names: dict[str, str]) -> tuple[Callable[[str], Any], list[str]]:
    """`__getattr__` and `__all__` for `package`, exporting each name from its module."""

    def __getattr__(name: str) -> Any:
        module = names.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f"{package}.{module}"), name)
        globals_of_package = importlib.import_module(package).__dict__
        globals_of_package[name] = value  # later look-ups skip this function
        return value

    return __getattr__, sorted(names)
