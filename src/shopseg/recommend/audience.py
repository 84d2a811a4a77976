"""Item-affinity audiences: which customers are most likely to buy a given product.

The reverse of a recommendation, for campaigns ("who should get the mail about the new
tent?"): every customer the model can score from their own history is scored for the one
product, customers who bought it within ``recent_days`` are removed (``None``: everyone who
ever bought it), and the ``top`` highest scores are returned, best first.

Scores are the model's own for that product (:meth:`~shopseg.recommend.base.Recommender.
column_scores`: a factor dot product for ALS, a neighbour sum for item kNN, one column of the
batched scores for content; the hybrid blends its components scaled across customers). Cold
customers are left out by default: their score would be the product's popularity, the same
for all of them, which says nothing about them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from shopseg import schema as s
from shopseg.errors import ShopsegError
from shopseg.recommend.base import RANK, SCORE, Recommender
from shopseg.recommend.interactions import SECONDS_PER_DAY

DEFAULT_RECENT_DAYS = 90.0


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
    last_day = np.asarray(data.last_purchase_day[:, column].todense()).ravel()
    bought = last_day > 0
    if recent_days is not None and data.reference_ts is not None:
        reference_day = (data.reference_ts - pd.Timestamp(0)) / pd.Timedelta(seconds=SECONDS_PER_DAY)
        bought &= reference_day - last_day <= recent_days
    rows = np.flatnonzero(~bought)
    scores, warm = model.column_scores(rows, column)
    if not include_cold:
        rows, scores = rows[warm], scores[warm]
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
