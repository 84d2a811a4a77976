"""Item-affinity audiences: which customers are most likely to buy a given product.

The reverse of a recommendation, for campaigns ("who should get the mail about the new
tent?"): every customer the model can score from their own history is scored for the one
product, customers who bought it within ``recent_days`` are removed (``None``: everyone who
ever bought it), and the ``top`` highest scores are returned, best first.

Scores are the model's own (a factor dot product for ALS, a neighbour sum for item kNN, the
blended normalised score for the hybrid), computed in batches (vectorised; factor models
score one column directly). Cold customers are left out by default: their score would be the
product's popularity, the same for all of them, which says nothing about them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from shopseg import schema as s
from shopseg.errors import ShopsegError
from shopseg.recommend.als import FactorRecommender
from shopseg.recommend.base import RANK, SCORE, Recommender
from shopseg.recommend.interactions import SECONDS_PER_DAY

DEFAULT_RECENT_DAYS = 90.0


def item_scores(model: Recommender, rows: np.ndarray, column: int) -> np.ndarray:
    """The model's score of product ``column`` for customer ``rows`` (float64, len(rows))."""
    if isinstance(model, FactorRecommender):
        return (model.customer_factors_[rows] @ model.product_factors_[column]).astype(np.float64)
    codes = model.segment_codes_[rows]
    out = np.empty(len(rows), dtype=np.float64)
    step = model.batch_size()
    for start in range(0, len(rows), step):
        batch = slice(start, start + step)
        out[batch] = model.scores_for(rows[batch], codes[batch])[0][:, column]
    return out


def audience_for_item(
    model: Recommender,
    product_id: object,
    top: int = 100,
    *,
    recent_days: float | None = DEFAULT_RECENT_DAYS,
    include_cold: bool = False,
) -> pd.DataFrame:
    """customer_id, score, rank (1 = most likely): the ``top`` customers for ``product_id``.

    ``model``: a fitted recommender. Raises :class:`~shopseg.errors.ShopsegError` for a product
    the model does not know.
    """
    model._check_fitted()
    data = model.interactions_
    column = int(data.columns([product_id])[0])
    if column < 0:
        examples = ", ".join(map(str, data.product_ids[:3]))
        raise ShopsegError(
            f"Product '{product_id}' is not in this shop's catalogue or history "
            f"({data.n_products:,} products, e.g. {examples}). Check the id (ids are text: '00042' is not '42')."
        )
    if top < 1:
        raise ShopsegError(f"--top must be a positive number of customers, got {top}.")
    eligible = np.ones(data.n_customers, dtype=bool) if include_cold else model.warm_.copy()
    last_day = np.asarray(data.last_purchase_day[:, column].todense()).ravel()
    bought = last_day > 0
    if recent_days is not None and data.reference_ts is not None:
        reference_day = (data.reference_ts - pd.Timestamp(0)) / pd.Timedelta(seconds=SECONDS_PER_DAY)
        bought &= reference_day - last_day <= recent_days
    eligible &= ~bought
    rows = np.flatnonzero(eligible)
    scores = item_scores(model, rows, column)
    count = min(top, len(rows))
    if count == 0:
        return pd.DataFrame({s.CUSTOMER_ID: pd.Series(dtype=object), SCORE: [], RANK: pd.Series(dtype=np.int64)})
    best = np.argpartition(-scores, count - 1)[:count] if count < len(rows) else np.arange(len(rows))
    best = best[np.lexsort((rows[best], -scores[best]))]
    return pd.DataFrame(
        {
            s.CUSTOMER_ID: data.customer_ids.to_numpy(dtype=object)[rows[best]],
            SCORE: scores[best],
            RANK: np.arange(1, count + 1),
        }
    )
