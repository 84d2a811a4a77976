"""Warm-started K-Means keeps its centroids' order; sticky placement needs a margin to move a customer."""

from __future__ import annotations

import numpy as np

from shopseg.cluster.warm import sticky_labels, warm_kmeans


def test_warm_kmeans_follows_drifting_segments_and_keeps_their_order() -> None:
    rng = np.random.default_rng(0)
    centroids = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]])
    drifted = np.vstack([rng.normal(c + 1.0, 0.5, size=(200, 2)) for c in centroids[::-1]])
    fitted, empty = warm_kmeans(centroids, drifted)
    np.testing.assert_allclose(fitted, centroids + 1.0, atol=0.1)
    assert empty == []
    # a segment nobody is near any more keeps its centroid (and its id)
    fitted, empty = warm_kmeans(np.vstack([centroids, [[100.0, 100.0]]]), drifted)
    assert empty == [3] and np.array_equal(fitted[3], [100.0, 100.0])


def test_sticky_labels_move_a_customer_only_past_the_margin() -> None:
    centroids = np.array([[0.0], [10.0], [20.0]])
    published = np.array([0, 1, 1])  # raw clusters 1 and 2 were merged into segment 1
    rows = np.array([[4.0], [5.5], [9.0], [19.0], [1.0]])
    previous = np.array([0, 0, 0, 0, -1])
    plain = sticky_labels(rows, centroids, published, previous, margin=0.0)
    assert list(plain) == [0, 1, 1, 1, 0]
    # typical squared distance: median of (16, 20.25, 1, 1, 1) = 1; margin 20 keeps 5.5 (diff 11) but not 9 (80)
    sticky = sticky_labels(rows, centroids, published, previous, margin=20.0)
    assert list(sticky) == [0, 0, 1, 1, 0]
