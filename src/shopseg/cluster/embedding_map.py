"""A 2-D map of the customers: UMAP when installed, else PCA; deterministic; new customers placed.

``CustomerMap(method="auto").fit(matrix)`` gives ``coordinates_`` (customers x 2, the
``map_x`` / ``map_y`` columns of ``segments.parquet``). ``transform`` places new customers
on the same map without refitting.

* ``"pca"``: the first two principal components (fitted on at most ``fit_rows`` rows;
  signs fixed by scikit-learn's convention). ``transform`` is exact: a projection, kept
  as two arrays.
* ``"umap"`` (``pip install umap-learn``): UMAP fitted on at most ``fit_rows`` rows with a
  fixed ``random_state`` (which makes UMAP deterministic, single-threaded); the other rows
  go through UMAP's own ``transform``. A UMAP model cannot be saved without pickle, so the
  saved map keeps ``reference_rows`` fitted rows and their coordinates; a loaded map places
  new customers at the distance-weighted mean of their ``n_neighbors`` nearest reference
  rows (the starting point UMAP's own transform optimises from).
* ``"auto"``: UMAP when importable, else PCA.
"""

from __future__ import annotations

import importlib.util
from typing import Any

import numpy as np
from sklearn.decomposition import PCA
from sklearn.neighbors import NearestNeighbors

from shopseg.cluster.base import check_matrix, decode_array, encode_array, sample_rows
from shopseg.errors import ShopsegError

METHODS = ("auto", "umap", "pca")


def umap_available() -> bool:
    return importlib.util.find_spec("umap") is not None


class CustomerMap:
    """2-D coordinates per customer (see the module docstring).

    Learned: ``method_`` (``"pca"`` or ``"umap"``), ``coordinates_`` (rows x 2 of the fitted
    matrix); for PCA ``mean_`` (features) and ``components_`` (2 x features); for UMAP
    ``reference_`` (reference rows x features) and ``reference_coordinates_`` (x 2).
    """

    kind = "customer_map"

    def __init__(
        self,
        method: str = "auto",
        random_state: int = 0,
        fit_rows: int = 20_000,
        n_neighbors: int = 15,
        reference_rows: int = 5000,
    ) -> None:
        self.method = method
        self.random_state = random_state
        self.fit_rows = fit_rows
        self.n_neighbors = n_neighbors
        self.reference_rows = reference_rows

    def fit(self, matrix: np.ndarray) -> CustomerMap:
        """Learn the map from a scaled matrix (customers x features) and keep its coordinates."""
        matrix = check_matrix(matrix)
        if self.method not in METHODS:
            raise ShopsegError(f"Unknown map method '{self.method}'. Known: {', '.join(METHODS)}.")
        if self.method == "umap" and not umap_available():
            raise ShopsegError("The UMAP map needs umap-learn: pip install umap-learn, or use method='pca'.")
        use_umap = self.method == "umap" or (self.method == "auto" and umap_available())
        rows = sample_rows(len(matrix), self.fit_rows, self.random_state)
        self._umap = None
        if use_umap and len(rows) > self.n_neighbors + 2 and matrix.shape[1] > 2:
            self.method_ = "umap"
            self.coordinates_ = self._fit_umap(matrix, rows)
        else:
            self.method_ = "pca"
            self._fit_pca(matrix[rows])
            self.coordinates_ = self.transform(matrix)
        return self

    def fit_transform(self, matrix: np.ndarray) -> np.ndarray:
        return self.fit(matrix).coordinates_

    def _fit_pca(self, sample: np.ndarray) -> None:
        n_components = min(2, sample.shape[1], len(sample))
        self.mean_ = sample.mean(axis=0)
        self.components_ = np.zeros((2, sample.shape[1]))
        if n_components > 0 and len(sample) > 1 and sample.var(axis=0).sum() > 0:
            pca = PCA(n_components=n_components, svd_solver="full").fit(sample)
            self.components_[:n_components] = pca.components_

    def _fit_umap(self, matrix: np.ndarray, rows: np.ndarray) -> np.ndarray:
        import umap

        self._umap = umap.UMAP(n_components=2, n_neighbors=self.n_neighbors, random_state=self.random_state, n_jobs=1)
        coordinates = np.zeros((len(matrix), 2))
        coordinates[rows] = self._umap.fit_transform(matrix[rows])
        rest = np.setdiff1d(np.arange(len(matrix)), rows)
        if len(rest):
            coordinates[rest] = self._umap.transform(matrix[rest])
        keep = rows[sample_rows(len(rows), self.reference_rows, self.random_state + 1)]
        self.reference_ = matrix[keep]
        self.reference_coordinates_ = coordinates[keep]
        return coordinates

    def transform(self, matrix: np.ndarray) -> np.ndarray:
        """Map coordinates (rows x 2) of customers scaled like the training matrix."""
        if not hasattr(self, "method_"):
            raise ShopsegError("This CustomerMap is not fitted yet: call fit(matrix) first.")
        matrix = check_matrix(matrix)
        if self.method_ == "pca":
            return (matrix - self.mean_) @ self.components_.T
        if self._umap is not None:
            return self._umap.transform(matrix)
        return self._interpolate(matrix)

    def _interpolate(self, matrix: np.ndarray) -> np.ndarray:
        """Distance-weighted mean of the nearest reference rows' coordinates (a loaded UMAP map)."""
        n_neighbors = min(self.n_neighbors, len(self.reference_))
        distance, index = NearestNeighbors(n_neighbors=n_neighbors).fit(self.reference_).kneighbors(matrix)
        weight = 1 / np.maximum(distance, 1e-9)
        weight /= weight.sum(axis=1, keepdims=True)
        return (self.reference_coordinates_[index] * weight[:, :, None]).sum(axis=1)

    def to_dict(self) -> dict[str, Any]:
        if not hasattr(self, "method_"):
            raise ShopsegError("This CustomerMap is not fitted yet: call fit(matrix) first.")
        params = {
            "method": self.method,
            "random_state": self.random_state,
            "fit_rows": self.fit_rows,
            "n_neighbors": self.n_neighbors,
            "reference_rows": self.reference_rows,
        }
        if self.method_ == "pca":
            state = {"mean": encode_array(self.mean_), "components": encode_array(self.components_)}
        else:
            state = {
                "reference": encode_array(self.reference_),
                "reference_coordinates": encode_array(self.reference_coordinates_),
            }
        return {"kind": self.kind, "method": self.method_, "params": params, "state": state}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CustomerMap:
        if data.get("kind") != cls.kind:
            raise ShopsegError(f"This saved model is of kind {data.get('kind')!r}, not {cls.kind!r}.")
        model = cls(**data["params"])
        model.method_ = data["method"]
        model._umap = None
        for name, encoded in data["state"].items():
            setattr(model, f"{name}_", decode_array(encoded))
        return model
