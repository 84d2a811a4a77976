"""``segment --engine spark``: the local pipeline fitted on a sample, every customer placed on Spark (local mode)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("pyspark")

from typer.testing import CliRunner

from shopseg.cli.app import app
from shopseg.engines.spark.segment import segment_with_spark
from shopseg.engines.spark.session import spark_session
from shopseg.generate import generate_shop, write_shop
from shopseg.runner import run_segmentation

pytestmark = pytest.mark.slow  # a JVM and several Spark jobs per test

FAST = {"value": False, "stability_refits": 0, "use_text": False, "recommender": None}


@pytest.fixture(scope="module", autouse=True)
def spark():
    session = spark_session("local[2]", config={"spark.ui.enabled": "false", "spark.sql.shuffle.partitions": "2"})
    session.sparkContext.setLogLevel("ERROR")
    yield session


def _inputs(paths: dict[str, Path]) -> dict[str, Path]:
    return {name: paths[name] for name in ("orders", "products", "reviews")}


def test_segment_on_spark_gives_the_local_run_and_everybody_placed(tmp_path) -> None:
    paths = write_shop(generate_shop(300, seed=21), tmp_path / "shop", file_format="parquet")
    orders = pd.read_parquet(paths["orders"])
    bad = orders.head(1).assign(quantity=0)  # one line both engines quarantine
    pd.concat([orders, bad], ignore_index=True).to_parquet(paths["orders"])
    run_segmentation(tmp_path / "local", **_inputs(paths), k=4, **FAST)
    runner = CliRunner()
    args = ["segment", "--k", "4", "--no-value", "--no-text", "--no-recommend", "--stability-refits", "0"]
    for name, path in _inputs(paths).items():
        args += [f"--{name}", str(path)]
    result = runner.invoke(
        app, [*args, "--engine", "spark", "--spark-master", "local[2]", "--out", str(tmp_path / "spark")]
    )
    assert result.exit_code == 0, result.output

    local = pd.read_parquet(tmp_path / "local" / "segments.parquet").set_index("customer_id")
    spark = pd.read_parquet(tmp_path / "spark" / "segments.parquet").set_index("customer_id")
    assert spark.index.equals(local.index)
    assert (spark["segment_id"] == local["segment_id"]).all() and (spark["segment_name"] == local["segment_name"]).all()
    numeric = local.select_dtypes("number").columns  # the same features, up to the order of float sums
    np.testing.assert_allclose(spark[numeric].to_numpy(), local[numeric].to_numpy(), rtol=1e-9, atol=1e-9)
    profiles = [json.loads((tmp_path / run / "profiles.json").read_text()) for run in ("local", "spark")]
    assert [(p["name"], p["size"]) for p in profiles[0]] == [(p["name"], p["size"]) for p in profiles[1]]
    everybody = pd.read_parquet(tmp_path / "spark" / "all_segments.parquet").set_index("customer_id")
    assert (everybody["segment_id"].reindex(local.index) == local["segment_id"]).all()
    assert (everybody["segment_name"].reindex(local.index) == local["segment_name"]).all()
    assert pd.read_csv(tmp_path / "local" / "quarantine.csv")["reason"].tolist() == ["zero quantity"]
    rejected = pd.read_parquet(tmp_path / "spark" / "quarantine_orders.parquet")
    assert rejected["reject_reason"].tolist() == ["zero quantity"]
    records = [json.loads((tmp_path / run / "run.json").read_text()) for run in ("local", "spark")]
    assert records[0]["rows"] == records[1]["rows"]  # read, kept, quarantined, duplicates, guests
    engine = records[1]["engine"]
    assert engine["read_by"] == "spark" and engine["customers"] == engine["fitted_on"] == engine["placed"] == 300
    assert engine["agreement_with_fit"] == 1.0
    assert "Spark (local[2]): fitted on 300 of 300 customers" in " ".join(result.output.split())


def test_segment_on_spark_fits_a_seeded_sample_and_places_everybody(tmp_path) -> None:
    paths = write_shop(generate_shop(800, seed=22), tmp_path / "shop")  # CSV: read by the local loader
    options = {**_inputs(paths), "k": 3, "min_segment_size": 20, **FAST}
    runs = [segment_with_spark(tmp_path / f"run{i}", master="local[2]", fit_sample=400, **options) for i in (1, 2)]

    engine = runs[0].record["engine"]
    assert engine["read_by"] == "local loader" and engine["customers"] == engine["placed"] == 800
    assert 320 <= engine["fitted_on"] <= 480  # about the sample size: a hash draw, not an exact count
    assert engine["fitted_on"] == len(runs[0].segmenter.labels_)
    assert engine["agreement_with_fit"] >= 0.98
    assert sum(engine["segment_sizes"].values()) == 800
    assert any("sample of" in note for note in runs[0].record["notes"])
    first, second = (pd.read_parquet(tmp_path / f"run{i}" / "all_segments.parquet") for i in (1, 2))
    key = ["customer_id"]
    pd.testing.assert_frame_equal(  # same input and seed: the same sample, the same segments
        first.sort_values(key).reset_index(drop=True), second.sort_values(key).reset_index(drop=True)
    )
    assert runs[0].record["engine"]["segment_sizes"] == runs[1].record["engine"]["segment_sizes"]


def test_segment_on_spark_scores_value_and_recommends_for_everybody(tmp_path) -> None:
    paths = write_shop(generate_shop(700, seed=23), tmp_path / "shop", file_format="parquet")
    options = {**_inputs(paths), "k": 3, "min_segment_size": 20, **FAST, "value": True, "recommender": "popular"}
    result = segment_with_spark(tmp_path / "run", master="local[2]", fit_sample=300, recommend_n=4, **options)

    value = result.record["engine"]["value"]
    assert value["transaction_all_customers"]["n_customers"] == 700  # fitted on everybody, not the sample
    assert value["transaction_sample"]["n_customers"] == result.record["engine"]["fitted_on"] < 700
    assert value["transaction_all_customers"]["model"] == value["transaction_sample"]["model"]
    assert value["fit"]["evaluations"] > 5 and value["transaction_all_customers"]["log_likelihood"] < 0
    everybody = pd.read_parquet(tmp_path / "run" / "all_segments.parquet").set_index("customer_id")
    assert len(everybody) == 700
    numbers = [c for c in value["columns"] if c != "next_order_date_estimate"]  # the date is empty past the horizon
    assert everybody[numbers].notna().all().all()
    assert everybody["p_alive"].between(0, 1).all() and (everybody["clv"] >= 0).all()
    fitted = pd.read_parquet(tmp_path / "run" / "segments.parquet").set_index("customer_id")
    # the sample's values come from the sample's fit; everybody's from the refit on all: close, not equal
    same = everybody.loc[fitted.index]
    assert np.corrcoef(same["p_alive"], fitted["p_alive"])[0, 1] > 0.95
    recommended = pd.read_parquet(tmp_path / "run" / "all_recommendations.parquet")  # ALS on Spark
    with_purchases = set(pd.read_parquet(paths["orders"]).query("quantity > 0")["customer_id"])
    assert set(recommended["customer_id"]) == with_purchases <= set(everybody.index)  # only-returns: none
    assert (recommended.groupby("customer_id").size() == 4).all()  # heavy buyers too
    assert result.record["engine"]["recommend"]["model"].startswith("MLlib ALS")
