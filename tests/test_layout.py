"""The package layout stays one a newcomer can find their way in: a subpackage per concept,
few modules at the top, none too long to hold in one's head, and tests mirroring it."""

from __future__ import annotations

import importlib

import pytest

from tests.conftest import ROOT

PACKAGE = ROOT / "src" / "peerscreen"
SUBPACKAGES = ("io", "review", "screening", "batch", "tracking", "cli")
MAX_TOP_LEVEL_MODULES = 10
MAX_MODULE_LINES = 500


def test_few_modules_at_the_top_level():
    modules = sorted(p.name for p in PACKAGE.glob("*.py"))
    assert len(modules) <= MAX_TOP_LEVEL_MODULES, modules


def test_every_concept_has_its_subpackage_and_test_folder():
    for name in SUBPACKAGES:
        assert (PACKAGE / name / "__init__.py").is_file(), name
        assert (ROOT / "tests" / name / "__init__.py").is_file(), name
        assert list((ROOT / "tests" / name).glob("test_*.py")), name


def test_no_module_is_too_long():
    long = {
        str(path.relative_to(PACKAGE)): n
        for path in PACKAGE.rglob("*.py")
        if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES
    }
    assert long == {}


@pytest.mark.parametrize("name", [s for s in SUBPACKAGES if s != "cli"])
def test_every_name_a_package_exports_resolves(name):
    package = importlib.import_module(f"peerscreen.{name}")
    for exported in package.__all__:
        assert getattr(package, exported) is not None, f"peerscreen.{name}.{exported}"
    with pytest.raises(AttributeError):
        _ = package.no_such_name


def test_entry_points_name_modules_that_exist():
    from importlib.metadata import entry_points

    factories = {e.name: e for e in entry_points(group="spacy_factories")}
    assert factories["peerscreen_criteria"].load().__module__.startswith("peerscreen.review")
    (script,) = [e for e in entry_points(group="console_scripts") if e.name == "peerscreen"]
    assert callable(script.load())
