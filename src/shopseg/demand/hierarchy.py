"""The segment x category x product hierarchy: its nodes, summing matrix and MinT (WLS) reconciliation.

Bottom series: every (segment, product) pair, G x P of them, in segment-major order. Each
level is a set of nodes, each the sum of some bottom series (the summing matrix S has a 1
where a node contains a bottom series):

============================ ==================================================
total                        everything
segment                      one segment, every product
category                     every segment, one category
product                      every segment, one product (what a warehouse stocks)
segment/category             one segment, one category
segment/product              the bottom series
============================ ==================================================

Reconciliation makes forecasts made separately at every level add up. MinT with a diagonal
covariance (WLS, Wickramasuriya, Athanasopoulos & Hyndman 2019): with base forecasts y_hat of
every node and their variances w, the bottom series are

    b = (S' W^-1 S)^-1 S' W^-1 y_hat,     reconciled = S b,     W = diag(w),

the coherent forecasts closest to the base ones, each node weighted by how sure its base
forecast is. Nixtla's hierarchicalforecast implements the same (MinTrace 'wls_var', with
in-sample residual variances where shopseg uses the forecasts' own predictive variances); it
is not a dependency because its companion statsforecast needs pandas < 3 and shopseg runs on
pandas 3. S'W^-1 S is solved by conjugate gradients over the sparse S (no dense matrix of
size (G x P)^2), so a 20-segment, 2,000-product shop (40,000 bottom series) reconciles in
well under a second.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.sparse.linalg import LinearOperator, cg

from shopseg import schema as s

LEVEL = "level"
LEVELS = ("total", "segment", "category", "product", "segment/category", "segment/product")
BOTTOM = "segment/product"


@dataclass
class Hierarchy:
    """Nodes (``nodes``: level, segment_id, category, product_id; one row each, LEVELS order)
    and the sparse summing matrix ``summing`` (nodes x bottom series)."""

    segments: np.ndarray
    products: np.ndarray
    categories: np.ndarray
    product_category: np.ndarray  # category position of each product
    nodes: pd.DataFrame
    summing: sparse.csr_matrix

    @property
    def n_bottom(self) -> int:
        return len(self.segments) * len(self.products)

    def level_slice(self, level: str) -> slice:
        """Rows of ``nodes`` (and of any node vector) of one level."""
        rows = np.flatnonzero(self.nodes[LEVEL].to_numpy() == level)
        return slice(int(rows[0]), int(rows[-1]) + 1)

    def aggregate(self, bottom: np.ndarray) -> np.ndarray:
        """Every node's value from bottom values (G, P) or (G * P,)."""
        return self.summing @ np.asarray(bottom, dtype="float64").ravel()


def build_hierarchy(segments: np.ndarray, products: np.ndarray, categories: np.ndarray, product_category) -> Hierarchy:
    """The hierarchy of ``segments`` x ``products``; ``product_category`` (P,) positions in ``categories``."""
    n_seg, n_prod, n_cat = len(segments), len(products), len(categories)
    bottom = np.arange(n_seg * n_prod)
    seg_of = bottom // n_prod
    prod_of = bottom % n_prod
    cat_of = np.asarray(product_category)[prod_of]
    groups = [
        ("total", np.zeros_like(bottom), 1),
        ("segment", seg_of, n_seg),
        ("category", cat_of, n_cat),
        ("product", prod_of, n_prod),
        ("segment/category", seg_of * n_cat + cat_of, n_seg * n_cat),
        ("segment/product", bottom, n_seg * n_prod),
    ]
    rows, offset, frames = [], 0, []
    for level, key, count in groups:
        rows.append(offset + key)
        offset += count
        frames.append(_node_frame(level, count, segments, products, categories, n_cat, n_prod, product_category))
    row = np.concatenate(rows)
    col = np.tile(bottom, len(groups))
    summing = sparse.csr_matrix((np.ones(row.size), (row, col)), shape=(offset, n_seg * n_prod))
    nodes = pd.concat(frames, ignore_index=True)
    return Hierarchy(segments, products, categories, np.asarray(product_category), nodes, summing)


def _node_frame(level, count, segments, products, categories, n_cat, n_prod, product_category) -> pd.DataFrame:
    """The nodes of one level: level, segment_id, category, product_id (missing where the level sums over it)."""
    key = np.arange(count)
    segment = category = product = None
    if level == "segment":
        segment = segments[key]
    elif level == "category":
        category = categories[key]
    elif level == "product":
        product, category = products[key], categories[np.asarray(product_category)[key]]
    elif level == "segment/category":
        segment, category = segments[key // n_cat], categories[key % n_cat]
    elif level == "segment/product":
        segment, product = segments[key // n_prod], products[key % n_prod]
        category = categories[np.asarray(product_category)[key % n_prod]]
    return pd.DataFrame(
        {
            LEVEL: level,
            s.SEGMENT_ID: pd.array(segment if segment is not None else [None] * count, dtype="Int64"),
            s.CATEGORY: pd.array(category if category is not None else [None] * count, dtype="string"),
            s.PRODUCT_ID: pd.array(product if product is not None else [None] * count, dtype="string"),
        }
    )


def reconcile_wls(hierarchy: Hierarchy, base: np.ndarray, variance: np.ndarray) -> tuple[np.ndarray, bool]:
    """MinT-WLS reconciled forecasts of every node (see the module docstring) and whether CG converged.

    The result is coherent either way (it is S times a bottom vector).

    ``variance``: each node's base forecast variance (floored at a tiny fraction of the
    largest, so a node that is certain to be 0 does not divide by zero).
    """
    summing = hierarchy.summing
    w = np.maximum(np.asarray(variance, dtype="float64"), max(float(np.max(variance)), 1.0) * 1e-12)
    inverse = 1.0 / w
    weighted = summing.T.multiply(inverse).tocsr()  # S' W^-1
    rhs = weighted @ base
    diagonal = np.asarray(weighted.multiply(summing.T).sum(axis=1)).ravel()
    operator = LinearOperator((summing.shape[1],) * 2, matvec=lambda b: weighted @ (summing @ b), dtype="float64")
    preconditioner = LinearOperator((summing.shape[1],) * 2, matvec=lambda r: r / diagonal, dtype="float64")
    start = base[hierarchy.level_slice(BOTTOM)]
    solution, info = cg(operator, rhs, x0=start, rtol=1e-10, atol=0.0, maxiter=2000, M=preconditioner)
    return summing @ solution, info == 0
