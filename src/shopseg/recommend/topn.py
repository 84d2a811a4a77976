"""The exact top ``n`` products a customer has not bought yet, from factor models' scores.

Factor models (ALS) score every product for a customer with one dot product per product.
Serving them to millions of customers needs only this: a block of customers' factors times
the product factors, bought products set to minus infinity, and the ``n`` best kept with
``argpartition``. Used by the engines that recommend to everybody of a large shop (Spark per
Arrow batch, chunked per chunk); the result is exact, not an over-fetched ranked list.
"""

from __future__ import annotations

import numpy as np

#: Customers scored at once: rows x products float32 scores (2,048 x 50,000 products is 400 MB).
SCORE_ROWS = 2_048


def top_unbought(
    customer_factors: np.ndarray,
    bought: list[np.ndarray],
    item_factors: np.ndarray,
    n: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The ``n`` best products each customer has not bought: (row, item column, score), best first.

    ``customer_factors``: customers x factors; ``bought[i]``: item columns customer ``i``
    bought; ``item_factors``: products x factors. Ties are broken by the lower item column.
    Customers who bought every product get nothing. Rows come out in order.
    """
    rows_out, items_out, scores_out = [], [], []
    products = len(item_factors)
    keep = min(n, products)
    if keep < 1 or len(customer_factors) == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0)
    for start in range(0, len(customer_factors), SCORE_ROWS):
        block = customer_factors[start : start + SCORE_ROWS]
        scores = block @ item_factors.T
        lengths = np.array([len(b) for b in bought[start : start + SCORE_ROWS]], dtype=np.int64)
        if lengths.sum():
            owner = np.repeat(np.arange(len(block)), lengths)
            scores[owner, np.concatenate(bought[start : start + SCORE_ROWS]).astype(np.int64)] = -np.inf
        if keep < products:
            best = np.argpartition(-scores, keep - 1, axis=1)[:, :keep]
        else:
            best = np.tile(np.arange(products), (len(block), 1))
        best_scores = np.take_along_axis(scores, best, axis=1)
        order = np.lexsort((best, -best_scores), axis=1)
        best = np.take_along_axis(best, order, axis=1)
        best_scores = np.take_along_axis(best_scores, order, axis=1)
        row = np.repeat(np.arange(start, start + len(block)), keep).reshape(len(block), keep)
        fresh = np.isfinite(best_scores)
        rows_out.append(row[fresh])
        items_out.append(best[fresh])
        scores_out.append(best_scores[fresh])
    return np.concatenate(rows_out), np.concatenate(items_out), np.concatenate(scores_out).astype(np.float64)


def ranks(rows: np.ndarray) -> np.ndarray:
    """1, 2, 3 ... within each run of equal (sorted) ``rows``: the rank of each recommendation."""
    if len(rows) == 0:
        return np.zeros(0, dtype=np.int64)
    first = np.r_[True, rows[1:] != rows[:-1]]
    start_of_run = np.maximum.accumulate(np.where(first, np.arange(len(rows)), 0))
    return np.arange(len(rows)) - start_of_run + 1
