"""Deep embedded clustering (DEC-style): refine K-Means segments with a KL clustering loss.

The matrix is taken as the representation to refine (the autoencoder/fused representation
of ``represent/`` when the pipeline has one, otherwise the scaled features). Following Xie
et al. (2016), "Unsupervised deep embedding for clustering analysis":

1. K-Means (:class:`~shopseg.cluster.kmeans.AutoKMeans`, which also chooses k when ``k=None``)
   gives the starting centres;
2. an encoder ``z = x W + b + MLP(x)`` starts as the identity (``W = I``, ``b = 0``, the MLP's
   last layer zero), so training starts exactly from the K-Means solution in the input space;
3. soft assignments ``q_ij`` use a Student-t kernel with ``alpha`` degrees of freedom; the
   target ``p_ij ~ q_ij^2 / sum_i q_ij`` sharpens them; encoder and centres minimise
   ``KL(P || Q)`` plus ``anchor * mean ||z - x||^2``, which keeps the embedding near the
   input (an IDEC-style guard against the collapse pure DEC can fall into);
4. the target is recomputed every epoch; training stops when fewer than ``tol`` of the
   customers change segment between epochs, or after ``epochs``.

Training uses at most ``fit_rows`` customers; every customer is then placed by the trained
encoder. The encoder and centres are plain arrays, so ``predict`` and a saved model need
numpy only; ``fit`` needs PyTorch (a :class:`ShopsegError` says so when it is missing).
Deterministic for a ``random_state``: weights and batch order come from seeded generators
(the global torch seed is left alone).
"""

from __future__ import annotations

import importlib.util
from typing import Any

import numpy as np

from shopseg.cluster.base import BaseClusterer, check_matrix, decode_array, encode_array, sample_rows
from shopseg.cluster.kmeans import AutoKMeans
from shopseg.cluster.selection import DEFAULT_TOLERANCE
from shopseg.errors import ShopsegError


def torch_available() -> bool:
    return importlib.util.find_spec("torch") is not None


