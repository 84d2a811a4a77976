"""Customer features in Spark, defined exactly as the single-machine (DuckDB) feature stage.

Input: the canonical orders table as a Spark DataFrame (:data:`shopseg.schema.ORDERS`:
``customer_id``, ``order_id``, ``ts``, ``amount``, ``is_return``; ``quantity`` and
``product_id`` when present) and, for category shares, the products table (``product_id``,
``category``). Output: one row per customer with ``customer_id`` and float64 columns named
and computed as in :mod:`shopseg.features.behaviour` and :mod:`shopseg.features.categories`
(see their docstrings): RFM, tenure, inter-purchase rhythm, items per order, distinct
products, returns, time-habit shares (smoothed towards the shop's shares) and category
spend shares. A test holds the two engines to 1e-6 of each other on a generated shop.

Every step is a DataFrame expression (no Python per row, no SQL built from strings): column
names come from :mod:`shopseg.schema`, category names travel as data in a small joined
table, never as SQL text. Two small results come back to the driver: the shop-wide priors
(one row) and the list of categories (one row per category).

Given ``reviews`` and ``events`` (canonical columns), engagement features are added as in
:mod:`shopseg.features.engagement` (:mod:`shopseg.engines.spark.engagement`). Not yet on
Spark: customer attributes (see ``docs/spark.md``); :attr:`SparkFeatureSet.groups` lists
what was computed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import ModuleType
from typing import TYPE_CHECKING

import pandas as pd

from shopseg import schema as s
from shopseg.engines.spark.engagement import cart_rate, event_engagement, review_engagement
from shopseg.errors import ShopsegError
from shopseg.features.behaviour import CORE, HOUR_BANDS, RHYTHM_PRIOR_GAPS, SHARE_PRIOR_ORDERS, WEEKDAYS
from shopseg.features.build import ENGAGEMENT

# The slug rule must be the DuckDB stage's own, so column names match exactly.
from shopseg.features.categories import _column_name as category_column_name

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame

SECONDS_PER_DAY = 86400.0
#: The share of order lines whose timestamp has a time of day above which hour habits exist
#: (as :func:`shopseg.features.behaviour.has_time_of_day`).
TIME_OF_DAY_SHARE = 0.05
MAX_CATEGORIES = 12
OTHER_CATEGORY = "category_share_other"
_HABITS = ("weekend_share", *(f"hour_share_{band}" for band in HOUR_BANDS))


@dataclass
class SparkFeatureSet:
    """Features per customer as a Spark DataFrame, and the context they were computed in.

    ``frame``: ``customer_id`` + float64 feature columns, one row per customer with order lines.
    ``reference_ts`` and ``priors``: pass them back to compute features of other customers in
    the same space (a fitted model's :attr:`~shopseg.pipeline.Segmenter.feature_context_`).
    ``groups``: feature columns by block (behaviour, habits, taste), as
    :class:`~shopseg.features.FeatureSet` names them.
    """

    frame: DataFrame
    reference_ts: pd.Timestamp
    priors: dict[str, float]
    groups: dict[str, list[str]] = field(default_factory=dict)

    @property
    def feature_columns(self) -> list[str]:
        """Every feature column of :attr:`frame` (without ``customer_id``)."""
        return [c for c in self.frame.columns if c != s.CUSTOMER_ID]


def _f() -> ModuleType:
    """``pyspark.sql.functions``, imported when the engine is used (shopseg imports without PySpark)."""
    from pyspark.sql import functions

    return functions


def _check_orders(orders: DataFrame) -> None:
    missing = [c for c in (s.CUSTOMER_ID, s.ORDER_ID, s.TS, s.AMOUNT, s.IS_RETURN) if c not in orders.columns]
    if missing:
        raise ShopsegError(
            f"The Spark orders table lacks the canonical column(s) {', '.join(missing)} "
            f"(it has: {', '.join(orders.columns)}). Read it through shopseg's ingestion or rename the columns."
        )


def order_lines(orders: DataFrame) -> DataFrame:
    """The columns the features read, typed: ts as a timestamp, ``quantity_`` = |quantity| (1 without)."""
    f = _f()
    _check_orders(orders)
    quantity = f.abs(f.col(s.QUANTITY).cast("double")) if s.QUANTITY in orders.columns else f.lit(1.0)
    product = f.col(s.PRODUCT_ID).cast("string") if s.PRODUCT_ID in orders.columns else f.lit(None).cast("string")
    return orders.select(
        f.col(s.CUSTOMER_ID).cast("string").alias(s.CUSTOMER_ID),
        f.col(s.ORDER_ID).cast("string").alias(s.ORDER_ID),
        f.col(s.TS).cast("timestamp").alias(s.TS),
        f.col(s.AMOUNT).cast("double").alias(s.AMOUNT),
        f.col(s.IS_RETURN).cast("boolean").alias(s.IS_RETURN),
        quantity.alias("quantity_"),
        product.alias("product_"),
    )


def purchase_orders(lines: DataFrame) -> DataFrame:
    """One row per purchase order: customer_id, order_id, order_ts (first line), order_value, units."""
    f = _f()
    return (
        lines.where(~f.col(s.IS_RETURN))
        .groupBy(s.CUSTOMER_ID, s.ORDER_ID)
        .agg(
            f.min(s.TS).alias("order_ts"),
            f.sum(s.AMOUNT).alias("order_value"),
            f.sum("quantity_").alias("units"),
        )
    )


def default_reference(lines: DataFrame) -> pd.Timestamp:
    """One day after the last order line, at midnight (as the DuckDB stage)."""
    last = lines.agg(_f().max(s.TS).alias("last")).collect()[0]["last"]
    if last is None:
        raise ShopsegError("The orders table is empty: no customers to compute features for.")
    return (pd.Timestamp(last) + pd.Timedelta(days=1)).normalize()


def has_time_of_day(lines: DataFrame) -> bool:
    """True when more than 5% of order lines have a time other than midnight."""
    f = _f()
    timed = (f.hour(s.TS) != 0) | (f.minute(s.TS) != 0)
    share = lines.agg(f.avg(f.when(timed, 1.0).otherwise(0.0)).alias("share")).collect()[0]["share"]
    return bool(share is not None and share > TIME_OF_DAY_SHARE)


def share_conditions(hours: bool) -> dict[str, Column]:
    """The condition on ``order_ts`` behind every habit share column (weekday 1 = Monday, as isodow)."""
    f = _f()
    isodow = f.weekday("order_ts") + 1
    conditions: dict[str, Column] = {"weekend_share": isodow >= 6}
    conditions |= {f"weekday_share_{d}": isodow == i + 1 for i, d in enumerate(WEEKDAYS)}
    if hours:
        hour = f.hour("order_ts")
        conditions |= {f"hour_share_{band}": (hour >= lo) & (hour < hi) for band, (lo, hi) in HOUR_BANDS.items()}
    conditions |= {f"month_share_{m:02d}": f.month("order_ts") == m for m in range(1, 13)}
    return conditions


def habit_priors(lines: DataFrame) -> dict[str, float]:
    """The shop-wide share of purchase orders meeting each habit condition, and the shop's mean gap
    between consecutive orders (``interpurchase_mean``, the prior of ``recency_gaps``); one driver row each."""
    f = _f()
    conditions = share_conditions(has_time_of_day(lines))
    orders = purchase_orders(lines)
    row = orders.agg(*(f.avg(f.when(c, 1.0).otherwise(0.0)).alias(name) for name, c in conditions.items())).collect()[0]
    priors = {name: float(row[name]) if row[name] is not None else 0.0 for name in conditions}
    spans = orders.groupBy(s.CUSTOMER_ID).agg(
        ((f.unix_seconds(f.max("order_ts")) - f.unix_seconds(f.min("order_ts"))) / SECONDS_PER_DAY).alias("span"),
        (f.count(f.lit(1)) - 1).alias("gaps"),
    )
    totals = spans.agg(f.sum("span").alias("span"), f.sum("gaps").alias("gaps")).collect()[0]
    gaps = float(totals["gaps"] or 0)
    priors["interpurchase_mean"] = float(totals["span"]) / gaps if gaps > 0 else 0.0
    return priors


def behaviour_features(lines: DataFrame, reference_ts: pd.Timestamp, share_priors: Mapping[str, float]) -> DataFrame:
    """One row per customer: the behaviour and habit columns of :mod:`shopseg.features.behaviour`.

    ``share_priors`` fixes the shop shares habit shares are shrunk towards (and whether hour
    bands exist: they do when the priors name them), as in the DuckDB stage with priors given.
    """
    from pyspark.sql import Window

    f = _f()
    orders = purchase_orders(lines)
    hours = any(name.startswith("hour_share_") for name in share_priors)
    shares: dict[str, Column] = {}
    for name, condition in share_conditions(hours).items():
        hits = f.sum(f.when(condition, 1.0).otherwise(0.0))
        prior = float(share_priors.get(name, 0.0))
        shares[name] = (hits + SHARE_PRIOR_ORDERS * prior) / (f.count(f.lit(1)) + SHARE_PRIOR_ORDERS)
    per_order = orders.groupBy(s.CUSTOMER_ID).agg(
        f.count(f.lit(1)).cast("double").alias("frequency"),
        f.sum("order_value").alias("monetary_total"),
        f.avg("order_value").alias("monetary_mean"),
        f.avg("units").alias("items_per_order"),
        f.min("order_ts").alias("first_purchase"),
        f.max("order_ts").alias("last_purchase"),
        *(share.alias(name) for name, share in shares.items()),
    )
    by_customer = Window.partitionBy(s.CUSTOMER_ID).orderBy("order_ts", s.ORDER_ID)
    gap_seconds = f.unix_seconds(f.col("order_ts")) - f.unix_seconds(f.lag("order_ts").over(by_customer))
    gap_days = gap_seconds / SECONDS_PER_DAY
    rhythm = (
        orders.select(s.CUSTOMER_ID, gap_days.alias("gap_days"))
        .groupBy(s.CUSTOMER_ID)
        .agg(
            f.coalesce(f.avg("gap_days"), f.lit(0.0)).alias("interpurchase_mean"),
            f.coalesce(f.stddev_samp("gap_days"), f.lit(0.0)).alias("interpurchase_std"),
        )
    )
    per_line = lines.groupBy(s.CUSTOMER_ID).agg(
        f.min(s.TS).alias("first_line"),
        f.max(s.TS).alias("last_line"),
        f.avg(f.when(f.col(s.IS_RETURN), 1.0).otherwise(0.0)).alias("return_rate"),
        f.abs(f.sum(f.when(f.col(s.IS_RETURN), f.col(s.AMOUNT)).otherwise(0.0))).alias("return_value"),
        f.count_distinct(f.when(~f.col(s.IS_RETURN), f.col("product_"))).cast("double").alias("distinct_products"),
    )
    reference = f.lit(int(pd.Timestamp(reference_ts).timestamp()))

    def days_before_reference(column: Column) -> Column:
        return (reference - f.unix_seconds(column)) / SECONDS_PER_DAY

    joined = per_line.join(per_order, s.CUSTOMER_ID, "left").join(rhythm, s.CUSTOMER_ID, "left")
    recency = days_before_reference(f.coalesce(f.col("last_purchase"), f.col("last_line")))
    span = (f.unix_seconds(f.col("last_purchase")) - f.unix_seconds(f.col("first_purchase"))) / SECONDS_PER_DAY
    gaps = f.greatest(f.coalesce(f.col("frequency"), f.lit(0.0)) - 1, f.lit(0.0))
    shop_gap = share_priors.get("interpurchase_mean")
    prior = RHYTHM_PRIOR_GAPS * (float(shop_gap) if shop_gap else 1.0)  # no gaps in the shop: 1 day
    typical_gap = (f.coalesce(span, f.lit(0.0)) + f.lit(prior)) / (gaps + f.lit(RHYTHM_PRIOR_GAPS))
    columns: dict[str, Column] = {
        "recency_days": recency,
        "recency_gaps": recency / f.greatest(typical_gap, f.lit(1.0)),
        "frequency": f.col("frequency"),
        "monetary_total": f.col("monetary_total"),
        "monetary_mean": f.col("monetary_mean"),
        "tenure_days": days_before_reference(f.coalesce(f.col("first_purchase"), f.col("first_line"))),
        "interpurchase_mean": f.col("interpurchase_mean"),
        "interpurchase_std": f.col("interpurchase_std"),
        "items_per_order": f.col("items_per_order"),
        "distinct_products": f.col("distinct_products"),
        "return_rate": f.col("return_rate"),
        "return_value": f.col("return_value"),
    } | {name: f.col(name) for name in shares}
    # customers without purchases: 0 for every order-based column, as the DuckDB stage's fillna(0)
    return joined.select(
        f.col(s.CUSTOMER_ID),
        *(f.coalesce(column.cast("double"), f.lit(0.0)).alias(name) for name, column in columns.items()),
    )


def categorised_purchases(lines: DataFrame, products: DataFrame | None) -> DataFrame | None:
    """Purchase lines of products with a category: customer_id, order_id, amount, category (None without)."""
    f = _f()
    if products is None or s.CATEGORY not in products.columns or s.PRODUCT_ID not in products.columns:
        return None
    categories = (
        products.where(f.col(s.CATEGORY).isNotNull())
        .groupBy(f.col(s.PRODUCT_ID).cast("string").alias("product_"))
        .agg(f.min(f.col(s.CATEGORY).cast("string")).alias("category"))
    )
    return (
        lines.where(~f.col(s.IS_RETURN))
        .join(categories, "product_", "inner")
        .select(s.CUSTOMER_ID, s.ORDER_ID, s.AMOUNT, "category")
    )


def category_priors(purchases: DataFrame, max_categories: int = MAX_CATEGORIES) -> dict[str, float]:
    """The shop's spend share per category column: the top ``max_categories`` by spend, the rest as other."""
    f = _f()
    spend = purchases.groupBy("category").agg(f.sum(s.AMOUNT).alias("spend")).toPandas()
    if spend.empty:
        return {}
    # as the DuckDB stage: pandas groups sort by name, then a stable sort by spend, descending
    spend = spend.set_index("category")["spend"].sort_index().sort_values(ascending=False, kind="stable")
    top = list(spend.index[:max_categories])
    grouped = spend.groupby(spend.index.where(spend.index.isin(top), "other")).sum()
    total = max(float(grouped.sum()), 1e-12)
    return {category_column_name(c): float(v / total) for c, v in grouped.items()}


def category_shares(purchases: DataFrame, priors: Mapping[str, float]) -> DataFrame | None:
    """One row per customer with categorised purchases: smoothed spend share per category column.

    Categories map to their column (or ``category_share_other`` when not among ``priors``)
    through a small table joined to the lines, so category names never become SQL text.
    """
    f = _f()
    if not priors:
        return None
    spark = purchases.sparkSession
    names = [row["category"] for row in purchases.select("category").distinct().collect()]
    mapping = []
    for name in names:
        column = category_column_name(name)
        column = column if column in priors else OTHER_CATEGORY
        if column in priors:
            mapping.append((name, column))
    if not mapping:
        return None
    lookup = spark.createDataFrame(mapping, "category string, share_column string")
    lines = purchases.join(f.broadcast(lookup), "category", "inner")
    columns = sorted(priors)
    spend = {c: f.sum(f.when(f.col("share_column") == f.lit(c), f.col(s.AMOUNT)).otherwise(0.0)) for c in columns}
    table = lines.groupBy(s.CUSTOMER_ID).agg(
        *(expression.alias(f"spend_{i}") for i, expression in enumerate(spend.values())),
        f.count_distinct(s.ORDER_ID).cast("double").alias("orders_"),
    )
    total = sum((f.col(f"spend_{i}") for i in range(len(columns))), f.lit(0.0))
    divisor = f.when(total > 0, total).otherwise(1.0)
    orders = f.col("orders_")
    # shrink towards the shop's spend shares, as the DuckDB stage: one order is weak evidence
    shares = [
        (
            (f.col(f"spend_{i}") / divisor * orders + SHARE_PRIOR_ORDERS * float(priors[c]))
            / (orders + SHARE_PRIOR_ORDERS)
        )
        .cast("double")
        .alias(c)
        for i, c in enumerate(columns)
    ]
    return table.select(s.CUSTOMER_ID, *shares)


def _missing(column: str, rate: float | None) -> float:
    """The value of an engagement column for a customer without reviews or events (as the DuckDB stage)."""
    return float(rate) if column == "cart_to_view" and rate is not None else 0.0


def spark_features(
    orders: DataFrame,
    products: DataFrame | None = None,
    reference_ts: pd.Timestamp | None = None,
    priors: Mapping[str, float] | None = None,
    *,
    reviews: DataFrame | None = None,
    events: DataFrame | None = None,
) -> SparkFeatureSet:
    """Behaviour, habit, category and engagement features of every customer in ``orders``; see the module docstring.

    As :func:`shopseg.features.build_features`: ``reference_ts`` defaults to one day after the
    last order line, ``priors`` (habit and category shop shares) to this shop's; pass a fitted
    model's to place customers in its space. Customers without categorised purchases get 0 for
    every category share, as in the DuckDB stage.
    """
    f = _f()
    lines = order_lines(orders)
    reference = pd.Timestamp(reference_ts) if reference_ts is not None else default_reference(lines)
    purchases = categorised_purchases(lines, products)
    if priors is None:
        priors = habit_priors(lines) | (category_priors(purchases) if purchases is not None else {})
        rate = cart_rate(events) if events is not None else None
        priors |= {"cart_to_view": rate} if rate is not None else {}
    priors = dict(priors)
    rate = priors.get("cart_to_view")
    frame = behaviour_features(lines, reference, priors)
    groups = {
        "behaviour": [c for c in CORE if c in frame.columns],
        "habits": [c for c in _HABITS if c in frame.columns],
    }
    category_part = {k: v for k, v in priors.items() if k.startswith("category_share_")}
    shares = category_shares(purchases, category_part) if purchases is not None and category_part else None
    if shares is not None:
        share_columns = [c for c in shares.columns if c != s.CUSTOMER_ID]
        frame = frame.join(shares, s.CUSTOMER_ID, "left").select(
            s.CUSTOMER_ID,
            *(c for c in frame.columns if c != s.CUSTOMER_ID),
            *(f.coalesce(f.col(c), f.lit(0.0)).alias(c) for c in share_columns),
        )
        groups["taste"] = share_columns
    engagement = [
        table
        for table in (
            review_engagement(reviews) if reviews is not None else None,
            event_engagement(events, rate) if events is not None else None,
        )
        if table is not None
    ]
    for table in engagement:
        added = [c for c in table.columns if c != s.CUSTOMER_ID]
        frame = frame.join(table, s.CUSTOMER_ID, "left").select(
            s.CUSTOMER_ID,
            *(c for c in frame.columns if c != s.CUSTOMER_ID),
            *(f.coalesce(f.col(c), f.lit(_missing(c, rate))).alias(c) for c in added),
        )
    if engagement:
        groups["engagement"] = [c for c in ENGAGEMENT if c in frame.columns]
    return SparkFeatureSet(frame=frame, reference_ts=reference, priors=priors, groups=groups)
