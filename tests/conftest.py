"""Shared fixtures: paths to the small format fixtures and the real CDNOW files."""

from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

# Offline like CI and users without a hub: any attempt to download model weights fails.
os.environ["HF_HUB_OFFLINE"] = "1"

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


@pytest.fixture(autouse=True, scope="session")
def _private_embedding_cache(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Text embeddings of the whole session go to one temporary cache, never the user's.

    Shared by every test, so a shop embedded once is a cache hit afterwards (tests that check
    cache behaviour pass their own cache file).
    """
    previous = os.environ.get("SHOPSEG_CACHE")
    os.environ["SHOPSEG_CACHE"] = str(tmp_path_factory.mktemp("shopseg-cache"))
    yield
    if previous is None:
        os.environ.pop("SHOPSEG_CACHE", None)
    else:
        os.environ["SHOPSEG_CACHE"] = previous


Cli = Callable[..., tuple[int, str, str]]


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Cli:
    """Run ``shopseg ARGS`` in-process; return (exit code, stdout, stderr); never a traceback."""
    from shopseg.cli.app import run

    def invoke(*args: str | Path) -> tuple[int, str, str]:
        capsys.readouterr()
        monkeypatch.setattr(sys, "argv", ["shopseg", *map(str, args)])
        with pytest.raises(SystemExit) as exit_:
            run()
        captured = capsys.readouterr()
        assert "Traceback" not in captured.out + captured.err
        return exit_.value.code, captured.out, captured.err

    return invoke
