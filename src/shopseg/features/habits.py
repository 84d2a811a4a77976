"""Which time habits are habits: a split-half test decides which habit shares enter the clustering.

A habit share (weekend share, share of orders by hour band) describes every customer, but it
is only worth segmenting on when customers differ in it *for real*. When a shop's customers
all buy at the same hours, a customer's hour shares are draws from one shop-wide rate: their
spread is sampling noise, and K-Means, which cannot tell noise from signal, happily splits
customers on it (one-order customers by the hour of their one order).

The test: a habit repeats. Every customer's purchase orders are split in two halves by the
rank of their day (orders on the 1st, 3rd, 5th ... day the customer bought against the 2nd,
4th, 6th ...: several orders on one day share their weekday and often their hour, so they
must not count as a repeat), the share is computed in each half, and the **split-half
reliability** is the Pearson correlation of the two halves over the customers who bought on at
least two days. Pure noise gives about 0 (the halves are independent draws from one rate); a
group of customers with a habit of their own gives a clearly positive value (their halves
agree). A share enters the clustering when its reliability is at least
:data:`MIN_RELIABILITY` *and* clear of chance for the number of customers measured
(``Z_CHANCE / sqrt(customers)``, three standard errors of a zero correlation); otherwise it
stays in the features (profiles still describe it) with weight 0.

Measured on generated shops (``shopseg demo``'s shop, 5,000 customers, seeds 0-2), where only
the night owls have an hour habit and days are uniform: night share 0.50-0.51, afternoon
0.05-0.07, morning 0.01-0.05, evening and weekend -0.07-0.01 (about 3,600 customers bought on
two days, so chance is 0.05): the night share enters, the others stay out. On the real CDNOW
data (dates without times, 11,500 customers with two purchase days) the weekend share is 0.15
and enters. Month shares are not candidates: customers active for a few months only have all
their orders in those months, so month shares repeat between halves (0.09-0.15 on the
generated shops) because of *when* a customer was active, which recency and tenure describe.

Pure: order lines in, a table out (one DuckDB query, no per-customer Python).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from shopseg import schema as s
from shopseg.features.sql import quote, run_sql

#: A habit share enters the clustering at a split-half reliability of at least this ...
MIN_RELIABILITY = 0.1
#: ... and at least this many standard errors of a zero correlation (1 / sqrt(customers)).
Z_CHANCE = 3.0


@dataclass
class HabitSelection:
    """Split-half reliability of every candidate habit share and which ones enter the clustering.

    ``table``: one row per candidate column: ``column``, ``reliability`` (NaN when fewer than
    three customers bought on two days), ``customers`` (who did), ``threshold``,
    ``kept``. ``rule``: the rule in one sentence.
    """

    table: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=COLUMNS))
    rule: str = ""

    @property
    def kept(self) -> list[str]:
        return [str(c) for c in self.table.loc[self.table["kept"].astype(bool), "column"]]

    @property
    def dropped(self) -> list[str]:
        return [str(c) for c in self.table.loc[~self.table["kept"].astype(bool), "column"]]

    def as_dict(self) -> dict[str, object]:
        """For run.json and model.json: the rule and, per column, reliability and decision."""
        return {
            "rule": self.rule,
            "columns": {
                str(row.column): {
                    "reliability": None if pd.isna(row.reliability) else round(float(row.reliability), 4),
                    "customers": int(row.customers),
                    "threshold": round(float(row.threshold), 4),
                    "kept": bool(row.kept),
                }
                for row in self.table.itertuples(index=False)
            },
        }


COLUMNS = ["column", "reliability", "customers", "threshold", "kept"]


def describe_rule(min_reliability: float = MIN_RELIABILITY, z: float = Z_CHANCE) -> str:
    return (
        "a habit share enters the clustering when its split-half reliability (correlation of the share on "
        "customers' odd and even purchase days) is at least "
        f"{min_reliability:g} and at least {z:g}/sqrt(customers who bought on two days)"
    )


def habit_reliability(orders: pd.DataFrame, conditions: dict[str, str]) -> pd.DataFrame:
    """Split-half reliability of each habit share; ``conditions``: {column: SQL condition on ``order_ts``}.

    ``orders``: canonical order lines (returns ignored). One row per column: ``column``,
    ``reliability``, ``customers`` (customers who bought on at least two days).
    """
    if not conditions:
        return pd.DataFrame({"column": [], "reliability": [], "customers": []})
    lines = orders.loc[~orders[s.IS_RETURN], [s.CUSTOMER_ID, s.ORDER_ID, s.TS]]
    halves = ",\n".join(
        f"avg(CASE WHEN {condition} THEN 1.0 ELSE 0.0 END) AS {quote(name)}" for name, condition in conditions.items()
    )
    correlations = ",\n".join(f"corr(a.{quote(name)}, b.{quote(name)}) AS {quote(name)}" for name in conditions)
    query = f"""
    WITH purchase_orders AS (
        SELECT customer_id, order_id, min(ts) AS order_ts FROM lines GROUP BY customer_id, order_id
    ),
    ranked AS (
        SELECT *, dense_rank() OVER (PARTITION BY customer_id ORDER BY CAST(order_ts AS DATE)) % 2 AS half
        FROM purchase_orders
    ),
    shares AS (SELECT customer_id, half, {halves} FROM ranked GROUP BY customer_id, half)
    SELECT count(*) AS customers, {correlations}
    FROM shares a JOIN shares b ON a.customer_id = b.customer_id AND a.half = 1 AND b.half = 0
    """
    row = run_sql(query, lines=lines).iloc[0]
    customers = int(row["customers"])
    values = [float(row[name]) if pd.notna(row[name]) and customers >= 3 else np.nan for name in conditions]
    return pd.DataFrame({"column": list(conditions), "reliability": values, "customers": customers})


def select_habits(
    reliability: pd.DataFrame, min_reliability: float = MIN_RELIABILITY, z: float = Z_CHANCE
) -> HabitSelection:
    """Apply the rule of the module docstring to :func:`habit_reliability`'s table."""
    table = reliability.copy()
    customers = table["customers"].to_numpy(dtype="float64")
    chance = np.divide(z, np.sqrt(customers), out=np.full(len(table), np.inf), where=customers > 0)
    table["threshold"] = np.maximum(min_reliability, chance)
    table["kept"] = table["reliability"].fillna(-np.inf).to_numpy() >= table["threshold"].to_numpy()
    return HabitSelection(table=table[COLUMNS].reset_index(drop=True), rule=describe_rule(min_reliability, z))
