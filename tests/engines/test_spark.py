"""The Spark engine agrees with the single-machine engine on a generated shop (local mode)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("pyspark")

from sklearn.cluster import KMeans
from sklearn.datasets import make_blobs
from sklearn.metrics import adjusted_rand_score

from shopseg import Segmenter
from shopseg import schema as s
from shopseg.cluster import BlockScaler, load_clusterer, save_clusterer
from shopseg.embed import customer_text_vectors
from shopseg.embed.registry import DEFAULT_ENCODER
from shopseg.engines.spark.apply import assign_segments
from shopseg.engines.spark.assign import assign_with_spark
from shopseg.engines.spark.features import SparkFeatureSet, spark_features
from shopseg.engines.spark.kmeans import SparkKMeans
from shopseg.engines.spark.scale import scaled_vectors
from shopseg.engines.spark.session import (
    local_cores,
    local_driver_memory,
    require_java,
    session_config,
    spark_session,
)
from shopseg.engines.spark.text import customer_text_blocks
from shopseg.errors import ShopsegError
from shopseg.features import build_features
from shopseg.generate import generate_shop
from shopseg.shop import Shop

pytestmark = pytest.mark.slow  # a JVM starts: about 10 s before the first test runs


@pytest.fixture(scope="session")
def spark():
    # one shuffle partition: the shop is tiny, and every extra task costs more than it computes
    session = spark_session("local[2]", config={"spark.ui.enabled": "false", "spark.sql.shuffle.partitions": "1"})
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


@pytest.fixture(scope="module")
def shop() -> Shop:
    generated = generate_shop(300, seed=11)
    orders = generated.orders.copy()
    orders[s.IS_RETURN] = orders[s.QUANTITY] < 0
    orders[s.TS] = pd.to_datetime(orders[s.TS])
    reviews = generated.reviews.copy()
    reviews.loc[reviews.index[::7], s.RATING] = np.nan  # missing ratings: filled as the local stage does
    return Shop(orders=orders, products=generated.products, reviews=reviews, events=generated.events)


@pytest.fixture(scope="module")
def spark_set(spark, shop: Shop) -> SparkFeatureSet:
    """The shop's features computed once on Spark (cached), shared by the tests that read them."""
    orders, products = spark.createDataFrame(shop.orders), spark.createDataFrame(shop.products)
    reviews, events = spark.createDataFrame(shop.reviews), spark.createDataFrame(shop.events)
    result = spark_features(orders, products, reviews=reviews, events=events)
    result.frame = result.frame.cache()
    return result


def test_features_equal_the_duckdb_stage(spark_set: SparkFeatureSet, shop: Shop) -> None:
    expected = build_features(shop)
    result = spark_set
    actual = result.frame.toPandas().set_index(s.CUSTOMER_ID).sort_index()

    assert result.reference_ts == expected.reference_ts
    assert result.priors == pytest.approx(expected.priors, abs=1e-12)
    assert list(actual.index) == list(expected.frame.index)
    # every segmentation column of the shop is computed, with taste columns from the categories
    assert set(expected.segmentation_columns) <= set(actual.columns)
    assert result.groups["taste"] and result.groups["habits"]
    assert result.groups["engagement"] == ["review_count", "rating_mean", "view_count", "cart_to_view"]
    assert {"review_low_share", "session_count", "event_count", "cart_count"} <= set(actual.columns)
    columns = result.feature_columns
    assert set(columns) <= set(expected.frame.columns)
    np.testing.assert_allclose(actual[columns].to_numpy(), expected.frame[columns].to_numpy(), rtol=1e-9, atol=1e-6)


def test_saved_model_applied_on_spark_gives_the_same_segments(spark_set: SparkFeatureSet, shop: Shop, tmp_path) -> None:
    fitted = Segmenter(k=4, use_text=False, value=False, stability_refits=0, map_method=None).fit(shop)
    fitted.save(tmp_path / "model")
    model = Segmenter.load(tmp_path)
    expected = model.predict(shop)

    # Features must be in the model's space (its reference time and shop shares). The model was
    # fitted on this shop, so that space is the shop's own: the cached Spark features are in it.
    reference, priors = model.feature_context_
    assert reference == spark_set.reference_ts
    assert priors == pytest.approx(spark_set.priors, abs=1e-12)
    segments = assign_segments(spark_set.frame, tmp_path).toPandas().set_index(s.CUSTOMER_ID)[s.SEGMENT_ID]

    assert len(segments) == len(expected)
    agreement = float((segments.reindex(expected.index) == expected).mean())
    assert agreement >= 0.98, agreement
    assert agreement == 1.0  # the same code on the same features: no reason to differ at all


def test_applying_needs_every_model_column(spark, shop: Shop, tmp_path) -> None:
    Segmenter(k=3, use_text=False, value=False, stability_refits=0, map_method=None).fit(shop).save(tmp_path)
    frame = spark.createDataFrame(pd.DataFrame({s.CUSTOMER_ID: ["a"], "frequency": [1.0]}))
    with pytest.raises(ShopsegError, match="lack"):
        assign_segments(frame, tmp_path)


