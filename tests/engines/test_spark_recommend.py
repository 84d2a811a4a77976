"""Recommendations for every customer with MLlib ALS (Spark local mode)."""

from __future__ import annotations

import pytest

pytest.importorskip("pyspark")

from shopseg import schema as s
from shopseg.engines.spark.recommend import recommend_with_als
from shopseg.engines.spark.session import spark_session
from shopseg.generate import generate_shop

pytestmark = pytest.mark.slow  # a JVM and an ALS fit


def test_als_on_spark_recommends_unbought_products_that_fit_each_customers_taste() -> None:
    spark = spark_session("local[2]", config={"spark.ui.enabled": "false", "spark.sql.shuffle.partitions": "4"})
    spark.sparkContext.setLogLevel("ERROR")
    shop = generate_shop(800, seed=51)
    orders = shop.orders.assign(is_return=shop.orders["quantity"] < 0)
    recommended = recommend_with_als(spark.createDataFrame(orders), n=5).toPandas()

    buyers = set(orders.loc[~orders["is_return"], s.CUSTOMER_ID])
    assert set(recommended[s.CUSTOMER_ID]) == buyers  # everybody with a purchase
    per_customer = recommended.groupby(s.CUSTOMER_ID)
    assert (per_customer.size() == 5).all()  # heavy buyers too: the top n are taken over every product they lack
    assert per_customer["rank"].apply(lambda r: sorted(r) == list(range(1, len(r) + 1))).all()
    assert not recommended.duplicated([s.CUSTOMER_ID, s.PRODUCT_ID]).any()
    bought = set(zip(orders[s.CUSTOMER_ID], orders[s.PRODUCT_ID], strict=True))
    assert not any(pair in bought for pair in zip(recommended[s.CUSTOMER_ID], recommended[s.PRODUCT_ID], strict=True))
    assert (recommended.groupby(s.CUSTOMER_ID)["score"].apply(lambda x: x.is_monotonic_decreasing)).all()

    # taste: recommendations fall in a customer's favourite category far more often than chance
    category = shop.products.set_index(s.PRODUCT_ID)[s.CATEGORY]
    favourite = orders.assign(category=orders[s.PRODUCT_ID].map(category)).groupby(s.CUSTOMER_ID)["category"]
    favourite = favourite.agg(lambda c: c.value_counts().index[0])
    hits = recommended[s.PRODUCT_ID].map(category).to_numpy() == recommended[s.CUSTOMER_ID].map(favourite).to_numpy()
    chance = favourite.map(category.value_counts(normalize=True)).mean()
    assert hits.mean() > 2 * chance, (hits.mean(), chance)
    assert isinstance(recommended["score"].iloc[0], float) and recommended["reason"].str.contains("ALS").all()
    assert list(recommended.columns) == ["customer_id", "rank", "product_id", "score", "reason"]


def test_the_top_n_equal_mllibs_own_ranking_over_every_product_minus_the_bought_ones() -> None:
    from pyspark.sql import functions as f

    from shopseg.engines.spark.recommend import fit_als

    spark = spark_session("local[2]", config={"spark.ui.enabled": "false", "spark.sql.shuffle.partitions": "4"})
    spark.sparkContext.setLogLevel("ERROR")
    shop = generate_shop(300, seed=52)
    orders = spark.createDataFrame(shop.orders.assign(is_return=shop.orders["quantity"] < 0))
    ours = recommend_with_als(orders, n=4).toPandas()

    model, indexed = fit_als(orders)  # the same seed and data: the same factors
    user, item = "customer_id_index", "product_id_index"
    products = indexed.select(item).distinct().count()
    full = model.recommendForUserSubset(indexed.select(user).distinct(), products)
    ranked = full.select(user, f.posexplode("recommendations").alias("position", "r")).select(
        user, "position", f.col(f"r.{item}").alias(item), f.col("r.rating").alias("score")
    )
    fresh = ranked.join(indexed.select(user, item), [user, item], "left_anti")
    ids = indexed.select("customer_id", user, "product_id", item)
    mllib = (
        fresh.join(ids.select("customer_id", user).distinct(), user)
        .join(ids.select("product_id", item).distinct(), item)
        .toPandas()
        .sort_values(["customer_id", "position"])
        .groupby("customer_id")
        .head(4)
    )
    assert set(zip(ours["customer_id"], ours["product_id"], strict=True)) == set(
        zip(mllib["customer_id"], mllib["product_id"], strict=True)
    )
