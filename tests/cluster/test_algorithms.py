"""The common suite every registered clustering algorithm must pass (as scikit-learn's estimator checks)."""

from __future__ import annotations

import json
from collections.abc import Callable

import numpy as np
import pytest
from sklearn.metrics import adjusted_rand_score

from shopseg.cluster import ALGORITHMS, UNASSIGNED, Clusterer, clusterer_from_dict
from shopseg.cluster import dec as dec_module
from shopseg.errors import ShopsegError

MakeBlobs = Callable[..., tuple[np.ndarray, np.ndarray]]

FAST = {"dec": {"epochs": 5}, "hdbscan": {"min_cluster_size": 15}}


def build(name: str, **params: object) -> Clusterer:
    return ALGORITHMS[name](**{**FAST.get(name, {}), **params})


@pytest.fixture(params=sorted(ALGORITHMS))
def name(request: pytest.FixtureRequest) -> str:
    return request.param


def test_registry_lists_every_algorithm_of_the_issue() -> None:
    assert set(ALGORITHMS) == {"kmeans", "gmm", "hdbscan", "ward", "dec"}
    for kind, cls in ALGORITHMS.items():
        assert cls.kind == kind


def test_finds_planted_blobs_and_predicts_its_own_labels(name: str, make_blobs: MakeBlobs) -> None:
    matrix, truth = make_blobs(centres=4)
    model = build(name, random_state=0).fit(matrix)
    assert isinstance(model, Clusterer)
    assert model.n_clusters_ == 4
    assert model.labels_.shape == (len(matrix),)
    assert adjusted_rand_score(truth, model.labels_) > 0.95
    np.testing.assert_array_equal(model.predict(matrix), model.labels_)
    # Ids by size: 0 is (one of) the largest.
    sizes = np.bincount(model.labels_[model.labels_ >= 0])
    assert sizes[0] == sizes.max()
    assert model.centroids_.shape == (4, 3)


def test_choice_of_k_is_recorded(name: str, make_blobs: MakeBlobs) -> None:
    matrix, _ = make_blobs(centres=4)
    model = build(name, random_state=0).fit(matrix)
    assert not model.selection_.empty and "silhouette" in model.selection_
    if name != "hdbscan":
        assert list(model.selection_["k"]) == list(range(3, 11))
        assert model.selection_.loc[model.selection_["chosen"], "k"].item() == model.n_clusters_
        assert set(model.scores_) == set(range(3, 11)) and model.criterion_ in ("silhouette", "bic")
        assert any("chosen by the rule" in note for note in model.notes_)


def test_same_seed_same_labels_and_json_round_trip(name: str, make_blobs: MakeBlobs) -> None:
    matrix, _ = make_blobs(centres=5, seed=3)
    first = build(name, random_state=7).fit(matrix)
    second = build(name, random_state=7).fit(matrix)
    np.testing.assert_array_equal(first.labels_, second.labels_)
    data = json.loads(json.dumps(first.to_dict()))
    assert data["kind"] == name
    loaded = clusterer_from_dict(data)
    new_rows = make_blobs(centres=5, seed=4)[0]
    np.testing.assert_array_equal(loaded.predict(new_rows), first.predict(new_rows))
    assert loaded.n_clusters_ == first.n_clusters_ and loaded.scores_ == first.scores_


def test_fixed_k_is_respected(name: str, make_blobs: MakeBlobs) -> None:
    matrix, _ = make_blobs(centres=4)
    model = build(name, k=3, random_state=0).fit(matrix)
    if name == "hdbscan":
        assert any("ignored" in note for note in model.notes_)
    else:
        assert model.n_clusters_ == 3 and model.scores_ == {}


def test_fewer_customers_than_k(name: str) -> None:
    matrix = np.array([[0.0, 1.0], [5.0, 5.0], [9.0, 0.0]])
    model = build(name, k=5, random_state=0).fit(matrix)
    assert model.n_clusters_ <= 3
    assert len(model.labels_) == 3


@pytest.mark.parametrize(
    "matrix",
    [np.ones((40, 3)), np.array([[1.0, 2.0]]), np.zeros((5, 0))],
    ids=["all-duplicates", "one-row", "no-columns"],
)
def test_degenerate_inputs_give_one_segment(name: str, matrix: np.ndarray) -> None:
    model = build(name, random_state=0).fit(matrix)
    assert model.n_clusters_ == 1
    assert set(model.labels_) == {0}
    assert model.notes_
    np.testing.assert_array_equal(model.predict(matrix), model.labels_)
    clusterer_from_dict(json.loads(json.dumps(model.to_dict())))


