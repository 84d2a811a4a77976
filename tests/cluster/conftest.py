"""Small deterministic matrices shared by the clustering tests."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

CENTRES = np.array([[0.0, 0.0, 0.0], [8.0, 0.0, 0.0], [0.0, 8.0, 0.0], [8.0, 8.0, 0.0], [4.0, 4.0, 8.0]])


def blobs_data(n_per: int = 60, centres: int = 4, seed: int = 0, spread: float = 0.6) -> tuple[np.ndarray, np.ndarray]:
    """``centres`` well separated Gaussian blobs in 3-D: (matrix, true group per row)."""
    rng = np.random.default_rng(seed)
    matrix = np.vstack([rng.normal(centre, spread, size=(n_per, 3)) for centre in CENTRES[:centres]])
    return matrix, np.repeat(np.arange(centres), n_per)


@pytest.fixture
def make_blobs() -> Callable[..., tuple[np.ndarray, np.ndarray]]:
    """:func:`blobs_data` as a fixture (test modules are not importable packages)."""
    return blobs_data
