"""Category shares: the share of each customer's spend in each product category.

Only when the shop has a product table with categories. The ``max_categories`` largest
categories by spend get their own column (``category_share_<name>``); the rest are
summed into ``category_share_other`` so the number of features stays bounded. Shares
are shrunk towards the shop's shares with the same prior as time habits
(:data:`~shopseg.features.behaviour.SHARE_PRIOR_ORDERS` pseudo-orders).
"""

from __future__ import annotations

import re

import pandas as pd

from shopseg import schema as s
from shopseg.features.behaviour import SHARE_PRIOR_ORDERS


def _column_name(category: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "_", str(category).lower()).strip("_") or "unnamed"
    return f"category_share_{slug}"


def category_priors(orders: pd.DataFrame, products: pd.DataFrame | None, max_categories: int = 12) -> dict[str, float]:
    """The shop's spend share per category column (the shares customers are shrunk towards)."""
    purchases = _categorised_purchases(orders, products)
    if purchases is None:
        return {}
    spend = purchases.groupby("category")[s.AMOUNT].sum().sort_values(ascending=False, kind="stable")
    top = list(spend.index[:max_categories])
    grouped = spend.groupby(spend.index.where(spend.index.isin(top), "other")).sum()
    total = max(float(grouped.sum()), 1e-12)
    return {_column_name(c): float(v / total) for c, v in grouped.items()}


def _categorised_purchases(orders: pd.DataFrame, products: pd.DataFrame | None) -> pd.DataFrame | None:
    if products is None or s.CATEGORY not in products or s.PRODUCT_ID not in orders:
        return None
    category = products.set_index(s.PRODUCT_ID)[s.CATEGORY].dropna()
    if category.empty:
        return None
    purchases = orders.loc[~orders[s.IS_RETURN], [s.CUSTOMER_ID, s.ORDER_ID, s.PRODUCT_ID, s.AMOUNT]]
    purchases = purchases.assign(category=purchases[s.PRODUCT_ID].map(category)).dropna(subset=["category"])
    return None if purchases.empty else purchases


def category_shares(
    orders: pd.DataFrame,
    products: pd.DataFrame,
    max_categories: int = 12,
    priors: dict[str, float] | None = None,
) -> pd.DataFrame | None:
    """One row per customer with purchases in categorised products, or None without categories.

    ``priors`` (from :func:`category_priors` on the shop a model was fitted on) fixes the
    category columns and the shop shares; by default both come from ``orders``.
    """
    purchases = _categorised_purchases(orders, products)
    if purchases is None:
        return None
    priors = priors or category_priors(orders, products, max_categories)
    if not priors:
        return None
    column = purchases["category"].map(_column_name)
    column = column.where(column.isin(list(priors)), "category_share_other")
    purchases = purchases.assign(column=column)
    purchases = purchases[purchases["column"].isin(list(priors))]
    if purchases.empty:
        return None
    table = purchases.pivot_table(index=s.CUSTOMER_ID, columns="column", values=s.AMOUNT, aggfunc="sum", fill_value=0.0)
    table = table.reindex(columns=sorted(priors), fill_value=0.0)
    shares = table.div(table.sum(axis=1).where(lambda total: total > 0, 1.0), axis=0)
    # Shrink towards the shop's spend shares, as for time habits: one order is weak evidence.
    shop_shares = pd.Series(priors).reindex(table.columns).fillna(0.0)
    orders = purchases.groupby(s.CUSTOMER_ID)[s.ORDER_ID].nunique().reindex(shares.index).astype("float64")
    shares = (
        shares.mul(orders, axis=0)
        .add(SHARE_PRIOR_ORDERS * shop_shares, axis=1)
        .div(orders + SHARE_PRIOR_ORDERS, axis=0)
    )
    return shares.sort_index(axis=1).astype("float64")
