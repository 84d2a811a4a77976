"""Tiny shops with known answers for the recommendation tests.

``co_purchase_shop``: products come in pairs that are always bought together -- P01 with P02
(outdoor), P03 with P04 (beauty) -- plus P05, a grocery best seller bought alone by most
customers. Twelve customers buy each pair; C900 bought only P01, so P02 is the answer for
them; C901 only viewed two outdoor products; C902 is in the customer table and did nothing.
"""

from __future__ import annotations

import pandas as pd
import pytest

from shopseg.generate import generate_shop
from shopseg.shop import Shop

START = pd.Timestamp("2024-01-01")


def order_lines(rows: list[tuple[str, str, int]]) -> pd.DataFrame:
    """Order lines from (customer, product, day) with one order per customer and day."""
    frame = pd.DataFrame(rows, columns=["customer_id", "product_id", "day"])
    return pd.DataFrame(
        {
            "customer_id": frame["customer_id"],
            "order_id": frame["customer_id"] + "-" + frame["day"].astype(str),
            "ts": START + pd.to_timedelta(frame["day"], unit="D"),
            "product_id": frame["product_id"],
            "quantity": 1.0,
            "amount": 10.0,
            "is_return": False,
        }
    )


def catalogue() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "product_id": ["P01", "P02", "P03", "P04", "P05", "P06"],
            "title": [
                "Alpine Hiking Boots",
                "Trail Rain Jacket",
                "Rose Face Serum",
                "Hydrating Night Cream",
                "Sea Salt Olive Oil",
                "Waterproof Alpine Tent",
            ],
            "description": [
                "Waterproof boots for the trail.",
                "A rain jacket for wet trail days.",
                "A serum for soft skin.",
                "A night cream for dry skin.",
                "Olive oil for the kitchen.",
                "A waterproof tent for the trail.",
            ],
            "category": ["outdoor", "outdoor", "beauty", "beauty", "grocery", "outdoor"],
        }
    )


@pytest.fixture
def co_purchase_shop() -> Shop:
    rows: list[tuple[str, str, int]] = []
    for i in range(12):
        rows += [(f"C1{i:02d}", "P01", i), (f"C1{i:02d}", "P02", i), (f"C1{i:02d}", "P05", 40 + i)]
        rows += [(f"C2{i:02d}", "P03", i), (f"C2{i:02d}", "P04", i)]
        if i < 8:
            rows.append((f"C2{i:02d}", "P05", 40 + i))
    rows.append(("C900", "P01", 50))
    events = pd.DataFrame(
        {
            "customer_id": ["C901", "C901", "C901"],
            "ts": [START + pd.Timedelta(days=d) for d in (51, 51, 52)],
            "event_type": ["view", "view", "search"],
            "product_id": ["P01", "P06", None],
        }
    )
    customers = pd.DataFrame({"customer_id": ["C902"]})
    return Shop(orders=order_lines(rows), products=catalogue(), events=events, customers=customers)


@pytest.fixture(scope="session")
def small_generated() -> tuple[Shop, pd.Series]:
    """A generated shop of 600 customers (200 products) and its planted segments."""
    generated = generate_shop(600, seed=3)
    orders = generated.orders.assign(is_return=generated.orders["status"].eq("returned"))
    shop = Shop(orders=orders, products=generated.products, events=generated.events, reviews=generated.reviews)
    return shop, generated.truth.set_index("customer_id")["segment"]
