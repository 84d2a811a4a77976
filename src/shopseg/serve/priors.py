"""Shop-wide shares a run's habit and category features were shrunk towards, so one new customer matches.

The batch features shrink each customer's shares (weekday, weekend, hour band, month,
category spend) towards the *shop's* share with
:data:`~shopseg.features.behaviour.SHARE_PRIOR_ORDERS` pseudo-orders. Built for a lone
customer, the "shop" is that customer, so the shrinkage vanishes: a one-order customer gets
a weekend share of 0 or 1 where the fitted run had 0.19 or 0.52, and lands in another segment.

:class:`SharePriors` reads the run's shop shares once from its ``shopseg.duckdb`` (two
aggregate queries, no customer loop) and :meth:`SharePriors.shrink` re-applies the batch
formula ``(hits + prior_orders x shop_share) / (orders + prior_orders)`` to the features of
new customers, from their own order lines. With it, re-assigning a customer of the run
from their own lines gives back the batch features to rounding.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from shopseg import schema as s
from shopseg.features.behaviour import HOUR_BANDS, SHARE_PRIOR_ORDERS, WEEKDAYS
from shopseg.features.categories import _column_name as category_column

#: Largest number of category columns (as in shopseg.features.categories.category_shares).
MAX_CATEGORIES = 12
OTHER = "other"


def habit_indicators(order_ts: pd.Series) -> dict[str, np.ndarray]:
    """Per purchase order, 1.0 where the order falls on the habit (weekend, weekday, hour band, month)."""
    weekday = order_ts.dt.day_of_week.to_numpy()  # Monday = 0
    hour = order_ts.dt.hour.to_numpy()
    month = order_ts.dt.month.to_numpy()
    columns: dict[str, np.ndarray] = {"weekend_share": weekday >= 5}
    columns.update({f"weekday_share_{d}": weekday == i for i, d in enumerate(WEEKDAYS)})
    columns.update({f"hour_share_{band}": (hour >= lo) & (hour < hi) for band, (lo, hi) in HOUR_BANDS.items()})
    columns.update({f"month_share_{m:02d}": month == m for m in range(1, 13)})
    return {name: values.astype("float64") for name, values in columns.items()}


def _sum_by(rows: np.ndarray, n_rows: int, values: np.ndarray) -> np.ndarray:
    """Sum the rows of ``values`` (items x columns) into ``n_rows`` groups given by ``rows`` (no pandas groupby)."""
    total = np.zeros((n_rows, values.shape[1]))
    np.add.at(total, rows, values)
    return total


def purchase_orders(orders: pd.DataFrame) -> pd.DataFrame:
    """customer_id, order_id, order_ts (first line) of every order with a purchase line."""
    bought = orders.loc[~orders[s.IS_RETURN].astype(bool)]
    return bought.groupby([s.CUSTOMER_ID, s.ORDER_ID], as_index=False, sort=False)[s.TS].min()


@dataclass
class SharePriors:
    """Shop shares per feature column (habits: per purchase order; categories: per unit of spend)."""

    habits: dict[str, float] = field(default_factory=dict)
    categories: dict[str, float] = field(default_factory=dict)
    top_categories: list[str] = field(default_factory=list)

    @classmethod
    def from_store(cls, path: Path, feature_columns: list[str]) -> SharePriors:
        """Shop shares of the orders in a run's shopseg.duckdb at ``path``, for the share columns the run has."""
        if not path.exists():
            return cls()
        wanted = set(feature_columns)
        connection = duckdb.connect(str(path), read_only=True)
        try:
            tables = {row[0] for row in connection.execute("SHOW TABLES").fetchall()}
            if "orders" not in tables:
                return cls()
            habits = cls._habit_shares(connection, wanted)
            spend = cls._category_spend(connection) if "products" in tables else pd.Series(dtype="float64")
        finally:
            connection.close()
        top = list(spend.index[:MAX_CATEGORIES])
        grouped = spend.groupby(spend.index.where(spend.index.isin(top), OTHER)).sum()
        total = max(float(grouped.sum()), 1e-12)
        categories = {category_column(c): float(v) / total for c, v in grouped.items()}
        categories = {c: v for c, v in categories.items() if c in wanted}
        return cls(habits=habits, categories=categories, top_categories=top)

    @staticmethod
    def _habit_shares(connection: duckdb.DuckDBPyConnection, wanted: set[str]) -> dict[str, float]:
        weekday = "isodow(order_ts) - 1"  # Monday = 0, as pandas' dayofweek
        indicators = {"weekend_share": "isodow(order_ts) >= 6"}
        indicators.update({f"weekday_share_{d}": f"{weekday} = {i}" for i, d in enumerate(WEEKDAYS)})
        indicators.update(
            {
                f"hour_share_{b}": f"hour(order_ts) >= {lo} AND hour(order_ts) < {hi}"
                for b, (lo, hi) in HOUR_BANDS.items()
            }
        )
        indicators.update({f"month_share_{m:02d}": f"month(order_ts) = {m}" for m in range(1, 13)})
        indicators = {name: condition for name, condition in indicators.items() if name in wanted}
        if not indicators:
            return {}
        averages = ", ".join(f"avg(CASE WHEN {c} THEN 1.0 ELSE 0.0 END)" for c in indicators.values())
        row = connection.execute(
            f"""WITH purchase_orders AS (
                    SELECT customer_id, order_id, min(ts) AS order_ts FROM orders
                    WHERE NOT is_return GROUP BY customer_id, order_id)
                SELECT {averages} FROM purchase_orders"""
        ).fetchone()
        return {name: float(value or 0.0) for name, value in zip(indicators, row, strict=True)}

    @staticmethod
    def _category_spend(connection: duckdb.DuckDBPyConnection) -> pd.Series:
        """Spend per category over purchase lines, largest first (ties by name, as the batch features)."""
        frame = connection.execute(
            """SELECT p.category AS category, sum(o.amount) AS spend
               FROM orders o JOIN products p ON o.product_id = p.product_id
               WHERE NOT o.is_return AND p.category IS NOT NULL
               GROUP BY p.category ORDER BY spend DESC, category ASC"""
        ).df()
        return pd.Series(frame["spend"].to_numpy(), index=frame["category"].astype(str).to_numpy(), dtype="float64")

    def shrink(self, features: pd.DataFrame, orders: pd.DataFrame, products: pd.DataFrame | None) -> pd.DataFrame:
        """``features`` of new customers (computed without the shop) with the run's shrinkage applied."""
        index = features.index
        blocks = []
        if self.habits:
            bought = purchase_orders(orders)
            names = list(self.habits)
            bought = bought.loc[index.get_indexer(bought[s.CUSTOMER_ID]) >= 0]
            rows = index.get_indexer(bought[s.CUSTOMER_ID])
            indicators = habit_indicators(bought[s.TS])
            hits = _sum_by(rows, len(index), np.column_stack([indicators[name] for name in names]))
            counts = np.bincount(rows, minlength=len(index)).astype("float64")
            blocks.append(self._block(index, names, hits, counts, self.habits))
        if self.categories and products is not None and s.CATEGORY in products and s.PRODUCT_ID in orders:
            blocks.append(self._category_block(index, orders, products))
        if not blocks:
            return features
        shrunk = pd.concat(blocks, axis=1)
        return pd.concat([features.drop(columns=shrunk.columns, errors="ignore"), shrunk], axis=1)

    def _category_block(self, index: pd.Index, orders: pd.DataFrame, products: pd.DataFrame) -> pd.DataFrame:
        """Category spend shares of each customer, shrunk; orders counted over categorised purchases."""
        names = list(self.categories)
        category = products.set_index(s.PRODUCT_ID)[s.CATEGORY].dropna()
        lines = orders.loc[~orders[s.IS_RETURN].astype(bool), [s.CUSTOMER_ID, s.ORDER_ID, s.PRODUCT_ID, s.AMOUNT]]
        lines = lines.assign(category=lines[s.PRODUCT_ID].map(category)).dropna(subset=["category"])
        lines = lines.loc[index.get_indexer(lines[s.CUSTOMER_ID]) >= 0]
        top = lines["category"].where(lines["category"].isin(self.top_categories), OTHER)
        columns = pd.Index(names).get_indexer(top.map(category_column))
        rows = index.get_indexer(lines[s.CUSTOMER_ID])
        spend = np.zeros((len(index), len(names) + 1))  # last column: categories the run had no column for
        np.add.at(spend, (rows, np.where(columns >= 0, columns, len(names))), lines[s.AMOUNT].to_numpy(dtype="float64"))
        total = spend.sum(axis=1, keepdims=True)
        shares = spend[:, : len(names)] / np.where(total > 0, total, 1.0)
        orders_per_customer = lines.drop_duplicates([s.CUSTOMER_ID, s.ORDER_ID])[s.CUSTOMER_ID]
        counts = np.bincount(index.get_indexer(orders_per_customer), minlength=len(index)).astype("float64")
        return self._block(index, names, shares * counts[:, None], counts, self.categories)

    @staticmethod
    def _block(
        index: pd.Index, names: list[str], hits: np.ndarray, counts: np.ndarray, priors: dict[str, float]
    ) -> pd.DataFrame:
        """``(hits + k x prior) / (orders + k)`` per customer and column; 0 for a customer without orders."""
        prior = np.array([priors[name] for name in names])
        orders = counts[:, None]
        values = (hits + SHARE_PRIOR_ORDERS * prior) / (orders + SHARE_PRIOR_ORDERS)
        return pd.DataFrame(np.where(orders > 0, values, 0.0), index=index, columns=names)