def test_zero_variance_feature_does_not_matter(name: str, make_blobs: MakeBlobs) -> None:
    matrix, truth = make_blobs(centres=4)
    with_constant = np.hstack([matrix, np.full((len(matrix), 1), 3.0)])
    model = build(name, random_state=0).fit(with_constant)
    assert adjusted_rand_score(truth, model.labels_) > 0.95


def test_bad_input_says_what_to_do(name: str, make_blobs: MakeBlobs) -> None:
    model = build(name)
    with pytest.raises(ShopsegError, match="missing or infinite"):
        model.fit(np.array([[0.0, np.nan], [1.0, 1.0]]))
    with pytest.raises(ShopsegError, match="0 rows"):
        model.fit(np.zeros((0, 2)))
    with pytest.raises(ShopsegError, match="not fitted"):
        build(name).predict(np.zeros((2, 2)))
    fitted = build(name, random_state=0).fit(make_blobs()[0])
    with pytest.raises(ShopsegError, match="columns"):
        fitted.predict(np.zeros((2, 5)))


def test_loading_another_kind_fails_clearly(make_blobs: MakeBlobs) -> None:
    data = ALGORITHMS["kmeans"](k=2).fit(make_blobs()[0]).to_dict()
    with pytest.raises(ShopsegError, match="kind"):
        ALGORITHMS["gmm"].from_dict(data)
    with pytest.raises(ShopsegError, match="unknown kind"):
        clusterer_from_dict({**data, "kind": "spectral"})


def test_hdbscan_noise_is_unassigned_or_joined_as_asked(make_blobs: MakeBlobs) -> None:
    rng = np.random.default_rng(0)
    matrix, _ = make_blobs(centres=4)
    outliers = rng.uniform(-20, 30, size=(20, 3))
    data = np.vstack([matrix, outliers])
    unassigned = ALGORITHMS["hdbscan"](min_cluster_size=15, noise="unassigned").fit(data)
    assert (unassigned.labels_[-20:] == UNASSIGNED).mean() >= 0.8
    assert unassigned.n_clusters_ == 4
    far = np.array([[100.0, 100.0, 100.0]])
    assert unassigned.predict(far)[0] == UNASSIGNED
    nearest = ALGORITHMS["hdbscan"](min_cluster_size=15, noise="nearest").fit(data)
    assert (nearest.labels_ >= 0).all() and nearest.predict(far)[0] >= 0
    with pytest.raises(ShopsegError, match="noise must be"):
        ALGORITHMS["hdbscan"](noise="drop").fit(data)


def test_gmm_gives_membership_probabilities(make_blobs: MakeBlobs) -> None:
    matrix, _ = make_blobs(centres=3)
    model = ALGORITHMS["gmm"](k=3, random_state=0).fit(matrix)
    probabilities = model.predict_proba(matrix)
    assert probabilities.shape == (len(matrix), 3)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0)
    np.testing.assert_array_equal(probabilities.argmax(axis=1), model.labels_)


def test_ward_places_rows_beyond_its_sample_by_nearest_centroid(make_blobs: MakeBlobs) -> None:
    matrix, truth = make_blobs(n_per=150, centres=4)
    model = ALGORITHMS["ward"](k=4, fit_rows=100, random_state=0).fit(matrix)
    assert adjusted_rand_score(truth, model.labels_) > 0.95


def test_dec_without_torch_says_how_to_get_it(monkeypatch: pytest.MonkeyPatch, make_blobs: MakeBlobs) -> None:
    monkeypatch.setattr(dec_module, "torch_available", lambda: False)
    with pytest.raises(ShopsegError, match="pip install torch"):
        ALGORITHMS["dec"]().fit(make_blobs()[0])


def test_kmeans_selection_runs_on_a_sample_then_fits_everyone(make_blobs: MakeBlobs) -> None:
    matrix, truth = make_blobs(n_per=100, centres=4)
    model = ALGORITHMS["kmeans"](selection_rows=120, random_state=0).fit(matrix)
    assert model.n_clusters_ == 4 and len(model.labels_) == 400
    assert adjusted_rand_score(truth, model.labels_) > 0.95
