"""What each segment buys more than the shop does: categories and products by lift.

``lift = (segment's share) / (shop's share)``: 2.0 means the segment spends twice the
shop's share of its money on the category. Small categories are kept out by a minimum
share, small products by a minimum number of buyers, so a lift is never one purchase.
"""

from __future__ import annotations

import pandas as pd

from shopseg import schema as s


def _purchases(orders: pd.DataFrame, segment_of: pd.Series) -> pd.DataFrame:
    lines = orders.loc[~orders[s.IS_RETURN], [s.CUSTOMER_ID, s.PRODUCT_ID, s.AMOUNT]].copy()
    lines["segment"] = lines[s.CUSTOMER_ID].map(segment_of)
    return lines.dropna(subset=["segment"])


def category_lift(
    orders: pd.DataFrame, products: pd.DataFrame | None, segment_of: pd.Series, *, top: int = 5, min_share: float = 0.03
) -> dict[int, list[dict[str, object]]]:
    """Per segment id: the top categories by lift (category, share of spend, lift)."""
    if products is None or s.CATEGORY not in products or s.PRODUCT_ID not in orders:
        return {}
    lines = _purchases(orders, segment_of)
    lines["category"] = lines[s.PRODUCT_ID].map(products.set_index(s.PRODUCT_ID)[s.CATEGORY])
    lines = lines.dropna(subset=["category"])
    if lines.empty:
        return {}
    spend = lines.pivot_table(index="segment", columns="category", values=s.AMOUNT, aggfunc="sum", fill_value=0.0)
    shares = spend.div(spend.sum(axis=1), axis=0)
    overall = spend.sum(axis=0) / spend.to_numpy().sum()
    lift = shares / overall
    result: dict[int, list[dict[str, object]]] = {}
    for segment in shares.index:
        row = lift.loc[segment][shares.loc[segment] >= min_share].sort_values(ascending=False, kind="stable")
        result[int(segment)] = [
            {"category": str(c), "share": round(float(shares.at[segment, c]), 4), "lift": round(float(row[c]), 3)}
            for c in row.index[:top]
        ]
    return result


def product_lift(
    orders: pd.DataFrame, products: pd.DataFrame | None, segment_of: pd.Series, *, top: int = 5, min_buyers: int = 5
) -> dict[int, list[dict[str, object]]]:
    """Per segment id: the products its customers buy most often relative to everyone.

    Share = fraction of the segment's customers who bought the product; lift = that
    fraction over the fraction among all customers. Only products with ``min_buyers``
    buyers in the segment.
    """
    if s.PRODUCT_ID not in orders:
        return {}
    lines = _purchases(orders, segment_of).dropna(subset=[s.PRODUCT_ID])
    buyers = lines.drop_duplicates([s.CUSTOMER_ID, s.PRODUCT_ID])
    counts = buyers.groupby(["segment", s.PRODUCT_ID]).size().rename("buyers").reset_index()
    sizes = segment_of.value_counts()
    overall = buyers.groupby(s.PRODUCT_ID).size() / len(segment_of)
    counts["share"] = counts["buyers"] / counts["segment"].map(sizes)
    counts["lift"] = counts["share"] / counts[s.PRODUCT_ID].map(overall)
    titles = products.set_index(s.PRODUCT_ID)[s.TITLE] if products is not None and s.TITLE in products else None
    result: dict[int, list[dict[str, object]]] = {}
    for segment, group in counts[counts["buyers"] >= min_buyers].groupby("segment"):
        best = group.sort_values(["lift", "buyers", s.PRODUCT_ID], ascending=[False, False, True]).head(top)
        result[int(segment)] = [
            {
                "product_id": str(row[s.PRODUCT_ID]),
                "title": str(titles.get(row[s.PRODUCT_ID], "")) if titles is not None else "",
                "buyers": int(row["buyers"]),
                "share": round(float(row["share"]), 4),
                "lift": round(float(row["lift"]), 3),
            }
            for _, row in best.iterrows()
        ]
    return result
