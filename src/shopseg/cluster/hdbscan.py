"""HDBSCAN segments: density-based, the number of segments found, noise handled explicitly.

scikit-learn's HDBSCAN runs on a sample of at most ``fit_rows`` customers (it is slow on
hundreds of thousands of rows). The sample, with its labels and core distances, is kept as
the *reference set*: every other customer, in training or later, takes the segment of its
nearest reference customer, the way HDBSCAN's own approximate prediction works.

What happens to noise is the user's choice, ``noise=``:

* ``"unassigned"`` (default): noise customers get segment id ``-1`` (named "Unassigned").
  A new customer is unassigned when its nearest reference customer is noise, or when it lies
  further from that customer than the customer's core distance (the distance to its
  ``min_samples``-th neighbour): it sits outside every dense region.
* ``"nearest"``: noise customers join the segment of their nearest non-noise reference
  customer, so every customer has a segment.

``k`` does not apply (HDBSCAN finds the number of segments); a fixed ``k`` is ignored with a
note. ``min_cluster_size=None`` means 2% of the fitted rows (at least 10). On generated shops
HDBSCAN leaves most customers as noise: the planted segments overlap and differ more in
composition than in density, so K-Means or a mixture fits them better (see the benchmark).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.cluster import HDBSCAN
from sklearn.neighbors import NearestNeighbors

from shopseg.cluster.base import (
    UNASSIGNED,
    BaseClusterer,
    check_matrix,
    count_distinct_rows,
    decode_array,
    encode_array,
    sample_rows,
)
from shopseg.cluster.selection import partition_scores
from shopseg.errors import ShopsegError

NOISE_CHOICES = ("unassigned", "nearest")


class HDBSCANClusterer(BaseClusterer):
    """HDBSCAN over a scaled matrix (customers x features); see the module docstring.

    Learned beyond the base attributes: ``reference_`` (reference rows x features),
    ``reference_labels_`` (segment id or -1 per reference row), ``core_distances_``.
    """

    kind = "hdbscan"

    def __init__(
        self,
        k: int | None = None,
        k_range: tuple[int, int] = (3, 10),
        random_state: int = 0,
        noise: str = "unassigned",
        min_cluster_size: int | None = None,
        min_samples: int = 5,
        cluster_selection_method: str = "eom",
        fit_rows: int = 20_000,
    ) -> None:
        self.k = k
        self.k_range = k_range
        self.random_state = random_state
        self.noise = noise
        self.min_cluster_size = min_cluster_size
        self.min_samples = min_samples
        self.cluster_selection_method = cluster_selection_method
        self.fit_rows = fit_rows

    def fit(self, matrix: np.ndarray) -> HDBSCANClusterer:
        """Fit on a scaled matrix (customers x features); see the module docstring."""
        matrix = check_matrix(matrix)
        self._reset()
        if self.noise not in NOISE_CHOICES:
            raise ShopsegError(f"noise must be one of {', '.join(NOISE_CHOICES)}, got {self.noise!r}.")
        if self.k is not None:
            self.notes_.append(f"HDBSCAN finds the number of segments itself: k={self.k} ignored")
        rows = sample_rows(len(matrix), self.fit_rows, self.random_state)
        reference = matrix[rows]
        min_cluster_size = self.min_cluster_size or max(10, round(0.02 * len(reference)))
        min_samples = max(1, min(self.min_samples, len(reference) - 1))
        labels = np.zeros(len(reference), dtype=np.int64)
        core = np.full(len(reference), np.inf)  # one segment that covers everything
        if count_distinct_rows(reference) < 2:
            self.notes_.append("fewer than two distinct customers: one segment")
        elif len(reference) <= min_cluster_size:
            self.notes_.append(f"{len(reference)} customers are too few for HDBSCAN: one segment")
        else:
            model = HDBSCAN(
                min_cluster_size=min_cluster_size,
                min_samples=min_samples,
                cluster_selection_method=self.cluster_selection_method,
                copy=True,
            ).fit(reference)
            if (model.labels_ >= 0).any():
                labels = model.labels_.astype(np.int64)
                core = self._core_distances(reference, min_samples)
            else:
                self.notes_.append("HDBSCAN found no dense region: every customer in one segment")
        n_noise = int((labels < 0).sum())
        if n_noise:
            self.notes_.append(
                f"{n_noise} of {len(reference)} fitted customers are noise: "
                + ("unassigned (segment -1)" if self.noise == "unassigned" else "joined to the nearest segment")
            )
        new_id = self._store(reference, labels)
        self.reference_ = reference
        self.reference_labels_ = np.where(labels >= 0, new_id[np.maximum(labels, 0)], UNASSIGNED)
        self.core_distances_ = core
        if self.noise == "nearest":
            self._drop_noise_from_reference()
        self.labels_ = self.predict(matrix)
        self.centroids_ = self._segment_centroids(matrix)
        self.selection_ = self._describe(matrix)
        return self

    @staticmethod
    def _core_distances(reference: np.ndarray, min_samples: int) -> np.ndarray:
        """Distance of each reference row to its ``min_samples``-th neighbour (itself counted, as HDBSCAN does)."""
        distances, _ = NearestNeighbors(n_neighbors=min_samples).fit(reference).kneighbors(reference)
        return distances[:, -1]

    def _drop_noise_from_reference(self) -> None:
        kept = self.reference_labels_ >= 0
        self.reference_ = self.reference_[kept]
        self.reference_labels_ = self.reference_labels_[kept]
        self.core_distances_ = self.core_distances_[kept]

    def _segment_centroids(self, matrix: np.ndarray) -> np.ndarray:
        centroids = np.zeros((self.n_clusters_, matrix.shape[1]))
        for segment in range(self.n_clusters_):
            members = matrix[self.labels_ == segment]
            source = members if len(members) else self.reference_[self.reference_labels_ == segment]
            centroids[segment] = source.mean(axis=0)
        return centroids

    def _describe(self, matrix: np.ndarray) -> pd.DataFrame:
        """A one-row selection table: the found k, the shared criteria and the noise share."""
        rows = sample_rows(len(matrix), 5000, self.random_state)
        scores = partition_scores(matrix[rows], self.labels_[rows], random_state=self.random_state)
        noise_share = float((self.labels_ < 0).mean())
        return pd.DataFrame([{"k": self.n_clusters_, **scores, "noise_share": noise_share, "chosen": True}])

    def predict(self, matrix: np.ndarray) -> np.ndarray:
        """Segment of each row: that of its nearest reference customer (-1 = unassigned, see module docstring)."""
        self._check_fitted()
        matrix = self._check_columns(matrix)
        if len(self.reference_) == 0 or matrix.shape[1] == 0:
            return np.zeros(len(matrix), dtype=np.int64)
        distance, nearest = NearestNeighbors(n_neighbors=1).fit(self.reference_).kneighbors(matrix)
        labels = self.reference_labels_[nearest[:, 0]].copy()
        if self.noise == "unassigned":
            outside = distance[:, 0] > self.core_distances_[nearest[:, 0]] * (1 + 1e-9)
            labels[outside] = UNASSIGNED
        return labels.astype(np.int64)

    def _state(self) -> dict[str, Any]:
        return {
            "reference": encode_array(self.reference_),
            "reference_labels": encode_array(self.reference_labels_),
            "core_distances": encode_array(np.where(np.isfinite(self.core_distances_), self.core_distances_, -1.0)),
        }

    def _load_state(self, state: dict[str, Any]) -> None:
        self.reference_ = decode_array(state["reference"])
        self.reference_labels_ = decode_array(state["reference_labels"]).astype(np.int64)
        core = decode_array(state["core_distances"])
        self.core_distances_ = np.where(core < 0, np.inf, core)
