"""K-Means engines agree on easy data; the default engine follows the benchmark's table."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from sklearn.metrics import adjusted_rand_score

from shopseg.cluster import AutoKMeans
from shopseg.cluster.kmeans_engines import ENGINE_BY_SIZE, choose_engine, faiss_available, run_kmeans
from shopseg.errors import ShopsegError

MakeBlobs = Callable[..., tuple[np.ndarray, np.ndarray]]


@pytest.mark.parametrize("engine", ["lloyd", "minibatch", "faiss"])
def test_engines_find_the_same_blobs(engine: str, make_blobs: MakeBlobs) -> None:
    if engine == "faiss" and not faiss_available():
        pytest.skip("faiss is not installed (optional: pip install faiss-cpu)")
    matrix, truth = make_blobs(n_per=100, centres=5)
    result = run_kmeans(matrix, 5, engine=engine, random_state=0)
    reference = run_kmeans(matrix, 5, engine="lloyd", random_state=0)
    assert adjusted_rand_score(truth, result.labels) > 0.99
    assert result.inertia <= reference.inertia * 1.01
    assert result.centroids.shape == (5, 3)


def test_default_engine_table_and_errors(make_blobs: MakeBlobs) -> None:
    assert choose_engine(10) == ENGINE_BY_SIZE[0][1]
    assert choose_engine(10**9) == ENGINE_BY_SIZE[-1][1]
    with pytest.raises(ShopsegError, match="Unknown K-Means engine"):
        run_kmeans(np.zeros((4, 2)), 2, engine="elkan-gpu")
    with pytest.raises(ShopsegError, match="Unknown K-Means engine"):
        AutoKMeans(engine="gpu").fit(make_blobs()[0])


def test_auto_k_means_records_its_engine(make_blobs: MakeBlobs) -> None:
    model = AutoKMeans(k=4, engine="minibatch", random_state=0).fit(make_blobs()[0])
    assert model.engine_ == "minibatch" and model.inertia_ > 0
