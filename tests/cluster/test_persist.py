"""Saving clusterers as JSON + npz (no pickle) and loading them back by kind."""

from __future__ import annotations

import json
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from shopseg.cluster import ALGORITHMS, load_clusterer, save_clusterer
from shopseg.errors import ShopsegError

MakeBlobs = Callable[..., tuple[np.ndarray, np.ndarray]]


@pytest.mark.parametrize("name", sorted(ALGORITHMS))
def test_save_and_load_every_algorithm(name: str, tmp_path: Path, make_blobs: MakeBlobs) -> None:
    matrix, _ = make_blobs(centres=4)
    params = {"epochs": 3} if name == "dec" else {"min_cluster_size": 15} if name == "hdbscan" else {}
    model = ALGORITHMS[name](random_state=0, **params).fit(matrix)
    json_path, npz_path = save_clusterer(model, tmp_path / "model")
    document = json.loads(json_path.read_text())
    assert document["kind"] == name and '"data"' not in json_path.read_text()  # arrays live in the npz
    with zipfile.ZipFile(npz_path) as archive:
        assert all(member.endswith(".npy") for member in archive.namelist())
    loaded = load_clusterer(tmp_path / "model")
    assert type(loaded) is type(model)
    np.testing.assert_array_equal(loaded.predict(matrix), model.labels_)


def test_missing_model_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ShopsegError, match="no saved clusterer"):
        load_clusterer(tmp_path)
