"""Customer value on Spark (local mode): the summary, BG/NBD across partitions, every customer scored."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("pyspark")

from shopseg import schema as s
from shopseg.engines.spark.session import spark_session
from shopseg.engines.spark.value import fit_bgnbd, fit_transaction, purchase_summary, score_customers
from shopseg.generate import generate_shop, write_shop
from shopseg.ingest import load_shop
from shopseg.value import customer_value
from shopseg.value.bgnbd import BetaGeoModel
from shopseg.value.pareto_nbd import ParetoNBDModel
from shopseg.value.simulate import simulate_orders
from shopseg.value.summary import PeriodSplit, calibration_summary, purchase_days

pytestmark = pytest.mark.slow  # a JVM and several Spark jobs per test


@pytest.fixture(scope="module")
def spark():
    session = spark_session("local[2]", config={"spark.ui.enabled": "false", "spark.sql.shuffle.partitions": "4"})
    session.sparkContext.setLogLevel("ERROR")
    yield session


@pytest.fixture(scope="module")
def orders(tmp_path_factory) -> pd.DataFrame:
    paths = write_shop(generate_shop(1500, seed=41), tmp_path_factory.mktemp("shop"))
    return load_shop(paths["orders"]).orders


def test_summary_and_bgnbd_on_spark_equal_the_single_machine(spark, orders) -> None:
    summary, last_day = purchase_summary(spark.createDataFrame(orders).repartition(4))
    on_spark = summary.toPandas().set_index(s.CUSTOMER_ID).sort_index()
    days = purchase_days(orders)
    local = calibration_summary(days=days, split=PeriodSplit(days["day"].max(), None))
    assert last_day == days["day"].max()
    assert on_spark.index.equals(local.index)
    columns = ["frequency", "recency", "T", "monetary_value"]
    np.testing.assert_allclose(on_spark[columns].to_numpy(), local[columns].to_numpy(), rtol=1e-9, atol=1e-9)

    model, facts = fit_bgnbd(summary)
    reference = BetaGeoModel().fit(local["frequency"], local["recency"], local["T"])
    assert facts["customers"] == len(local) and facts["evaluations"] > 5
    assert facts["distinct_histories"] < len(local)  # identical histories counted once
    ours, theirs = model.params_, reference.params_
    # this shop does not identify dropout (a, b run towards infinity along a flat ridge, log-likelihood
    # within 1e-8), so where along it each optimiser stops moves r and alpha by ~0.1%; their ratio,
    # the mean purchase rate, is pinned down
    for name in ("r", "alpha"):
        assert ours[name] == pytest.approx(theirs[name], rel=3e-3), name
    assert ours["r"] / ours["alpha"] == pytest.approx(theirs["r"] / theirs["alpha"], rel=1e-3)
    # a and b can both run large when few customers drop out (a flat ridge); their ratio, the mean
    # dropout probability, is what the data pins down
    assert ours["a"] / (ours["a"] + ours["b"]) == pytest.approx(theirs["a"] / (theirs["a"] + theirs["b"]), rel=1e-3)
    assert model.log_likelihood_ == pytest.approx(reference.log_likelihood_, rel=1e-8)
    assert model.n_customers_ == reference.n_customers_


def test_pareto_nbd_on_spark_equals_the_single_machine(spark) -> None:
    # simulated customers: Pareto/NBD is identified there (on the generated shop it runs along a ridge)
    orders = simulate_orders(1500, seed=3, history_days=540)
    days = purchase_days(orders)
    local = calibration_summary(days=days, split=PeriodSplit(days["day"].max(), None))
    summary, _ = purchase_summary(spark.createDataFrame(orders).repartition(3))
    model, _ = fit_transaction(summary, ParetoNBDModel)  # no analytic gradient: numerical, still summed on Spark
    reference = ParetoNBDModel().fit(local["frequency"], local["recency"], local["T"])
    assert reference.converged_ and model.converged_
    assert model.log_likelihood_ == pytest.approx(reference.log_likelihood_, rel=1e-8)
    assert model.params_["r"] == pytest.approx(reference.params_["r"], rel=1e-3)


def test_every_customer_scored_on_spark_as_on_one_machine(spark, orders) -> None:
    value = customer_value(orders)
    scored = score_customers(spark.createDataFrame(orders).repartition(3), value.scorer).toPandas()
    scored = scored.set_index(s.CUSTOMER_ID).sort_index()
    expected = value.frame
    assert scored.index.equals(expected.index)
    numeric = [c for c in expected.columns if c != "next_order_date_estimate"]
    np.testing.assert_allclose(scored[numeric].to_numpy(), expected[numeric].to_numpy(), rtol=1e-9, atol=1e-9)
    dates = [frame["next_order_date_estimate"].astype("datetime64[ns]") for frame in (scored, expected)]
    pd.testing.assert_series_equal(*dates)  # the same days, and empty (NaT) for the same customers
