"""Engagement features in Spark, defined exactly as :mod:`shopseg.features.engagement`.

Reviews give ``review_count``, ``rating_mean`` (a reviewer whose ratings are all missing
gets the shop's mean rating) and ``review_low_share`` (share of a customer's reviews rated
2 or lower; a review without a rating counts as not low). Browsing events give
``event_count``, ``session_count`` (distinct sessions), ``view_count``, ``cart_count`` and
``cart_to_view`` (carts per view, shrunk towards the shop's rate by
:data:`~shopseg.features.engagement.CART_PRIOR_VIEWS` pseudo-views when the rate is given; raw,
0 without views, when not); event types are compared in lower case.

One aggregation per table, no Python per row; the shop's mean rating is the only value that
comes back to the driver. :func:`~shopseg.engines.spark.features.spark_features` joins the
results onto the customers with orders and fills 0 for those without reviews or events, as
the single-machine stage does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from shopseg import schema as s
from shopseg.errors import ShopsegError
from shopseg.features.engagement import CART_PRIOR_VIEWS

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

#: Event types counted as product views and as add-to-carts (as the single-machine stage).
VIEW_TYPES = ("view", "page_view", "product_view")
CART_TYPES = ("cart", "addtocart", "add_to_cart")


def _require(table: DataFrame, name: str, columns: tuple[str, ...]) -> None:
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise ShopsegError(
            f"The Spark {name} table lacks the canonical column(s) {', '.join(missing)} "
            f"(it has: {', '.join(table.columns)}). Read it through shopseg's ingestion or rename the columns."
        )


def review_engagement(reviews: DataFrame) -> DataFrame:
    """One row per reviewing customer: review_count, and rating_mean / review_low_share when rated."""
    from pyspark.sql import functions as f

    _require(reviews, "reviews", (s.CUSTOMER_ID,))
    customer = f.col(s.CUSTOMER_ID).cast("string").alias(s.CUSTOMER_ID)
    count = f.count(f.lit(1)).cast("double").alias("review_count")
    if s.RATING not in reviews.columns:
        return reviews.groupBy(customer).agg(count)
    rating = f.col(s.RATING).cast("double")
    shop_mean = reviews.agg(f.avg(rating).alias("mean")).collect()[0]["mean"]
    grouped = reviews.groupBy(customer).agg(
        count,
        f.avg(rating).alias("rating_mean"),
        f.avg(f.when(rating <= 2, 1.0).otherwise(0.0)).alias("review_low_share"),
    )
    fill = f.lit(float(shop_mean) if shop_mean is not None else 0.0)
    return grouped.select(
        s.CUSTOMER_ID, "review_count", f.coalesce("rating_mean", fill).alias("rating_mean"), "review_low_share"
    )


def cart_rate(events: DataFrame) -> float | None:
    """The shop's carts per view (one driver row), as :func:`shopseg.features.engagement.engagement_priors`."""
    from pyspark.sql import functions as f

    _require(events, "events", (s.CUSTOMER_ID, s.EVENT_TYPE))
    kind = f.lower(f.col(s.EVENT_TYPE).cast("string"))
    row = events.agg(
        f.sum(f.when(kind.isin(*VIEW_TYPES), 1.0).otherwise(0.0)).alias("views"),
        f.sum(f.when(kind.isin(*CART_TYPES), 1.0).otherwise(0.0)).alias("carts"),
    ).collect()[0]
    views = float(row["views"] or 0.0)
    return float(row["carts"] or 0.0) / views if views > 0 else None


def event_engagement(events: DataFrame, rate: float | None = None) -> DataFrame:
    """One row per browsing customer: event, session, view and cart counts and carts per view.

    ``rate``: the shop's carts per view that ``cart_to_view`` is shrunk towards (None: raw ratio).
    """
    from pyspark.sql import functions as f

    _require(events, "events", (s.CUSTOMER_ID, s.EVENT_TYPE))
    kind = f.lower(f.col(s.EVENT_TYPE).cast("string"))
    columns = [
        f.count(f.lit(1)).cast("double").alias("event_count"),
        f.sum(f.when(kind.isin(*VIEW_TYPES), 1.0).otherwise(0.0)).alias("view_count"),
        f.sum(f.when(kind.isin(*CART_TYPES), 1.0).otherwise(0.0)).alias("cart_count"),
    ]
    if s.SESSION_ID in events.columns:
        columns.insert(1, f.countDistinct(s.SESSION_ID).cast("double").alias("session_count"))
    grouped = events.groupBy(f.col(s.CUSTOMER_ID).cast("string").alias(s.CUSTOMER_ID)).agg(*columns)
    if rate is None:
        per_view = f.when(f.col("view_count") > 0, f.col("cart_count") / f.col("view_count")).otherwise(0.0)
    else:
        prior = f.lit(float(CART_PRIOR_VIEWS))
        per_view = (f.col("cart_count") + prior * f.lit(float(rate))) / (f.col("view_count") + prior)
    return grouped.withColumn("cart_to_view", per_view)
