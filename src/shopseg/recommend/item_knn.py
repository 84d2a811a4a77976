"""Item-to-item collaborative filtering: products bought (or looked at) by the same customers.

The similarity of two products is the cosine of their columns in the customer x product
matrix (purchases, plus weighted views/carts/reviews with ``use_signals``): one sparse product
``X.T @ X`` of the column-normalised matrix, no loop. Each product keeps only its
``neighbours`` most similar products (top-k per row, vectorised with one ``lexsort``), which
removes the long tail of chance co-occurrences and keeps scoring a sparse x sparse product.

A customer's score for product ``i`` is ``sum_j x[c, j] * sim(i, j)`` over the neighbours ``j``
of ``i`` they interacted with; the reason names the ``j`` that contributed most ("bought with
Trailblazer Alpine Tent"), found for all recommended pairs at once with an element-wise
sparse product.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import scipy.sparse as sp

from shopseg.errors import ConfigError
from shopseg.recommend.base import POPULAR_IN_SHOP, Recommender, Segments, short_titles
from shopseg.recommend.interactions import Interactions


def keep_top_per_row(matrix: sp.csr_matrix, k: int) -> sp.csr_matrix:
    """The ``k`` largest entries of each row of ``matrix`` (ties: lower column first), as CSR."""
    matrix = sp.csr_matrix(matrix)
    matrix.sort_indices()
    counts = np.diff(matrix.indptr)
    row = np.repeat(np.arange(matrix.shape[0]), counts)
    order = np.lexsort((-matrix.data, row))
    rank = np.arange(matrix.nnz) - matrix.indptr[row[order]]
    kept = order[rank < k]
    top = sp.csr_matrix((matrix.data[kept], (row[kept], matrix.indices[kept])), shape=matrix.shape, dtype=np.float32)
    top.sort_indices()
    return top


def cosine_similarity_columns(matrix: sp.csr_matrix) -> sp.csr_matrix:
    """Cosine similarity between the columns of a sparse matrix (products x products), zero diagonal."""
    norms = np.sqrt(np.asarray(matrix.multiply(matrix).sum(axis=0)).ravel())
    scaled = sp.csr_matrix(matrix @ sp.diags(1.0 / np.where(norms > 0, norms, 1.0)))
    similarity = sp.csr_matrix(scaled.T @ scaled, dtype=np.float32)
    similarity.setdiag(0.0)
    similarity.eliminate_zeros()
    return similarity


class ItemKNNRecommender(Recommender):
    """Co-purchase cosine item-item model; see the module docstring.

    ``neighbours``: similar products kept per product. ``use_signals``: learn from views,
    carts and reviews too, not only purchases. Learned: ``history_`` (customers x products
    CSR it scores from), ``similar_`` (products x products CSR, row i = neighbours of i).
    """

    name: ClassVar[str] = "item_knn"
    reason: ClassVar[str] = "often bought together with what you bought"
    rebuilt_on_load: ClassVar[tuple[str, ...]] = ("history_",)

    def __init__(
        self,
        *,
        neighbours: int = 20,
        use_signals: bool = True,
        repeat_categories: Iterable[str] | None = None,
        random_state: int = 0,
    ) -> None:
        self.neighbours = neighbours
        self.use_signals = use_signals
        self.repeat_categories = repeat_categories
        self.random_state = random_state

    def _fit(self, data: Interactions, *, segments: Segments, taste: pd.DataFrame | None) -> None:
        if self.neighbours < 1:
            raise ConfigError(f"neighbours must be at least 1, got {self.neighbours}.")
        self._rebuild()
        self.similar_ = keep_top_per_row(cosine_similarity_columns(self.history_), self.neighbours)
        self.short_titles_ = short_titles(data.titles)

    def _rebuild(self) -> None:
        self.history_ = self.interactions_.matrix if self.use_signals else self.interactions_.purchases

    def _warm_customers(self) -> np.ndarray:
        return np.diff(self.history_.indptr) > 0

    def _score(self, rows: np.ndarray) -> np.ndarray:
        return np.asarray((self.history_[rows] @ self.similar_.T).todense(), dtype=np.float32)

    def column_scores(self, rows: np.ndarray, column: int) -> tuple[np.ndarray, np.ndarray]:
        scores = np.asarray((self.history_[rows] @ self.similar_[column].T).todense()).ravel()
        return scores.astype(np.float64), self.warm_[rows]

    def _explain(self, rows: np.ndarray, items: np.ndarray, context: Any) -> np.ndarray:
        """'bought with <title>' naming the customer's product that contributed most to each pair."""
        pair_rows = np.repeat(rows, items.shape[1])
        pair_items = items.ravel()
        contribution = sp.csr_matrix(self.history_[pair_rows].multiply(self.similar_[pair_items]))
        best = np.asarray(contribution.argmax(axis=1)).ravel()
        strength = np.asarray(contribution.max(axis=1).todense()).ravel()
        bought = np.asarray(self.interactions_.purchases[pair_rows, best]).ravel() > 0
        titles = self.short_titles_[best]
        reasons = np.where(bought, "bought with " + titles, "goes with " + titles + ", which you looked at")
        reasons = np.where(strength > 0, reasons, POPULAR_IN_SHOP)
        return reasons.reshape(items.shape).astype(object)
