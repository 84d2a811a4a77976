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


def category_shares(orders: pd.DataFrame, products: pd.DataFrame, max_categories: int = 12) -> pd.DataFrame | None:
    """One row per customer with purchases in categorised products, or None without categories."""
    if products is None or s.CATEGORY not in products or s.PRODUCT_ID not in orders:
        return None
    category = products.set_index(s.PRODUCT_ID)[s.CATEGORY].dropna()
    if category.empty:
        return None
    purchases = orders.loc[~orders[s.IS_RETURN], [s.CUSTOMER_ID, s.ORDER_ID, s.PRODUCT_ID, s.AMOUNT]]
    purchases = purchases.assign(category=purchases[s.PRODUCT_ID].map(category)).dropna(subset=["category"])
    if purchases.empty:
        return None
    spend = purchases.groupby("category")[s.AMOUNT].sum().sort_values(ascending=False, kind="stable")
    top = list(spend.index[:max_categories])
    purchases["category"] = purchases["category"].where(purchases["category"].isin(top), "other")
    table = purchases.pivot_table(
        index=s.CUSTOMER_ID, columns="category", values=s.AMOUNT, aggfunc="sum", fill_value=0.0
    )
    shares = table.div(table.sum(axis=1).where(lambda total: total > 0, 1.0), axis=0)
    # Shrink towards the shop's spend shares, as for time habits: one order is weak evidence.
    shop_shares = table.sum(axis=0) / max(float(table.to_numpy().sum()), 1e-12)
    orders = purchases.groupby(s.CUSTOMER_ID)[s.ORDER_ID].nunique().reindex(shares.index).astype("float64")
    shares = (
        shares.mul(orders, axis=0)
        .add(SHARE_PRIOR_ORDERS * shop_shares, axis=1)
        .div(orders + SHARE_PRIOR_ORDERS, axis=0)
    )
    shares.columns = [_column_name(c) for c in shares.columns]
    return shares.sort_index(axis=1).astype("float64")
