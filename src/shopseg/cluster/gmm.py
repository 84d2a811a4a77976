"""Gaussian mixture segments, with the number of components chosen by BIC.

Each k in ``k_range`` is fitted on a sample of at most ``selection_rows`` customers and
scored by BIC (plus the shared criteria of :mod:`shopseg.cluster.selection`); the lowest
BIC wins unless ``criterion`` says otherwise. The final mixture is fitted on all customers,
started from the sample's weights, means and precisions for the chosen k. A customer's
segment is its most probable component; :meth:`GaussianMixtureClusterer.predict_proba`
gives the membership probabilities (n x segments).

``covariance_type="tied"`` by default (one covariance matrix shared by all components, i.e.
a learned Mahalanobis distance): on generated shops at the planted k it recovers the planted
segments better than ``"full"`` (adjusted Rand about 0.55-0.65 against 0.25-0.35, 3,000
customers, 3 seeds) and fits about 8x faster. Components left without any customer are
dropped, with a note.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.mixture import GaussianMixture

from shopseg.cluster.base import BaseClusterer, check_matrix, decode_array, encode_array
from shopseg.cluster.selection import DEFAULT_TOLERANCE, Trial, select_k
from shopseg.errors import ShopsegError

COVARIANCE_TYPES = ("full", "tied", "diag", "spherical")


class GaussianMixtureClusterer(BaseClusterer):
    """Gaussian mixture over a scaled matrix (customers x features); ``k=None`` chooses k by BIC.

    Learned beyond the base attributes: ``weights_`` (segments), ``means_`` (segments x
    features), ``covariances_`` and ``precisions_cholesky_`` (shapes as in scikit-learn for
    ``covariance_type``), all in segment order.
    """

    kind = "gmm"

    def __init__(
        self,
        k: int | None = None,
        k_range: tuple[int, int] = (3, 10),
        random_state: int = 0,
        covariance_type: str = "tied",
        n_init: int = 2,
        criterion: str = "bic",
        tolerance: float | str = DEFAULT_TOLERANCE,
        selection_rows: int = 20_000,
        silhouette_sample: int = 5000,
        reg_covar: float = 1e-4,
        max_iter: int = 200,
    ) -> None:
        self.k = k
        self.k_range = k_range
        self.random_state = random_state
        self.covariance_type = covariance_type
        self.n_init = n_init
        self.criterion = criterion
        self.tolerance = tolerance
        self.selection_rows = selection_rows
        self.silhouette_sample = silhouette_sample
        self.reg_covar = reg_covar
        self.max_iter = max_iter

    def _mixture(self, k: int, **overrides: Any) -> GaussianMixture:
        options = {
            "n_components": k,
            "covariance_type": self.covariance_type,
            "n_init": self.n_init,
            "reg_covar": self.reg_covar,
            "max_iter": self.max_iter,
            "random_state": self.random_state,
            **overrides,
        }
        return GaussianMixture(**options)

    def _trial(self, sample: np.ndarray, k: int) -> Trial:
        model = self._mixture(k).fit(sample)
        return Trial(labels=model.predict(sample), bic=float(model.bic(sample)), state=model)

    def fit(self, matrix: np.ndarray) -> GaussianMixtureClusterer:
        """Fit on a scaled matrix (customers x features); see the module docstring."""
        matrix = check_matrix(matrix)
        self._reset()
        self._check_params()
        if self.covariance_type not in COVARIANCE_TYPES:
            raise ShopsegError(
                f"covariance_type must be one of {', '.join(COVARIANCE_TYPES)}, got {self.covariance_type!r}."
            )
        k, k_values = self._resolve_k(matrix)
        if k == 1:
            return self._single(matrix)
        if k is None:
            selection, rows = select_k(
                matrix,
                self._trial,
                k_values,
                criterion=self.criterion,
                tolerance=self.tolerance,
                sample_size=self.selection_rows,
                silhouette_size=self.silhouette_sample,
                random_state=self.random_state,
            )
            self._keep_selection(selection)
            sample_model: GaussianMixture = selection.trials[selection.k].state
            if len(rows) == len(matrix):
                return self._keep(matrix, sample_model)
            model = self._mixture(
                selection.k,
                n_init=1,
                weights_init=sample_model.weights_,
                means_init=sample_model.means_,
                precisions_init=sample_model.precisions_,
            ).fit(matrix)
            return self._keep(matrix, model)
        return self._keep(matrix, self._mixture(k).fit(matrix))

    def _keep(self, matrix: np.ndarray, model: GaussianMixture) -> GaussianMixtureClusterer:
        """Store the mixture's parameters in segment order (largest first), without empty components."""
        labels = model.predict(matrix)
        new_id = self._store(matrix, labels, model.means_)
        order = np.flatnonzero(new_id >= 0)[np.argsort(new_id[new_id >= 0])]
        if len(order) < model.n_components:
            self.notes_.append(f"{model.n_components - len(order)} mixture component(s) had no customer: dropped")
        self.weights_ = model.weights_[order] / model.weights_[order].sum()
        self.means_ = model.means_[order]
        per_component = self.covariance_type in ("full", "diag", "spherical")
        self.covariances_ = model.covariances_[order] if per_component else model.covariances_
        self.precisions_cholesky_ = model.precisions_cholesky_[order] if per_component else model.precisions_cholesky_
        return self

    def _single(self, matrix: np.ndarray) -> GaussianMixtureClusterer:
        """One segment: one component at the mean with a small spherical spread (no EM needed)."""
        self._store(matrix, np.zeros(len(matrix), dtype=np.int64))
        n_features = matrix.shape[1]
        unit = {
            "full": np.eye(n_features)[None],
            "tied": np.eye(n_features),
            "diag": np.ones((1, n_features)),
            "spherical": np.ones(1),
        }[self.covariance_type]
        self.weights_ = np.ones(1)
        self.means_ = self.centroids_.copy()
        self.covariances_ = unit * self.reg_covar
        self.precisions_cholesky_ = unit / np.sqrt(self.reg_covar)
        return self

    def _fitted_mixture(self) -> GaussianMixture:
        """A scikit-learn mixture carrying the stored parameters (for predict, no refit)."""
        model = GaussianMixture(n_components=len(self.weights_), covariance_type=self.covariance_type)
        model.weights_ = self.weights_
        model.means_ = self.means_
        model.covariances_ = self.covariances_
        model.precisions_cholesky_ = self.precisions_cholesky_
        return model

    def predict(self, matrix: np.ndarray) -> np.ndarray:
        """Most probable segment of each row (rows scaled like the training data)."""
        self._check_fitted()
        matrix = self._check_columns(matrix)
        if self.n_clusters_ == 1:
            return np.zeros(len(matrix), dtype=np.int64)
        return self._fitted_mixture().predict(matrix).astype(np.int64)

    def predict_proba(self, matrix: np.ndarray) -> np.ndarray:
        """Membership probability of each row in each segment (rows x segments)."""
        self._check_fitted()
        matrix = self._check_columns(matrix)
        if self.n_clusters_ == 1:
            return np.ones((len(matrix), 1))
        return self._fitted_mixture().predict_proba(matrix)

    def _state(self) -> dict[str, Any]:
        return {
            "weights": encode_array(self.weights_),
            "means": encode_array(self.means_),
            "covariances": encode_array(self.covariances_),
            "precisions_cholesky": encode_array(self.precisions_cholesky_),
        }

    def _load_state(self, state: dict[str, Any]) -> None:
        self.weights_ = decode_array(state["weights"])
        self.means_ = decode_array(state["means"])
        self.covariances_ = decode_array(state["covariances"])
        self.precisions_cholesky_ = decode_array(state["precisions_cholesky"])
