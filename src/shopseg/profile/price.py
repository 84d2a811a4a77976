"""Where in the shop's price range each customer buys: the evidence behind "bargain" and "premium".

The reference is the shop's *items*, each counted once: a product's price is its catalogue
``price`` when the product table has one, else the median unit price of its order lines.
Each purchase line's unit price (``unit_price``, else ``amount / |quantity|``, else
``amount``) gets its mid-rank percentile among the items of the same category (the whole
catalogue when products have no category): 0 = cheaper than every item of its kind, 1 =
dearer than all. Counting items rather than lines keeps heavy buyers from defining what
"expensive" means. A customer's price level is the median percentile of their lines, so a
customer who buys a cheap tent and a cheap serum is a bargain buyer even though tents cost
more than serums; a line bought on sale counts at the price paid. Returns are left out.
Without product ids the lines themselves are the reference. Vectorised: one sorted search
per category, one group-wise median.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from shopseg import schema as s

#: Name of :func:`customer_price_level`'s result, and the name naming rules read.
PRICE_LEVEL = "price_level"
_ALL = "\x00all"


def line_unit_prices(orders: pd.DataFrame) -> pd.Series:
    """Unit price of every line (NaN where it cannot be known)."""
    amount = orders[s.AMOUNT].astype("float64").abs() if s.AMOUNT in orders else pd.Series(np.nan, index=orders.index)
    price = amount
    if s.QUANTITY in orders:
        quantity = orders[s.QUANTITY].astype("float64").abs()
        price = amount / quantity.where(quantity > 0)
    if s.UNIT_PRICE in orders:
        price = orders[s.UNIT_PRICE].astype("float64").abs().fillna(price)
    return price.where(np.isfinite(price))


def _item_prices(lines: pd.DataFrame, products: pd.DataFrame | None) -> pd.DataFrame:
    """group, price: one row per item, catalogue items with a price first, then bought items without one."""
    bought = lines.groupby(s.PRODUCT_ID, as_index=False).agg(price=("price", "median"), group=("group", "first"))
    if products is None or s.PRICE not in products or s.PRODUCT_ID not in products:
        return bought
    catalogue = products.drop_duplicates(s.PRODUCT_ID)
    listed = pd.DataFrame(
        {
            s.PRODUCT_ID: catalogue[s.PRODUCT_ID].astype(str).to_numpy(),
            "price": pd.to_numeric(catalogue[s.PRICE], errors="coerce").to_numpy(dtype="float64"),
            "group": catalogue[s.CATEGORY].astype(str).to_numpy() if s.CATEGORY in catalogue else _ALL,
        }
    )
    listed = listed[np.isfinite(listed["price"]) & (listed["price"] > 0)]
    unlisted = bought[~bought[s.PRODUCT_ID].isin(listed[s.PRODUCT_ID])]
    return pd.concat([listed, unlisted], ignore_index=True)


def customer_price_level(orders: pd.DataFrame | None, products: pd.DataFrame | None = None) -> pd.Series:
    """Median item-price percentile of each customer's purchase lines (index customer_id, 0..1).

    Empty when there are no purchase lines with a price. See the module docstring.
    """
    if orders is None or orders.empty or s.CUSTOMER_ID not in orders:
        return pd.Series(dtype="float64", name=PRICE_LEVEL)
    lines = orders.loc[~orders[s.IS_RETURN].astype(bool)] if s.IS_RETURN in orders else orders
    frame = pd.DataFrame({s.CUSTOMER_ID: lines[s.CUSTOMER_ID].astype(str), "price": line_unit_prices(lines)})
    frame["group"] = _ALL
    has_products = s.PRODUCT_ID in lines
    if has_products:
        frame[s.PRODUCT_ID] = lines[s.PRODUCT_ID].astype(str)
        if products is not None and s.CATEGORY in products and s.PRODUCT_ID in products:
            catalogue = products.drop_duplicates(s.PRODUCT_ID)
            category = pd.Series(
                catalogue[s.CATEGORY].astype(str).to_numpy(), index=catalogue[s.PRODUCT_ID].astype(str)
            )
            frame["group"] = frame[s.PRODUCT_ID].map(category).fillna(_ALL)
    frame = frame.dropna(subset=["price"])
    if frame.empty:
        return pd.Series(dtype="float64", name=PRICE_LEVEL)
    reference = _item_prices(frame, products) if has_products else frame[["group", "price"]]
    percentile = np.full(len(frame), np.nan)
    for group, prices in reference.groupby("group")["price"]:
        items = np.sort(prices.dropna().to_numpy(dtype="float64"))
        rows = np.flatnonzero(frame["group"].to_numpy() == group)
        if not len(items) or not len(rows):
            continue
        paid = frame["price"].to_numpy()[rows]
        below = np.searchsorted(items, paid, side="left")
        at_or_below = np.searchsorted(items, paid, side="right")
        percentile[rows] = (below + at_or_below) / 2 / len(items)
    frame["percentile"] = percentile
    return frame.dropna(subset=["percentile"]).groupby(s.CUSTOMER_ID)["percentile"].median().rename(PRICE_LEVEL)
