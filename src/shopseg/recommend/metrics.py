"""Ranking metrics for top-k recommendations, vectorised over customers.

For each customer: ``items`` (customers x k) are the recommended product columns, best first
(-1 = no recommendation in that slot); ``relevant`` (customers x products, CSR) marks the
products they actually bought in the test period. Relevance is binary.

* Recall@k  = hits in the top k / number of relevant products;
* NDCG@k    = sum of 1/log2(rank + 1) over hits / the same sum for a perfect ranking of
  min(relevant, k) hits;
* MAP@k     = mean over customers of AP@k = sum over hit ranks r of precision@r / min(relevant, k);
* coverage  = distinct recommended products / products in the catalogue;
* novelty   = mean over all recommendations of -log2(popularity), popularity being the share
  of customers with purchases who bought the product in training (at least one buyer is
  assumed, so a never-bought product counts as bought by one).

Customers without relevant products are the caller's to drop (they have no recall).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp


def hits(items: np.ndarray, relevant: sp.csr_matrix) -> np.ndarray:
    """bool (customers x k): is each recommended product relevant to its customer."""
    if items.size == 0:
        return np.zeros(items.shape, dtype=bool)
    rows = np.repeat(np.arange(items.shape[0]), items.shape[1])
    columns = items.ravel()
    found = np.asarray(relevant[rows, np.maximum(columns, 0)]).ravel() > 0
    return (found & (columns >= 0)).reshape(items.shape)


def ranking_metrics(items: np.ndarray, relevant: sp.csr_matrix) -> dict[str, np.ndarray]:
    """Per-customer recall, ndcg and ap at k = ``items.shape[1]``; see the module docstring."""
    k = items.shape[1]
    hit = hits(items, relevant).astype(np.float64)
    count = np.diff(sp.csr_matrix(relevant).indptr).astype(np.float64)
    positions = np.arange(1, k + 1)
    discount = 1.0 / np.log2(positions + 1.0)
    ideal = np.concatenate([[0.0], np.cumsum(discount)])[np.minimum(count, k).astype(np.int64)]
    capped = np.minimum(count, k)
    with np.errstate(divide="ignore", invalid="ignore"):
        recall = np.where(count > 0, hit.sum(axis=1) / count, 0.0)
        ndcg = np.where(ideal > 0, (hit * discount).sum(axis=1) / ideal, 0.0)
        precision_at = np.cumsum(hit, axis=1) / positions
        ap = np.where(capped > 0, (precision_at * hit).sum(axis=1) / capped, 0.0)
    return {"recall": recall, "ndcg": ndcg, "ap": ap}


def mean_ndcg(items: np.ndarray, relevant: sp.csr_matrix) -> float:
    """Mean NDCG@k over the customers (rows); 0 for none."""
    if items.shape[0] == 0:
        return 0.0
    return float(ranking_metrics(items, relevant)["ndcg"].mean())


def coverage(items: np.ndarray, n_products: int) -> float:
    """Share of the catalogue recommended to at least one customer."""
    shown = np.unique(items[items >= 0])
    return float(len(shown) / n_products) if n_products else 0.0


def novelty(items: np.ndarray, buyers: np.ndarray, n_buyers: int) -> float:
    """Mean -log2(popularity) of the recommendations (popularity = buyers / customers with purchases)."""
    shown = items[items >= 0]
    if not len(shown) or n_buyers <= 0:
        return 0.0
    popularity = np.maximum(buyers[shown], 1) / n_buyers
    return float(np.mean(-np.log2(popularity)))