def test_scaling_on_spark_equals_the_block_scaler(spark_set: SparkFeatureSet, shop: Shop) -> None:
    expected = build_features(shop)
    scaler = BlockScaler(blocks=expected.segmentation_blocks, weights={"behaviour": 1.5}).fit(expected.frame)
    scaled = scaled_vectors(spark_set.frame, scaler).toPandas().set_index(s.CUSTOMER_ID)
    matrix = np.vstack(scaled.sort_index()["features"].to_numpy())
    np.testing.assert_allclose(matrix, scaler.transform(expected.frame), atol=1e-9)


def test_mllib_kmeans_agrees_with_scikit_learn_and_saves_as_shopseg(spark, tmp_path) -> None:
    matrix, _ = make_blobs(n_samples=600, centers=4, n_features=5, cluster_std=0.7, random_state=3)
    reference = KMeans(n_clusters=4, n_init=10, random_state=0).fit_predict(matrix)
    ids = [f"c{i:04d}" for i in range(len(matrix))]
    frame = spark.createDataFrame(pd.DataFrame({s.CUSTOMER_ID: ids, "features": list(matrix)}))

    fitted = SparkKMeans(k=4, random_state=1).fit(frame)
    labels = fitted.labels_.toPandas().set_index(s.CUSTOMER_ID)[s.SEGMENT_ID].reindex(ids).to_numpy()

    assert adjusted_rand_score(reference, labels) >= 0.9
    assert list(fitted.sizes_) == sorted(fitted.sizes_, reverse=True)  # ids by size, 0 = largest
    assert np.bincount(labels).tolist() == list(fitted.sizes_)
    save_clusterer(fitted.clusterer_, tmp_path)
    np.testing.assert_array_equal(load_clusterer(tmp_path).predict(matrix), labels)


def test_session_settings_and_missing_java(monkeypatch: pytest.MonkeyPatch) -> None:
    assert local_cores("local") == 1
    assert local_cores("local[3]") == 3
    assert local_cores("spark://host:7077") is None
    settings = session_config("local[2]", {"spark.executor.memory": "2g"})
    assert settings["spark.sql.shuffle.partitions"] == "4"
    assert settings["spark.sql.execution.arrow.pyspark.enabled"] == "true"
    assert settings["spark.executor.memory"] == "2g"
    assert settings["spark.pyspark.python"]
    assert settings["spark.driver.memory"] == local_driver_memory()
    assert [local_driver_memory(gb << 30) for gb in (4, 24, 256)] == ["2g", "6g", "16g"]
    assert "spark.driver.memory" not in session_config("yarn")  # a cluster's own settings decide
    assert "spark.sql.shuffle.partitions" not in session_config("yarn")
    assert "spark.pyspark.python" not in session_config("yarn")
    monkeypatch.setenv("PATH", "/nonexistent")
    monkeypatch.delenv("JAVA_HOME", raising=False)
    with pytest.raises(ShopsegError, match="Java"):
        require_java()


def _assign_on_both_engines(runner, command: list[str], tmp_path):
    """``shopseg assign`` locally and on Spark: (local assignments, Spark's, Spark's CLI result), same customers."""
    from shopseg.cli.app import app

    local = runner.invoke(app, [*command, "--out", str(tmp_path / "local")])
    on_spark = runner.invoke(app, [*command, "--out", str(tmp_path / "spark"), "--engine", "spark"])
    assert local.exit_code == 0, local.output
    assert on_spark.exit_code == 0, on_spark.output
    a = pd.read_parquet(tmp_path / "local" / "assignments.parquet").set_index("customer_id").sort_index()
    b = pd.read_parquet(tmp_path / "spark" / "assignments.parquet").set_index("customer_id").sort_index()
    assert a.index.equals(b.index)
    return a, b, on_spark


def test_cli_assign_on_spark_matches_the_local_engine(spark, tmp_path) -> None:
    from typer.testing import CliRunner

    from shopseg.cli.app import app
    from shopseg.generate import write_shop
    from shopseg.runner import run_segmentation

    paths = write_shop(generate_shop(300, seed=12), tmp_path / "shop")
    run_segmentation(
        tmp_path / "run",
        orders=paths["orders"],
        products=paths["products"],
        k=4,
        value=False,
        stability_refits=0,
        use_text=False,
        recommender=None,
    )
    runner = CliRunner()
    common = ["assign", "--model", str(tmp_path / "run"), "--orders", str(paths["orders"])]
    common += ["--products", str(paths["products"])]
    a, b, _ = _assign_on_both_engines(runner, common, tmp_path)
    assert (a["segment_id"] == b["segment_id"]).mean() >= 0.98
    assert (a["segment_name"] == b["segment_name"]).mean() >= 0.98
    bad = runner.invoke(app, [*common, "--out", str(tmp_path / "bad"), "--engine", "spark", "--spark-conf", "oops"])
    # the console entry point turns this ShopsegError into exit code 2 and one message
    assert isinstance(bad.exception, ShopsegError) and "KEY=VALUE" in str(bad.exception)


