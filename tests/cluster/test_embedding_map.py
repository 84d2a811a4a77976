"""The 2-D customer map: deterministic, new customers placed without refitting, saved as data."""

from __future__ import annotations

import json
from collections.abc import Callable

import numpy as np
import pytest

from shopseg.cluster import CustomerMap
from shopseg.cluster import embedding_map as map_module
from shopseg.errors import ShopsegError

MakeBlobs = Callable[..., tuple[np.ndarray, np.ndarray]]


def test_pca_map_is_deterministic_and_transform_is_exact(make_blobs: MakeBlobs) -> None:
    matrix, _ = make_blobs(centres=5)
    first = CustomerMap(method="pca").fit(matrix)
    assert first.method_ == "pca" and first.coordinates_.shape == (len(matrix), 2)
    np.testing.assert_array_equal(first.coordinates_, CustomerMap(method="pca").fit(matrix).coordinates_)
    loaded = CustomerMap.from_dict(json.loads(json.dumps(first.to_dict())))
    np.testing.assert_allclose(loaded.transform(matrix), first.coordinates_)
    # The first axis carries the most variance.
    assert first.coordinates_[:, 0].var() >= first.coordinates_[:, 1].var()


def test_auto_falls_back_to_pca_without_umap(monkeypatch: pytest.MonkeyPatch, make_blobs: MakeBlobs) -> None:
    monkeypatch.setattr(map_module, "umap_available", lambda: False)
    assert CustomerMap(method="auto").fit(make_blobs()[0]).method_ == "pca"
    with pytest.raises(ShopsegError, match="umap-learn"):
        CustomerMap(method="umap").fit(make_blobs()[0])


def test_degenerate_matrices_still_get_coordinates() -> None:
    assert CustomerMap(method="pca").fit(np.ones((4, 3))).coordinates_.shape == (4, 2)
    assert CustomerMap(method="pca").fit(np.array([[1.0]])).coordinates_.shape == (1, 2)
    with pytest.raises(ShopsegError, match="method"):
        CustomerMap(method="tsne").fit(np.ones((4, 3)))


@pytest.mark.slow
def test_umap_map_is_deterministic_and_a_loaded_map_places_customers_near_their_twins(make_blobs: MakeBlobs) -> None:
    pytest.importorskip("umap")
    matrix, groups = make_blobs(n_per=80, centres=4)
    first = CustomerMap(method="umap", random_state=0).fit(matrix)
    assert first.method_ == "umap"
    np.testing.assert_allclose(first.coordinates_, CustomerMap(method="umap", random_state=0).fit(matrix).coordinates_)
    loaded = CustomerMap.from_dict(json.loads(json.dumps(first.to_dict())))
    placed = loaded.transform(matrix + 0.01)
    # Each customer lands nearest to the centre of its own group on the map.
    centres = np.array([first.coordinates_[groups == g].mean(axis=0) for g in range(4)])
    nearest = ((placed[:, None, :] - centres[None]) ** 2).sum(axis=2).argmin(axis=1)
    assert (nearest == groups).mean() > 0.95
