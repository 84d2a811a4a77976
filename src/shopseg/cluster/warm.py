"""Keeping segments as data changes: K-Means restarted from its own centroids, and sticky placement.

``warm_kmeans(centroids, matrix)`` runs Lloyd's iterations on new rows starting from a fitted
model's centroids, so centroid ``i`` is still segment ``i`` afterwards (no relabelling, no
restarts): segments follow their customers' drift while keeping their identity. A centroid
left without rows keeps its place (and is reported), so ids never shift.

``sticky_labels`` places customers with a margin in favour of the segment they were in: a
customer moves only when another centroid is closer than their previous segment's by more
than ``margin`` times the typical squared distance of a customer to its centroid. With
``margin=0`` it is plain nearest-centroid placement. A small margin stops customers on a
border from flipping between two segments from one update to the next on noise alone.
"""

from __future__ import annotations

import numpy as np
from sklearn.metrics import pairwise_distances, pairwise_distances_argmin


def warm_kmeans(
    centroids: np.ndarray, matrix: np.ndarray, max_iter: int = 300, tol: float = 1e-6
) -> tuple[np.ndarray, list[int]]:
    """New centroids (same order as ``centroids``) after Lloyd's iterations on ``matrix`` from them, and the empty ones.

    Plain Lloyd (assign each row to its nearest centroid, move each centroid to its rows'
    mean) until no centroid moves by more than ``tol``: unlike scikit-learn's K-Means, an
    empty segment is not re-seeded elsewhere (that would give its id to other customers),
    it keeps its place.
    """
    matrix = np.asarray(matrix, dtype="float64")
    current = np.asarray(centroids, dtype="float64").copy()
    k = len(current)
    for _ in range(max_iter):
        labels = pairwise_distances_argmin(matrix, current)
        counts = np.bincount(labels, minlength=k)
        sums = np.column_stack([np.bincount(labels, weights=column, minlength=k) for column in matrix.T])
        moved = np.where(counts[:, None] > 0, sums / np.maximum(counts, 1)[:, None], current)
        shift = float(np.abs(moved - current).max()) if k else 0.0
        current = moved
        if shift <= tol:
            break
    counts = np.bincount(pairwise_distances_argmin(matrix, current), minlength=k) if len(matrix) else np.zeros(k)
    return current, [int(i) for i in np.flatnonzero(counts == 0)]


def sticky_labels(
    matrix: np.ndarray,
    centroids: np.ndarray,
    published: np.ndarray,
    previous: np.ndarray,
    margin: float,
) -> np.ndarray:
    """Published segment id per row, moving away from ``previous`` only by more than ``margin`` (module docstring).

    ``published``: the published segment id of each centroid (raw cluster -> segment id);
    ``previous``: each row's published id before (-1 or an id no centroid has: no previous).
    """
    squared = pairwise_distances(np.asarray(matrix, dtype="float64"), centroids, metric="sqeuclidean")
    nearest = squared.argmin(axis=1)
    labels = np.asarray(published)[nearest]
    if margin <= 0:
        return labels
    best = squared[np.arange(len(squared)), nearest]
    typical = float(np.median(best)) if len(best) else 0.0
    previous = np.asarray(previous)
    own = np.full(len(squared), np.inf)
    for segment in np.unique(published):
        columns = np.flatnonzero(published == segment)
        rows = previous == segment
        own[rows] = squared[np.ix_(rows, columns)].min(axis=1)
    stay = np.isfinite(own) & (own - best <= margin * typical)
    return np.where(stay, previous, labels)