def _local_and_spark_text(spark, shop: Shop):
    """Text blocks of the shop's customers from the local text stage and from the Spark engine."""
    local = customer_text_vectors(shop, encoder=DEFAULT_ENCODER)
    frames = {name: getattr(shop, name) for name in ("orders", "products", "reviews", "events")}
    tables = {name: spark.createDataFrame(frame) if frame is not None else None for name, frame in frames.items()}
    remote = customer_text_blocks(DEFAULT_ENCODER, **tables).toPandas().set_index(s.CUSTOMER_ID)
    return local, remote.reindex(local.customer_ids)


@pytest.mark.parametrize("catalogue", [True, False], ids=["catalogue", "order-line descriptions"])
def test_text_blocks_on_spark_equal_the_local_text_stage(spark, shop: Shop, catalogue: bool) -> None:
    if not catalogue:  # a shop without a product table: titles written on the order lines
        titles = shop.products.set_index(s.PRODUCT_ID)[s.TITLE]
        orders = shop.orders.assign(**{s.DESCRIPTION: shop.orders[s.PRODUCT_ID].map(titles)})
        shop = Shop(orders=orders, reviews=shop.reviews, events=shop.events)
    local, remote = _local_and_spark_text(spark, shop)

    assert set(local.blocks) == {"taste", "voice", "browse"}
    for name, matrix in local.blocks.items():
        evidence = remote[f"{name}_n"].fillna(0.0).to_numpy()
        np.testing.assert_array_equal(evidence, local.evidence[name], err_msg=name)
        has = evidence > 0
        assert has.sum() > 50, name
        vectors = np.vstack(remote.loc[has, name].to_numpy())
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        cosine = (vectors * matrix[has]).sum(axis=1)
        assert cosine.min() > 0.9999, (name, cosine.min())


def test_text_model_applied_on_spark_gives_the_same_segments(spark, shop: Shop, tmp_path) -> None:
    fitted = Segmenter(k=4, value=False, stability_refits=0, map_method=None, embedding_cache=tmp_path / "cache.duckdb")
    fitted.fit(shop).save(tmp_path / "model")
    model = Segmenter.load(tmp_path)
    assert model.fuser_ is not None  # text is part of the representation
    expected = model.predict(shop)

    segments = assign_with_spark(tmp_path, shop, master="local[2]").set_index(s.CUSTOMER_ID)[s.SEGMENT_ID]
    agreement = float((segments.reindex(expected.index) == expected).mean())
    assert agreement >= 0.98, agreement

    # the text matters: placed without it, customers land elsewhere
    reference, priors = model.feature_context_
    tables = {name: spark.createDataFrame(getattr(shop, name)) for name in ("orders", "products", "reviews", "events")}
    features = spark_features(
        tables["orders"], tables["products"], reference, priors, reviews=tables["reviews"], events=tables["events"]
    )
    with pytest.warns(UserWarning, match="no text"):
        blind = assign_segments(features.frame, tmp_path)
    blind_segments = blind.toPandas().set_index(s.CUSTOMER_ID)[s.SEGMENT_ID].reindex(expected.index)
    assert (blind_segments != expected).any()


def test_cli_assign_reads_parquet_with_spark_and_checks_every_row(spark, tmp_path) -> None:
    from typer.testing import CliRunner

    from shopseg.generate import write_shop
    from shopseg.runner import run_segmentation

    paths = write_shop(generate_shop(300, seed=13), tmp_path / "shop", file_format="parquet")
    orders = pd.read_parquet(paths["orders"])
    bad = orders.head(4).copy()
    bad.loc[bad.index[0], s.TS] = pd.Timestamp("2200-01-01")  # in the future
    bad.loc[bad.index[1], s.QUANTITY] = 0
    bad.loc[bad.index[2], s.CUSTOMER_ID] = ""  # a guest
    pd.concat([orders, bad], ignore_index=True).to_parquet(paths["orders"])  # the 4th: a duplicate line
    inputs = {"orders": paths["orders"], "products": paths["products"], "reviews": paths["reviews"]}
    run_segmentation(tmp_path / "run", **inputs, k=4, value=False, stability_refits=0, use_text=False, recommender=None)
    runner = CliRunner()
    common = ["assign", "--model", str(tmp_path / "run")]
    for role, path in inputs.items():
        common += [f"--{role}", str(path)]
    a, b, on_spark = _assign_on_both_engines(runner, common, tmp_path)
    assert (a["segment_id"] == b["segment_id"]).mean() == 1.0
    output = " ".join(on_spark.output.split())
    assert f"orders: {len(orders) + 4:,} rows read by Spark" in output
    duplicates = int(orders.duplicated().sum()) + 1  # the generator's own repeated lines, and ours
    assert f"2 quarantined (quarantine_orders.parquet), {duplicates} duplicates, 1 guest rows" in output, output
    rejected = pd.read_parquet(tmp_path / "spark" / "quarantine_orders.parquet")
    assert sorted(rejected["reject_reason"]) == ["date in the future", "zero quantity"]
