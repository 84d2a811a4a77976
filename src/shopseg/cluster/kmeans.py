"""K-Means with the number of segments chosen from the data.

``k=None`` compares every k in ``k_range`` on a sample of at most ``selection_rows``
customers (K-Means with ``n_init`` restarts per k) and chooses k by the rule of
:mod:`shopseg.cluster.selection` (by default the smallest k whose silhouette is within one
standard error of the best). The final model is then fitted on all customers, started from the sample's
centroids for the chosen k (one run instead of ``n_init``), with the engine
:func:`~shopseg.cluster.kmeans_engines.choose_engine` picks for the size (``engine`` fixes
it). ``k`` fixes the number of segments instead.

The default range starts at 3, not 2: silhouette favours two segments on most customer data
(the active/lapsed split dominates), and two groups rarely support distinct marketing
actions; ``k=2`` stays available. Segment ids are ordered by size (0 = largest) so that they
do not depend on K-Means' arbitrary label order. Everything is seeded: the same data and
``random_state`` give the same segments.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from shopseg.cluster.base import BaseClusterer, check_matrix
from shopseg.cluster.kmeans_engines import ENGINES, choose_engine, run_kmeans
from shopseg.cluster.selection import DEFAULT_TOLERANCE, Trial, select_k
from shopseg.errors import ShopsegError


class AutoKMeans(BaseClusterer):
    """K-Means over a scaled matrix (customers x features); ``k=None`` chooses k.

    Parameters: ``n_init`` restarts per k (on the sample) or for a fixed k; ``engine`` one of
    ``"auto"``, ``"lloyd"``, ``"minibatch"``, ``"faiss"``; ``criterion`` and ``tolerance`` the
    selection rule; ``selection_rows`` / ``silhouette_sample`` the sample sizes.
    Learned: see :class:`~shopseg.cluster.base.BaseClusterer`, plus ``inertia_`` and
    ``engine_`` (the engine that fitted the final model).
    """

    kind = "kmeans"

    def __init__(
        self,
        k: int | None = None,
        k_range: tuple[int, int] = (3, 10),
        random_state: int = 0,
        n_init: int = 10,
        engine: str = "auto",
        criterion: str = "silhouette",
        tolerance: float | str = DEFAULT_TOLERANCE,
        selection_rows: int = 20_000,
        silhouette_sample: int = 5000,
        max_iter: int = 300,
    ) -> None:
        self.k = k
        self.k_range = k_range
        self.random_state = random_state
        self.n_init = n_init
        self.engine = engine
        self.criterion = criterion
        self.tolerance = tolerance
        self.selection_rows = selection_rows
        self.silhouette_sample = silhouette_sample
        self.max_iter = max_iter

    def _engine_for(self, n_rows: int) -> str:
        if self.engine == "auto":
            return choose_engine(n_rows)
        if self.engine not in ENGINES:
            raise ShopsegError(f"Unknown K-Means engine '{self.engine}'. Known: auto, {', '.join(ENGINES)}.")
        return self.engine

    def _trial(self, sample: np.ndarray, k: int) -> Trial:
        result = run_kmeans(
            sample,
            k,
            engine=self._engine_for(len(sample)),
            n_init=self.n_init,
            max_iter=self.max_iter,
            random_state=self.random_state,
        )
        return Trial(labels=result.labels, state=result)

    def fit(self, matrix: np.ndarray) -> AutoKMeans:
        """Fit on a scaled matrix (customers x features); see the module docstring."""
        matrix = check_matrix(matrix)
        self._reset()
        self._check_params()
        self.engine_ = self._engine_for(len(matrix))
        self.inertia_ = 0.0
        k, k_values = self._resolve_k(matrix)
        if k == 1:
            self._store(matrix, np.zeros(len(matrix), dtype=np.int64))
            self.inertia_ = float(((matrix - self.centroids_[0]) ** 2).sum())
            return self
        init = None
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
            k = selection.k
            self._keep_selection(selection)
            trial = selection.trials[k].state
            if len(rows) == len(matrix):  # the sample was every row: the trial is the final fit
                self._store(matrix, trial.labels, trial.centroids)
                self.inertia_, self.engine_ = trial.inertia, trial.engine
                return self
            init = trial.centroids
        result = run_kmeans(
            matrix,
            k,
            engine=self.engine_,
            init=init,
            n_init=self.n_init,
            max_iter=self.max_iter,
            random_state=self.random_state,
        )
        self._store(matrix, result.labels, result.centroids)
        self.inertia_ = result.inertia
        return self

    def _state(self) -> dict[str, Any]:
        return {"inertia": float(getattr(self, "inertia_", 0.0)), "engine": getattr(self, "engine_", "")}

    def _load_state(self, state: dict[str, Any]) -> None:
        self.inertia_ = float(state.get("inertia", 0.0))
        self.engine_ = state.get("engine", "")
