"""The baselines: what sells in the shop, and what sells in the customer's segment.

Popularity is the share of customers with purchases who bought the product (distinct buyers,
so one wholesale customer does not make a product popular). Segment popularity is the same
share within the segment, shrunk towards the shop's by
:data:`~shopseg.recommend.base.SEGMENT_PRIOR_CUSTOMERS` pseudo-customers; customers without a
segment get the shop's. Both are computed by the base class (every model uses them for cold
start), so these models only choose which one to serve.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from shopseg.recommend.base import POPULAR_IN_SEGMENT, POPULAR_IN_SHOP, Recommender, Segments
from shopseg.recommend.interactions import Interactions


class PopularRecommender(Recommender):
    """The same best sellers for everybody (minus what they bought): the weakest honest baseline."""

    name: ClassVar[str] = "popular"
    reason: ClassVar[str] = POPULAR_IN_SHOP

    def __init__(self, *, repeat_categories: Iterable[str] | None = None, random_state: int = 0) -> None:
        self.repeat_categories = repeat_categories
        self.random_state = random_state

    def _fit(self, data: Interactions, *, segments: Segments, taste: pd.DataFrame | None) -> None:
        """Nothing beyond the base class's popularity."""

    def _warm_customers(self) -> np.ndarray:
        return np.ones(self.interactions_.n_customers, dtype=bool)

    def _score(self, rows: np.ndarray) -> np.ndarray:
        return np.broadcast_to(self.segment_popularity_[-1], (len(rows), self.interactions_.n_products)).copy()

    def column_scores(self, rows: np.ndarray, column: int) -> tuple[np.ndarray, np.ndarray]:
        return np.full(len(rows), float(self.segment_popularity_[-1, column])), np.ones(len(rows), dtype=bool)


class SegmentPopularRecommender(PopularRecommender):
    """Best sellers of the customer's segment; the shop's best sellers without a segment.

    Everything but the scores (and their explanation) is :class:`PopularRecommender`'s: both
    read the popularity the base class keeps per segment (the last row is the whole shop).
    """

    name: ClassVar[str] = "segment_popular"
    reason: ClassVar[str] = POPULAR_IN_SEGMENT

    def _score(self, rows: np.ndarray) -> np.ndarray:
        return self.segment_popularity_[self.segment_codes_[rows]].copy()

    def column_scores(self, rows: np.ndarray, column: int) -> tuple[np.ndarray, np.ndarray]:
        scores = self.segment_popularity_[self.segment_codes_[rows], column].astype(np.float64)
        return scores, np.ones(len(rows), dtype=bool)

    def _explain(self, rows: np.ndarray, items: np.ndarray, context: Any) -> np.ndarray:
        in_segment = self.segment_codes_[rows] < len(self.segment_labels_)
        return np.broadcast_to(np.where(in_segment, POPULAR_IN_SEGMENT, POPULAR_IN_SHOP)[:, None], items.shape).astype(
            object
        )