class DECClusterer(BaseClusterer):
    """DEC-style refinement over a matrix (customers x features); see the module docstring.

    Learned beyond the base attributes (all numpy): ``linear_`` (features x features),
    ``bias_`` (features), ``hidden_weight_`` (features x hidden), ``hidden_bias_`` (hidden),
    ``out_weight_`` (hidden x features), ``centres_`` (segments x features, in the embedding).
    ``centroids_`` are the segments' means in the input space, for profiles.
    """

    kind = "dec"

    def __init__(
        self,
        k: int | None = None,
        k_range: tuple[int, int] = (3, 10),
        random_state: int = 0,
        hidden: int = 64,
        epochs: int = 30,
        batch_size: int = 256,
        learning_rate: float = 1e-3,
        alpha: float = 1.0,
        anchor: float = 1.0,
        tol: float = 0.001,
        fit_rows: int = 50_000,
        criterion: str = "silhouette",
        tolerance: float | str = DEFAULT_TOLERANCE,
    ) -> None:
        self.k = k
        self.k_range = k_range
        self.random_state = random_state
        self.hidden = hidden
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.alpha = alpha
        self.anchor = anchor
        self.tol = tol
        self.fit_rows = fit_rows
        self.criterion = criterion
        self.tolerance = tolerance

    def fit(self, matrix: np.ndarray) -> DECClusterer:
        """Fit on a matrix (customers x features); see the module docstring."""
        if not torch_available():
            raise ShopsegError(
                "The 'dec' algorithm needs PyTorch: pip install torch (the CPU build is enough), "
                "or choose another algorithm such as --algorithm kmeans."
            )
        matrix = check_matrix(matrix)
        self._reset()
        self._check_params()
        start = AutoKMeans(
            k=self.k,
            k_range=self.k_range,
            random_state=self.random_state,
            criterion=self.criterion,
            tolerance=self.tolerance,
        ).fit(matrix)
        self.selection_, self.scores_, self.criterion_ = start.selection_, start.scores_, start.criterion_
        self.selection_rule_ = start.selection_rule_
        self.notes_.extend(start.notes_)
        n_features = matrix.shape[1]
        self._identity(n_features, start.centroids_)
        if start.n_clusters_ > 1:
            rows = sample_rows(len(matrix), self.fit_rows, self.random_state)
            epochs_run = self._train(matrix[rows])
            self.notes_.append(f"DEC refinement of K-Means (k={start.n_clusters_}): {epochs_run} epoch(s)")
        self.n_clusters_ = len(self.centres_)
        labels = self._assign(matrix)
        new_id = self._store(matrix, labels)
        kept = np.flatnonzero(new_id >= 0)
        self.centres_ = self.centres_[kept[np.argsort(new_id[kept])]]
        return self

    def _identity(self, n_features: int, centres: np.ndarray) -> None:
        """Encoder = identity, centres = K-Means centroids (the starting point of step 2)."""
        rng = np.random.default_rng(self.random_state)
        limit = 1 / np.sqrt(max(n_features, 1))
        self.linear_ = np.eye(n_features)
        self.bias_ = np.zeros(n_features)
        self.hidden_weight_ = rng.uniform(-limit, limit, size=(n_features, self.hidden))
        self.hidden_bias_ = np.zeros(self.hidden)
        self.out_weight_ = np.zeros((self.hidden, n_features))
        self.centres_ = np.asarray(centres, dtype="float64").copy()

    def _train(self, sample: np.ndarray) -> int:
        """KL refinement of encoder and centres on ``sample``; returns the epochs run."""
        import torch

        def tensor(array: np.ndarray) -> torch.Tensor:
            return torch.nn.Parameter(torch.tensor(array, dtype=torch.float64))

        params = {
            name: tensor(getattr(self, f"{name}_"))
            for name in ("linear", "bias", "hidden_weight", "hidden_bias", "out_weight", "centres")
        }
        data = torch.tensor(sample, dtype=torch.float64)
        optimiser = torch.optim.Adam(list(params.values()), lr=self.learning_rate)
        rng = np.random.default_rng(self.random_state)

        def embed(x: torch.Tensor) -> torch.Tensor:
            hidden = torch.relu(x @ params["hidden_weight"] + params["hidden_bias"])
            return x @ params["linear"] + params["bias"] + hidden @ params["out_weight"]

        def soft_assign(z: torch.Tensor) -> torch.Tensor:
            squared = torch.cdist(z, params["centres"]) ** 2
            q = (1 + squared / self.alpha) ** (-(self.alpha + 1) / 2)
            return q / q.sum(dim=1, keepdim=True)

        previous = None
        epochs_run = 0
        for _ in range(self.epochs):
            with torch.no_grad():
                q_all = soft_assign(embed(data))
                weight = q_all**2 / q_all.sum(dim=0)
                target = weight / weight.sum(dim=1, keepdim=True)
                labels = q_all.argmax(dim=1).numpy()
            if previous is not None and (labels != previous).mean() < self.tol:
                break
            previous = labels
            epochs_run += 1
            for batch in np.array_split(rng.permutation(len(sample)), max(1, len(sample) // self.batch_size)):
                index = torch.from_numpy(batch)
                x = data[index]
                z = embed(x)
                q = soft_assign(z)
                kl = (target[index] * (torch.log(target[index] + 1e-12) - torch.log(q + 1e-12))).sum(dim=1).mean()
                loss = kl + self.anchor * ((z - x) ** 2).sum(dim=1).mean()
                optimiser.zero_grad()
                loss.backward()
                optimiser.step()
        for name, parameter in params.items():
            setattr(self, f"{name}_", parameter.detach().numpy().copy())
        return epochs_run

    def embed(self, matrix: np.ndarray) -> np.ndarray:
        """The trained encoder applied to rows (rows x features), numpy only."""
        hidden = np.maximum(matrix @ self.hidden_weight_ + self.hidden_bias_, 0)
        return matrix @ self.linear_ + self.bias_ + hidden @ self.out_weight_

    def _assign(self, matrix: np.ndarray) -> np.ndarray:
        """Nearest centre in the embedding (= argmax of the Student-t soft assignment), in blocks."""
        out = np.empty(len(matrix), dtype=np.int64)
        centre_norms = (self.centres_**2).sum(axis=1)
        for start in range(0, len(matrix), 65_536):
            embedded = self.embed(matrix[start : start + 65_536])
            squared = centre_norms - 2 * embedded @ self.centres_.T
            out[start : start + len(embedded)] = squared.argmin(axis=1)
        return out

    def predict(self, matrix: np.ndarray) -> np.ndarray:
        """Segment of each row: the nearest centre after the encoder (no refit, no torch)."""
        self._check_fitted()
        return self._assign(self._check_columns(matrix))

    def _state(self) -> dict[str, Any]:
        names = ("linear", "bias", "hidden_weight", "hidden_bias", "out_weight", "centres")
        return {name: encode_array(getattr(self, f"{name}_")) for name in names}

    def _load_state(self, state: dict[str, Any]) -> None:
        for name, encoded in state.items():
            setattr(self, f"{name}_", decode_array(encoded))
