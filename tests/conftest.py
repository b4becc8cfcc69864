"""Shared fixtures: the real data folder beside the checkout, and seeded randomness."""
from __future__ import annotations

from pathlib import Path

import pytest

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
SHARED_CASES = SHARED_DATA.parent / "cases"


def shared_data(*parts: str) -> Path:
    """Path under ``../shared/data``; skips the calling test when it is absent."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"real data not available: {path} (it lives in ../shared/data beside the checkout)")
    return path


def shared_case(name: str, *parts: str) -> Path:
    """Path of a handed failure case under ``../shared/cases/NAME``; skips when absent.

    The case name appears literally in the calling test (``shared_case("net-fragment")``)
    so every case can be traced to the test that pins its right value.
    """
    path = SHARED_CASES.joinpath(name, *parts)
    if not path.exists():
        pytest.skip(f"case not available: {path} (it lives in ../shared/cases beside the checkout)")
    return path


@pytest.fixture
def shared_data_dir() -> Path:
    if not SHARED_DATA.exists():
        pytest.skip(f"real data not available: {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture(scope="session")
def demo_workspace(tmp_path_factory):
    """The demo county, built once per test session (read-only: copy it to change it)."""
    from layers.demo import build_demo_workspace

    path = tmp_path_factory.mktemp("demo") / "demo.gpkg"
    return build_demo_workspace(path)


@pytest.fixture
def demo_copy(demo_workspace, tmp_path):
    """A private, writable copy of the demo workspace."""
    import shutil

    from layers.store import Workspace

    path = tmp_path / "demo.gpkg"
    shutil.copyfile(demo_workspace.path, path)
    return Workspace(path)


def pytest_collection_modifyitems(config, items):
    """Hypothesis sweeps, browser and real-data tests are ``slow``: ``make test-quick``
    (``-m "not slow and not browser"``) leaves them out, ``make test`` runs everything.
    Marked here once instead of in every module, so a new property test is covered too."""
    for item in items:
        function = getattr(item, "function", None)
        if (getattr(function, "is_hypothesis_test", False) or item.get_closest_marker("browser")
                or item.get_closest_marker("realdata")):
            item.add_marker(pytest.mark.slow)
