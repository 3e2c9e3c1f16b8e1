"""The README's CLI reference is generated from --help and must be current."""

from __future__ import annotations

import sys

from tests.conftest import ROOT


def test_readme_cli_reference_is_current():
    sys.path.insert(0, str(ROOT / "tools"))
    try:
        import cli_reference
    finally:
        sys.path.pop(0)
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert cli_reference.updated_readme(text) == text, "run: python tools/cli_reference.py --write"


def test_readme_shows_the_two_setup_commands():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "make demo" in text and "make test" in text
