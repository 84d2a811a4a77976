"""Stability per segment (clusterboot): real blobs are stable, arbitrary cuts and noise are caught."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from shopseg.cluster import UNASSIGNED, AutoKMeans, HDBSCANClusterer, assess_stability
from shopseg.cluster.stability import best_jaccard
from shopseg.errors import ShopsegError

MakeBlobs = Callable[..., tuple[np.ndarray, np.ndarray]]


def blobs_and_noise(make_blobs: MakeBlobs, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """4 blobs of 60 and a planted noise group of 60 uniform points over the blobs' box."""
    matrix, _ = make_blobs(centres=4, seed=seed)
    noise = np.random.default_rng(seed).uniform(-3, 11, size=(60, 3))
    return np.vstack([matrix, noise]), np.r_[np.zeros(len(matrix), bool), np.ones(60, bool)]


def test_best_jaccard_by_hand() -> None:
    reference = np.array([0, 0, 0, 1, 1, 2])
    other = np.array([5, 5, 7, 7, 7, 7])
    ids, best = best_jaccard(reference, other)
    assert ids.tolist() == [0, 1, 2]
    # group 0 {0,1,2}: with 5 -> 2/3; group 1 {3,4}: with 7 {2..5} -> 2/4; group 2 {5}: 1/4.
    np.testing.assert_allclose(best, [2 / 3, 0.5, 0.25])


def test_separated_blobs_are_stable(make_blobs: MakeBlobs) -> None:
    matrix, _ = make_blobs(centres=4)
    model = AutoKMeans(k=4, random_state=0).fit(matrix)
    report = assess_stability(model, matrix, n_refits=10, random_state=1)
    assert report.table["stable"].all() and report.table["jaccard_mean"].min() > 0.95
    assert report.summary["ari_mean"] > 0.95 and report.summary["unstable_segments"] == []
    assert report.summary["method"] == "bootstrap" and report.summary["n_refits"] == 10


def test_arbitrary_cuts_of_a_structureless_cloud_are_unstable() -> None:
    # A round 2-D cloud has no segments: where K-Means cuts it depends on the sample.
    rng = np.random.default_rng(0)
    angle, radius = rng.uniform(0, 2 * np.pi, 600), np.sqrt(rng.uniform(0, 1, 600))
    disk = np.c_[radius * np.cos(angle), radius * np.sin(angle)]
    model = AutoKMeans(k=3, random_state=0).fit(disk)
    # Hennig's "stable" level (0.75) rather than the lenient default 0.6.
    report = assess_stability(model, disk, n_refits=15, threshold=0.75, random_state=0)
    assert not report.table["stable"].any() and report.summary["unstable_segments"] == [0, 1, 2]
    assert report.summary["ari_mean"] < 0.7


def test_planted_noise_is_unassigned_by_hdbscan(make_blobs: MakeBlobs) -> None:
    for seed in range(3):
        matrix, is_noise = blobs_and_noise(make_blobs, seed)
        model = HDBSCANClusterer(min_cluster_size=20, noise="unassigned").fit(matrix)
        assert model.n_clusters_ == 4
        assert (model.labels_[is_noise] == UNASSIGNED).mean() >= 0.6
        assert (model.labels_[~is_noise] == UNASSIGNED).mean() <= 0.05
        report = assess_stability(model, matrix, n_refits=8, random_state=seed)
        noise_row = report.table[report.table["segment_id"] == UNASSIGNED]
        assert len(noise_row) == 1 and not noise_row["stable"].item()
        assert report.summary["method"] == "subsample"


def test_planted_noise_segment_is_flagged_by_k_means_stability(make_blobs: MakeBlobs) -> None:
    # K-Means may cut the noise off the same way each time (Jaccard alone would pass it), but
    # it is the least stable segment and the geometric check flags it diffuse, hence unstable.
    for seed in range(3):
        matrix, is_noise = blobs_and_noise(make_blobs, seed)
        model = AutoKMeans(k=5, random_state=0).fit(matrix)
        report = assess_stability(model, matrix, n_refits=10, random_state=seed)
        noisiest = max(range(5), key=lambda s: is_noise[model.labels_ == s].mean())
        table = report.table.set_index("segment_id")
        assert table["jaccard_mean"].idxmin() == noisiest
        assert table.drop(index=noisiest)["jaccard_mean"].min() > 0.9
        assert table.loc[noisiest, "diffuse"] and not table.loc[noisiest, "stable"]
        assert "diffuse" in table.loc[noisiest, "reason"]
        assert table.drop(index=noisiest)["stable"].all() and not table.drop(index=noisiest)["diffuse"].any()
        assert report.summary["unstable_segments"] == [noisiest]


def test_stability_checks_its_inputs(make_blobs: MakeBlobs) -> None:
    matrix, _ = make_blobs()
    model = AutoKMeans(k=4).fit(matrix)
    with pytest.raises(ShopsegError, match="rows"):
        assess_stability(model, matrix[:10])
    with pytest.raises(ShopsegError, match="method"):
        assess_stability(model, matrix, method="jackknife")


def test_relabel_combines_merged_segments(make_blobs: MakeBlobs) -> None:
    matrix, _ = make_blobs(centres=4)
    model = AutoKMeans(k=4, random_state=0).fit(matrix)
    report = assess_stability(model, matrix, n_refits=5, random_state=0)
    merged = report.relabel({0: 0, 1: 1, 2: 1, 3: 2})
    assert merged.table["segment_id"].tolist() == [0, 1, 2]
    assert merged.table["size"].tolist() == [60, 120, 60]
    assert merged.summary["unstable_segments"] == []
