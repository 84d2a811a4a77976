"""Matrix factorisation for implicit feedback, by the ``implicit`` library (no hand-written ALS).

* ``als`` -- alternating least squares of Hu, Koren & Volinsky (2008): a customer's
  interactions are confidences ``1 + alpha * weight``, all other products are zeros of low
  confidence; factors are solved in closed form (conjugate gradient). The input is BM25
  weighted by default (``weighting="bm25"``, as the ``implicit`` examples do), which damps
  products everybody bought and customers who bought everything.
* ``bpr`` -- Bayesian personalised ranking (Rendle et al., 2009): SGD on sampled
  (bought, not bought) pairs. It runs on one thread: multi-threaded BPR is "hogwild" SGD whose
  result depends on thread timing, and recommendations must be reproducible.

Only the learned factors are kept (``customer_factors_``, ``product_factors_``), so a fitted
model scores with one matrix product and can be saved as arrays; ``implicit`` is imported only
when fitting, with BLAS held to one thread as ``implicit`` asks.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import scipy.sparse as sp

from shopseg.errors import ConfigError
from shopseg.recommend.base import Recommender, Segments, short_titles
from shopseg.recommend.interactions import Interactions

WEIGHTINGS = ("bm25", "none")
#: Recommenders that need the ``implicit`` package.
NEEDS_IMPLICIT = ("als", "bpr")


def implicit_available() -> bool:
    """Whether the ``implicit`` package can be imported."""
    try:
        import implicit  # noqa: F401
    except ImportError:
        return False
    return True


def _require_implicit() -> None:
    if not implicit_available():
        raise ConfigError(
            "The 'als' and 'bpr' recommenders need the 'implicit' package: pip install 'implicit>=0.7.2' "
            "(CPU wheels on PyPI), or choose another model (popular, segment_popular, item_knn, content)."
        )


def weighted(matrix: sp.csr_matrix, weighting: str) -> sp.csr_matrix:
    """``matrix`` with BM25 weighting (K1=100, B=0.8) or as it is."""
    if weighting == "none":
        return sp.csr_matrix(matrix, dtype=np.float32)
    from implicit.nearest_neighbours import bm25_weight

    return sp.csr_matrix(bm25_weight(sp.coo_matrix(matrix), K1=100, B=0.8), dtype=np.float32)


class FactorRecommender(Recommender):
    """Shared scoring of factor models: ``customer_factors_ @ product_factors_.T``.

    The reason names the customer's bought product closest to the recommended one in factor
    space (cosine of product factors): "because you bought <title>". It is an explanation by
    similarity, not an exact decomposition of the score; customers who only browsed get the
    generic "customers with similar taste bought this".
    """

    reason: ClassVar[str] = "customers with similar taste bought this"
    rebuilt_on_load: ClassVar[tuple[str, ...]] = ("unit_factors_", "short_titles_")

    use_signals: bool

    def _training_matrix(self, data: Interactions) -> sp.csr_matrix:
        return data.matrix if self.use_signals else data.purchases

    def _warm_customers(self) -> np.ndarray:
        return self.has_history_

    def _score(self, rows: np.ndarray) -> np.ndarray:
        return (self.customer_factors_[rows] @ self.product_factors_.T).astype(np.float32, copy=False)

    def column_scores(self, rows: np.ndarray, column: int) -> tuple[np.ndarray, np.ndarray]:
        scores = self.customer_factors_[rows] @ self.product_factors_[column]
        return scores.astype(np.float64), self.has_history_[rows]

    def _explain(self, rows: np.ndarray, items: np.ndarray, context: Any) -> np.ndarray:
        """'because you bought <title>': the bought product with the most similar factors, per pair."""
        pair_items = items.ravel()
        history = self.interactions_.purchases[np.repeat(rows, items.shape[1])]
        owner = np.repeat(np.arange(len(pair_items)), np.diff(history.indptr))
        similarity = np.einsum(
            "ij,ij->i", self.unit_factors_[pair_items[owner]], self.unit_factors_[history.indices], dtype=np.float64
        )
        order = np.lexsort((-similarity, owner))
        first = order[np.r_[True, np.diff(owner[order]) != 0]] if len(order) else order
        best = np.full(len(pair_items), -1)
        keep = similarity[first] > 0
        best[owner[first[keep]]] = history.indices[first[keep]]
        titles = self.short_titles_[np.maximum(best, 0)]
        reasons = np.where(best >= 0, "because you bought " + titles, self.reason)
        return reasons.reshape(items.shape).astype(object)

    def _store(self, model: Any, matrix: sp.csr_matrix) -> None:
        self.customer_factors_ = np.ascontiguousarray(model.user_factors, dtype=np.float32)
        self.product_factors_ = np.ascontiguousarray(model.item_factors, dtype=np.float32)
        self.has_history_ = np.diff(matrix.indptr) > 0
        self._rebuild()

    def _rebuild(self) -> None:
        norms = np.linalg.norm(self.product_factors_, axis=1, keepdims=True)
        self.unit_factors_ = (self.product_factors_ / np.where(norms > 0, norms, 1.0)).astype(np.float32)
        self.short_titles_ = short_titles(self.interactions_.titles)


class ALSRecommender(FactorRecommender):
    """Implicit-feedback ALS (``implicit.cpu.als``); see the module docstring.

    ``factors``, ``regularization``, ``alpha`` (confidence scale), ``iterations``: ALS
    parameters. ``weighting``: "bm25" or "none". ``use_signals``: learn from views, carts and
    reviews too. ``threads``: 0 = all cores (the solution does not depend on it).
    """

    name: ClassVar[str] = "als"

    def __init__(
        self,
        *,
        factors: int = 16,
        regularization: float = 5.0,
        alpha: float = 1.0,
        iterations: int = 15,
        weighting: str = "bm25",
        use_signals: bool = True,
        threads: int = 0,
        repeat_categories: Iterable[str] | None = None,
        random_state: int = 0,
    ) -> None:
        self.factors = factors
        self.regularization = regularization
        self.alpha = alpha
        self.iterations = iterations
        self.weighting = weighting
        self.use_signals = use_signals
        self.threads = threads
        self.repeat_categories = repeat_categories
        self.random_state = random_state

    def _fit(self, data: Interactions, *, segments: Segments, taste: pd.DataFrame | None) -> None:
        if self.weighting not in WEIGHTINGS:
            raise ConfigError(f"weighting must be one of {', '.join(WEIGHTINGS)}, got '{self.weighting}'.")
        _require_implicit()
        from implicit.cpu.als import AlternatingLeastSquares
        from threadpoolctl import threadpool_limits

        matrix = self._training_matrix(data)
        with threadpool_limits(1, "blas"):
            model = AlternatingLeastSquares(
                factors=self.factors,
                regularization=self.regularization,
                alpha=self.alpha,
                iterations=self.iterations,
                num_threads=self.threads,
                random_state=self.random_state,
            )
            model.fit(weighted(matrix, self.weighting), show_progress=False)
        self._store(model, matrix)


class BPRRecommender(FactorRecommender):
    """Bayesian personalised ranking (``implicit.cpu.bpr``), single-threaded for determinism."""

    name: ClassVar[str] = "bpr"

    def __init__(
        self,
        *,
        factors: int = 64,
        learning_rate: float = 0.01,
        regularization: float = 0.01,
        iterations: int = 50,
        use_signals: bool = True,
        repeat_categories: Iterable[str] | None = None,
        random_state: int = 0,
    ) -> None:
        self.factors = factors
        self.learning_rate = learning_rate
        self.regularization = regularization
        self.iterations = iterations
        self.use_signals = use_signals
        self.repeat_categories = repeat_categories
        self.random_state = random_state

    def _fit(self, data: Interactions, *, segments: Segments, taste: pd.DataFrame | None) -> None:
        _require_implicit()
        from implicit.cpu.bpr import BayesianPersonalizedRanking
        from threadpoolctl import threadpool_limits

        matrix = self._training_matrix(data)
        binary = matrix.copy()
        binary.data[:] = 1.0
        with threadpool_limits(1, "blas"):
            model = BayesianPersonalizedRanking(
                factors=self.factors,
                learning_rate=self.learning_rate,
                regularization=self.regularization,
                iterations=self.iterations,
                num_threads=1,
                random_state=self.random_state,
            )
            model.fit(binary, show_progress=False)
        self._store(model, matrix)
