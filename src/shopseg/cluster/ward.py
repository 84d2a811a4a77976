"""Ward agglomerative segments: built on a sample, every customer placed by nearest centroid.

Ward's tree needs memory quadratic in the number of rows (10,000 rows: 400 MB of pairwise
distances), so it is built on a sample of at most ``fit_rows`` customers. One tree serves
every k: cutting it at k clusters is free, so choosing k costs only the scores (rule of
:mod:`shopseg.cluster.selection`). The tree's clusters at the chosen k define the segments
and their centroids; then *every* customer, sampled or not, is placed at its nearest
centroid, so ``labels_ == predict(matrix)`` and new customers are placed exactly like
training ones.
"""

from __future__ import annotations

import numpy as np
from scipy.cluster.hierarchy import fcluster, linkage

from shopseg.cluster.base import BaseClusterer, check_matrix, sample_rows, segment_means
from shopseg.cluster.selection import DEFAULT_TOLERANCE, Trial, select_k


class WardClusterer(BaseClusterer):
    """Ward linkage over a scaled matrix (customers x features); ``k=None`` chooses k."""

    kind = "ward"

    def __init__(
        self,
        k: int | None = None,
        k_range: tuple[int, int] = (3, 10),
        random_state: int = 0,
        fit_rows: int = 10_000,
        criterion: str = "silhouette",
        tolerance: float | str = DEFAULT_TOLERANCE,
        silhouette_sample: int = 5000,
    ) -> None:
        self.k = k
        self.k_range = k_range
        self.random_state = random_state
        self.fit_rows = fit_rows
        self.criterion = criterion
        self.tolerance = tolerance
        self.silhouette_sample = silhouette_sample

    def fit(self, matrix: np.ndarray) -> WardClusterer:
        """Fit on a scaled matrix (customers x features); see the module docstring."""
        matrix = check_matrix(matrix)
        self._reset()
        self._check_params()
        k, k_values = self._resolve_k(matrix)
        if k == 1:
            self._store(matrix, np.zeros(len(matrix), dtype=np.int64))
            return self
        rows = sample_rows(len(matrix), self.fit_rows, self.random_state)
        sample = matrix[rows]
        tree = linkage(sample, method="ward")

        def cut(_: np.ndarray, n_clusters: int) -> Trial:
            return Trial(labels=fcluster(tree, t=n_clusters, criterion="maxclust").astype(np.int64) - 1)

        if k is None:
            # The tree is already built on the sample: select on the same rows.
            selection, _ = select_k(
                sample,
                cut,
                k_values,
                criterion=self.criterion,
                tolerance=self.tolerance,
                sample_size=len(sample),
                silhouette_size=self.silhouette_sample,
                random_state=self.random_state,
            )
            k = selection.k
            self._keep_selection(selection)
        tree_labels = cut(sample, k).labels
        self.centroids_ = segment_means(sample, tree_labels, int(tree_labels.max()) + 1)
        self.n_clusters_ = len(self.centroids_)
        self._store(matrix, BaseClusterer.predict(self, matrix), self.centroids_)
        return self
