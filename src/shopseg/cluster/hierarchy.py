"""Two-level segments: sub-segments inside the large segments, with ids like ``"2.1"``.

A large segment often hides groups that share its behaviour but differ in, say, taste.
:class:`SubSegmenter` looks inside each segment holding at least ``min_share`` of the
customers (and at least ``min_size`` of them): it clusters that segment's rows alone with
K-Means, k chosen in ``k_range`` by the selection rule, and keeps the split only when it is
better than splitting structureless data of the same shape. K-Means cuts any cloud, and the
silhouette of such a cut depends on the dimension (a round 2-D Gaussian cut in three scores
about 0.33), so the split's silhouette is compared with that of the same k on a Gaussian
sample with the segment's mean and covariance (the reference idea of Tibshirani's gap
statistic): it must exceed it by ``min_gain``. Children are numbered from 1 by size:
``"2.1"`` is the largest part of segment 2. Customers of segments that are not split keep the parent id as a string
(``"2"``); unassigned customers are ``"-1"``.

``predict(matrix, parent_labels)`` places new customers the same way: parent first (by the
top-level model), then the parent's child model. ``to_dict`` / ``from_dict`` keep the child
models as plain data.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.cluster import KMeans
from sklearn.metrics import silhouette_score

from shopseg.cluster.base import UNASSIGNED, check_matrix
from shopseg.cluster.kmeans import AutoKMeans
from shopseg.errors import ShopsegError


class SubSegmenter:
    """Split large segments into children (see the module docstring).

    Learned: ``children_`` (``{parent id: fitted AutoKMeans}``), ``sub_labels_`` (string id
    per training row), ``notes_``.
    """

    kind = "two_level"

    def __init__(
        self,
        min_share: float = 0.15,
        min_size: int = 200,
        k_range: tuple[int, int] = (2, 4),
        min_gain: float = 0.1,
        random_state: int = 0,
        reference_rows: int = 2000,
    ) -> None:
        self.min_share = min_share
        self.min_size = min_size
        self.k_range = k_range
        self.min_gain = min_gain
        self.random_state = random_state
        self.reference_rows = reference_rows

    def fit(self, matrix: np.ndarray, labels: np.ndarray) -> SubSegmenter:
        """Fit children inside large segments; ``labels`` are the top-level segment ids (one per row)."""
        matrix = check_matrix(matrix)
        labels = np.asarray(labels, dtype=np.int64)
        if len(labels) != len(matrix):
            raise ShopsegError(f"labels has {len(labels)} rows but the matrix {len(matrix)}.")
        self.children_: dict[int, AutoKMeans] = {}
        self.notes_: list[str] = []
        large = max(self.min_size, self.min_share * len(matrix))
        for parent in np.unique(labels[labels >= 0]):
            rows = labels == parent
            if rows.sum() < large:
                continue
            child = AutoKMeans(k_range=self.k_range, random_state=self.random_state).fit(matrix[rows])
            silhouette = child.scores_.get(child.n_clusters_, float("nan"))
            reference = self._reference_silhouette(matrix[rows], child.n_clusters_)
            verdict = f"silhouette {silhouette:.3f}, structureless reference {reference:.3f}"
            if child.n_clusters_ < 2 or not silhouette >= reference + self.min_gain:
                self.notes_.append(f"segment {parent}: no sub-segments ({verdict})")
                continue
            self.children_[int(parent)] = child
            self.notes_.append(f"segment {parent}: {child.n_clusters_} sub-segments ({verdict})")
        self.sub_labels_ = self._name(labels, {p: c.labels_ for p, c in self.children_.items()})
        return self

    def _reference_silhouette(self, rows: np.ndarray, k: int) -> float:
        """Silhouette of K-Means at ``k`` on a Gaussian sample shaped like ``rows`` (mean, covariance)."""
        if k < 2:
            return float("nan")
        rng = np.random.default_rng(self.random_state)
        covariance = np.atleast_2d(np.cov(rows, rowvar=False))
        size = min(len(rows), self.reference_rows)
        cloud = rng.multivariate_normal(rows.mean(axis=0), covariance, size=size, method="eigh")
        labels = KMeans(k, n_init=4, random_state=self.random_state).fit_predict(cloud)
        return float(silhouette_score(cloud, labels, sample_size=min(size, 5000), random_state=self.random_state))

    @staticmethod
    def _name(labels: np.ndarray, child_labels: dict[int, np.ndarray]) -> np.ndarray:
        names = labels.astype(str).astype(object)
        for parent, children in child_labels.items():
            rows = np.flatnonzero(labels == parent)
            names[rows] = [f"{parent}.{c + 1}" for c in children]
        names[labels == UNASSIGNED] = str(UNASSIGNED)
        return names

    def predict(self, matrix: np.ndarray, labels: np.ndarray) -> np.ndarray:
        """Sub-segment id (str) of each row, given its top-level segment ``labels``."""
        if not hasattr(self, "children_"):
            raise ShopsegError("This SubSegmenter is not fitted yet: call fit(matrix, labels) first.")
        matrix = check_matrix(matrix)
        labels = np.asarray(labels, dtype=np.int64)
        child_labels = {
            parent: child.predict(matrix[labels == parent])
            for parent, child in self.children_.items()
            if (labels == parent).any()
        }
        return self._name(labels, child_labels)

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "params": {
                "min_share": self.min_share,
                "min_size": self.min_size,
                "k_range": list(self.k_range),
                "min_gain": self.min_gain,
                "random_state": self.random_state,
                "reference_rows": self.reference_rows,
            },
            "children": {str(parent): child.to_dict() for parent, child in self.children_.items()},
            "notes": list(self.notes_),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SubSegmenter:
        params = dict(data["params"])
        params["k_range"] = tuple(params["k_range"])
        model = cls(**params)
        model.children_ = {int(p): AutoKMeans.from_dict(c) for p, c in data["children"].items()}
        model.notes_ = list(data.get("notes", []))
        return model
