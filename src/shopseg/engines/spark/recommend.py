"""Product recommendations for every customer with Spark MLlib ALS (implicit feedback).

The single-machine recommend step chooses among several models on a time split and serves
the customers it was fitted on. On Spark, every customer of the shop gets recommendations from
MLlib's alternating least squares for implicit feedback (Hu, Koren & Volinsky 2008), the same
family as the local ``als`` recommender:

* interactions are purchase lines (returns left out) counted per customer and product; the
  confidence is ``1 + alpha * log1p(count)`` so a product bought many times does not drown the
  rest;
* ids are indexed to integers by ``StringIndexer`` (ordered by frequency, then id), the model
  is fitted with a fixed seed, and ``recommendForAllUsers`` scores every product for every
  customer on the executors;
* products a customer already bought are removed, as ``exclude_bought`` does locally: the top
  ``n + 30`` are scored for everybody, and the few heavy buyers left with fewer than ``n`` are
  scored again over enough products (``recommendForUserSubset``), so every customer gets ``n``
  (or every product they have not bought, when fewer remain).

The result has the columns of ``recommendations.parquet``: customer_id, rank (1 = best),
product_id, score, reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from shopseg import schema as s
from shopseg.errors import ShopsegError

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

REASON = "customers with similar purchases bought it (ALS on Spark)"
#: Products scored beyond ``n`` per customer in the first pass, so that ``n`` usually remain once
#: bought ones are removed; customers left short are scored again over every product they lack.
EXTRA = 30


@dataclass(frozen=True)
class SparkALS:
    """Settings of the ALS fit (the local ``als`` recommender's defaults where they exist)."""

    factors: int = 32
    regularization: float = 0.05
    alpha: float = 10.0
    iterations: int = 10
    seed: int = 0


def purchase_counts(orders: DataFrame) -> DataFrame:
    """customer_id, product_id, lines: purchase lines per customer and product (returns left out)."""
    from pyspark.sql import functions as f

    if s.PRODUCT_ID not in orders.columns:
        raise ShopsegError("Recommendations need product ids on the order lines (column 'product_id').")
    lines = orders.where(f.col(s.PRODUCT_ID).isNotNull())
    if s.IS_RETURN in orders.columns:
        lines = lines.where(~f.coalesce(f.col(s.IS_RETURN), f.lit(False)))
    return lines.groupBy(s.CUSTOMER_ID, s.PRODUCT_ID).agg(f.count(f.lit(1)).alias("lines"))


def recommend_with_als(orders: DataFrame, n: int = 10, settings: SparkALS | None = None) -> DataFrame:
    """Top ``n`` products not yet bought for every customer with a purchase; see the module docstring."""
    from pyspark.ml.feature import StringIndexer
    from pyspark.ml.recommendation import ALS
    from pyspark.sql import Window
    from pyspark.sql import functions as f

    settings = settings or SparkALS()
    if n < 1:
        raise ShopsegError(f"--recommend-n must be at least 1, got {n}.")
    counts = purchase_counts(orders).cache()
    indexers = [
        StringIndexer(inputCol=column, outputCol=f"{column}_index", stringOrderType="frequencyDesc").fit(counts)
        for column in (s.CUSTOMER_ID, s.PRODUCT_ID)
    ]
    indexed = counts
    for indexer in indexers:
        indexed = indexer.transform(indexed)
    indexed = indexed.withColumn("confidence", f.log1p(f.col("lines").cast("double")))
    als = ALS(
        rank=settings.factors,
        maxIter=settings.iterations,
        regParam=settings.regularization,
        alpha=settings.alpha,
        implicitPrefs=True,
        userCol=f"{s.CUSTOMER_ID}_index",
        itemCol=f"{s.PRODUCT_ID}_index",
        ratingCol="confidence",
        seed=settings.seed,
        nonnegative=False,
        coldStartStrategy="drop",
    )
    model = als.fit(indexed)
    products = indexed.select(f"{s.PRODUCT_ID}_index").distinct().count()
    keys = [f"{s.CUSTOMER_ID}_index", f"{s.PRODUCT_ID}_index"]
    bought = indexed.select(*keys)

    def fresh_top(recommended: DataFrame) -> DataFrame:
        """The best ``n`` not-yet-bought products per customer from ALS's ranked lists."""
        scored = recommended.select(keys[0], f.explode("recommendations").alias("r")).select(
            keys[0], f.col(f"r.{keys[1]}").alias(keys[1]), f.col("r.rating").alias("score")
        )
        order = Window.partitionBy(keys[0]).orderBy(f.col("score").desc(), f.col(keys[1]))
        fresh = scored.join(bought, keys, "left_anti")
        return fresh.withColumn("rank", f.row_number().over(order)).where(f.col("rank") <= n)

    top = fresh_top(model.recommendForAllUsers(min(products, n + EXTRA))).cache()
    # Customers who bought most of their first n + EXTRA products: score every product they lack.
    found = top.groupBy(keys[0]).count()
    history = bought.groupBy(keys[0]).agg(f.count(f.lit(1)).alias("bought"))
    short = (
        history.join(found, keys[0], "left")
        .where((f.coalesce(f.col("count"), f.lit(0)) < n) & (f.col("bought") < products))
        .select(keys[0], "bought")
        .cache()
    )
    most = short.agg(f.max("bought")).first()[0]
    if most is not None:
        again = fresh_top(model.recommendForUserSubset(short.select(keys[0]), min(products, n + int(most))))
        top = top.join(short, keys[0], "left_anti").unionByName(again)
    customers = indexed.select(s.CUSTOMER_ID, keys[0]).distinct()
    catalogue = indexed.select(s.PRODUCT_ID, keys[1]).distinct()
    return (
        top.join(customers, keys[0])
        .join(catalogue, keys[1])
        .select(
            s.CUSTOMER_ID,
            f.col("rank").cast("long").alias("rank"),
            s.PRODUCT_ID,
            f.col("score").cast("double").alias("score"),
            f.lit(REASON).alias("reason"),
        )
    )
