"""K-Means with the number of segments chosen by silhouette.

For each k in ``k_range`` K-Means is fitted on all customers and the silhouette is
measured on a fixed random sample (silhouette is quadratic in the number of points).
The k with the highest silhouette wins; ``k`` fixes it instead. The default range
starts at 3, not 2: silhouette favours two segments on most customer data (the
active/lapsed split dominates), and two groups rarely support distinct marketing
actions; ``k=2`` stays available. All scores are kept in ``scores_`` (run.json). Segment ids are ordered
by size (0 = largest) so that they do not depend on K-Means' arbitrary label order.
Everything is seeded: the same data and ``random_state`` give the same segments.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from sklearn.cluster import KMeans
from sklearn.metrics import pairwise_distances_argmin, silhouette_score


@dataclass
class AutoKMeans:
    """K-Means over a scaled matrix; ``k=None`` chooses k by silhouette."""

    k: int | None = None
    k_range: tuple[int, int] = (3, 10)
    random_state: int = 0
    n_init: int = 4
    silhouette_sample: int = 5000
    n_clusters_: int = 1
    centroids_: np.ndarray = field(default_factory=lambda: np.zeros((1, 0)))
    labels_: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=int))
    scores_: dict[int, float] = field(default_factory=dict)
    notes_: list[str] = field(default_factory=list)

    def fit(self, matrix: np.ndarray) -> AutoKMeans:
        n_distinct = len(np.unique(np.round(matrix, 9), axis=0)) if len(matrix) else 0
        self.scores_, self.notes_ = {}, []
        if n_distinct < 2 or matrix.shape[1] == 0:
            self.notes_.append("fewer than two distinct customers: one segment")
            return self._single(matrix)
        if self.k is not None:
            k = min(self.k, n_distinct)
            if k < self.k:
                self.notes_.append(f"k={self.k} asked, only {n_distinct} distinct customers: k={k}")
            labels, centroids = self._kmeans(matrix, k)
        else:
            labels, centroids, k = self._choose_k(matrix, n_distinct)
        self._store(labels, centroids)
        return self

    def _kmeans(self, matrix: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        if k <= 1:
            return np.zeros(len(matrix), dtype=int), matrix.mean(axis=0, keepdims=True)
        model = KMeans(n_clusters=k, n_init=self.n_init, random_state=self.random_state).fit(matrix)
        return model.labels_, model.cluster_centers_

    def _choose_k(self, matrix: np.ndarray, n_distinct: int) -> tuple[np.ndarray, np.ndarray, int]:
        low, high = self.k_range
        high = min(high, n_distinct - 1, len(matrix) - 1)
        if high < low:
            k = min(low, n_distinct)
            self.notes_.append(f"too few distinct customers to compare k: k={k}")
            labels, centroids = self._kmeans(matrix, k)
            return labels, centroids, k
        rng = np.random.default_rng(self.random_state)
        sample = rng.choice(len(matrix), size=min(self.silhouette_sample, len(matrix)), replace=False)
        sample.sort()
        best: tuple[float, int, np.ndarray, np.ndarray] | None = None
        for k in range(low, high + 1):
            labels, centroids = self._kmeans(matrix, k)
            if len(np.unique(labels[sample])) < 2:
                continue
            score = float(silhouette_score(matrix[sample], labels[sample], random_state=self.random_state))
            self.scores_[k] = round(score, 6)
            if best is None or score > best[0] + 1e-9:
                best = (score, k, labels, centroids)
        if best is None:
            labels, centroids = self._kmeans(matrix, low)
            return labels, centroids, low
        return best[2], best[3], best[1]

    def _single(self, matrix: np.ndarray) -> AutoKMeans:
        centroid = matrix.mean(axis=0, keepdims=True) if len(matrix) else np.zeros((1, matrix.shape[1]))
        self._store(np.zeros(len(matrix), dtype=int), centroid)
        return self

    def _store(self, labels: np.ndarray, centroids: np.ndarray) -> None:
        """Renumber segments by size (largest first, ties by centroid) and keep the centroids."""
        sizes = np.bincount(labels, minlength=len(centroids))
        order = sorted(range(len(centroids)), key=lambda c: (-sizes[c], tuple(np.round(centroids[c], 9))))
        order = [c for c in order if sizes[c] > 0]
        new_id = np.full(len(centroids), -1)
        new_id[order] = np.arange(len(order))
        self.labels_ = new_id[labels].astype(int)
        self.centroids_ = centroids[order]
        self.n_clusters_ = len(order)

    def predict(self, matrix: np.ndarray) -> np.ndarray:
        """Nearest centroid for each row of a matrix scaled like the training data."""
        return pairwise_distances_argmin(matrix, self.centroids_)
