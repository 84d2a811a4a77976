"""Tiny deterministic shops for the demand stage: a few hundred customers buying at steady rates."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from shopseg.demand.lines import UnitLines, unit_lines

START = pd.Timestamp("2023-01-01")
PRODUCTS = pd.Series(
    {"P1": "books", "P2": "books", "P3": "garden", "P4": "garden", "P5": "garden"}, name="category"
).rename_axis("product_id")
#: Per segment: the products' weights (segment 1 never buys P1).
TASTES = {0: [0.5, 0.2, 0.1, 0.1, 0.1], 1: [0.0, 0.1, 0.3, 0.3, 0.3]}


def steady_orders(customers: int = 300, days: int = 480, seed: int = 0) -> tuple[pd.DataFrame, pd.Series]:
    """Order lines of customers who buy at steady personal rates (some drop out), and their segment."""
    rng = np.random.default_rng(seed)
    segment = rng.integers(0, 2, customers)
    rate = rng.gamma(2.0, 1 / 40.0, customers)  # about one purchase day every 20 days
    first = rng.integers(0, days // 2, customers)
    life = rng.exponential(600.0, customers)
    rows = []
    for customer in range(customers):  # a test fixture, not library code
        count = rng.poisson(rate[customer] * days)
        when = np.sort(rng.integers(first[customer], days, max(count, 1)))
        when = when[when <= first[customer] + life[customer]]
        when = np.concatenate([[first[customer]], when])
        for position, day in enumerate(when):
            product = rng.choice(PRODUCTS.index.to_numpy(), p=TASTES[int(segment[customer])])
            ts = START + pd.Timedelta(days=int(day), hours=10)
            rows.append((f"C{customer:04d}", f"O{customer:04d}-{position}", ts, product, 1 + rng.poisson(0.3)))
    orders = pd.DataFrame(rows, columns=["customer_id", "order_id", "ts", "product_id", "quantity"])
    labels = pd.Series(segment, index=[f"C{c:04d}" for c in range(customers)], name="segment_id")
    return orders, labels


@pytest.fixture(scope="session")
def shop() -> tuple[pd.DataFrame, pd.Series]:
    return steady_orders()


@pytest.fixture(scope="session")
def lines(shop: tuple[pd.DataFrame, pd.Series]) -> UnitLines:
    orders, labels = shop
    return unit_lines(orders, labels, PRODUCTS)
