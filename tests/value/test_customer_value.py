"""The value stage end to end on simulated shops, and on every degenerate history."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from shopseg import schema as s
from shopseg.errors import ConfigError
from shopseg.value import customer_value, predictive_validity, segment_value_summary, value_columns
from shopseg.value.bgnbd import BetaGeoModel
from shopseg.value.simulate import simulate_orders


@pytest.fixture(scope="module")
def shop_orders() -> pd.DataFrame:
    orders = simulate_orders(800, seed=11, history_days=540)
    returns = orders.iloc[:5].copy()  # a few returns, and one customer who only returned
    returns[s.AMOUNT] = -returns[s.AMOUNT]
    returns[s.IS_RETURN] = True
    returns.loc[returns.index[-1], s.CUSTOMER_ID] = "ONLY-RETURNS"
    return pd.concat([orders, returns], ignore_index=True)


@pytest.fixture(scope="module")
def result(shop_orders: pd.DataFrame):
    return customer_value(shop_orders, holdout_days=180, random_state=0, n_threads=1)


def assert_finite(frame: pd.DataFrame) -> None:
    assert list(frame.columns) == list(value_columns(365))
    numeric = frame.drop(columns="next_order_date_estimate")
    assert numeric.notna().all().all() and np.isfinite(numeric.to_numpy()).all()


def test_every_customer_gets_finite_well_ranged_values(result, shop_orders: pd.DataFrame) -> None:
    frame = result.frame
    assert_finite(frame)
    assert set(frame.index) == set(shop_orders[s.CUSTOMER_ID])
    for column in ("p_alive", "churn_risk", "high_value_prob"):
        assert frame[column].between(0, 1).all(), column
    assert (frame["clv"] >= 0).all() and (frame["expected_orders_365d"] >= 0).all()
    assert frame.loc["ONLY-RETURNS", "clv"] == 0 and frame.loc["ONLY-RETURNS", "churn_risk"] == 1
    dates = frame["next_order_date_estimate"].dropna()
    last = shop_orders[s.TS].max().normalize()
    assert len(dates) > 0 and (dates > last).all() and (dates <= last + pd.Timedelta(days=365)).all()
    # a date exactly when an order within the horizon is more likely than not: never a far-future sentinel
    assert frame["next_order_date_estimate"].isna().sum() > 0
    # Customers the model believes gone have higher churn risk on average.
    alive = frame["p_alive"] > 0.5
    assert frame.loc[alive, "churn_risk"].mean() < frame.loc[~alive, "churn_risk"].mean()


def test_report_is_json_with_parameters_checks_and_metrics(result) -> None:
    report = result.report
    json.dumps(report, allow_nan=False)
    assert report["available"] and report["calibration"]["holdout_days"] == 180
    chosen = report["model_selection"]["chosen"]
    assert {r["model"] for r in report["model_selection"]["candidates"]} == {"bgnbd", "mbgnbd", "pareto_nbd"}
    best = min(r["mae_per_customer"] for r in report["model_selection"]["candidates"] if r["converged"])
    assert next(r for r in report["model_selection"]["candidates"] if r["chosen"])["mae_per_customer"] == best
    assert report["transaction_model"]["model"] == chosen == report["holdout_check"]["model"]
    assert (
        report["transaction_model"]["fitted_on"]["weeks"] > 0 and "alpha" in report["transaction_model"]["params_weeks"]
    )
    assert set(report["spend"]["gamma_gamma"]["params"]) == {"p", "q", "gamma"}
    assert report["holdout_check"]["actual_purchases"] > 0
    assert 0.85 <= report["holdout_check"]["interval_coverage"] <= 1.0
    assert set(report["columns"]) == set(value_columns(365)) and "one-time" in report["columns"]["p_alive"]
    models = {(row["target"], row["model"]) for row in report["holdout_metrics"]}
    assert {("churn", "gradient_boosting"), ("churn", "recency_only"), ("churn", "model_no_order")} <= models
    assert ("high_value", "gradient_boosting") in models
    churn_gb = next(
        r for r in report["holdout_metrics"] if r["model"] == "gradient_boosting" and r["target"] == "churn"
    )
    assert churn_gb["auc"] > 0.6  # simulated customers are predictable


def test_churn_risk_is_the_models_p_no_order_unless_a_classifier_beats_it_out_of_time(result) -> None:
    churn = result.report["churn"]
    check = churn["out_of_time"]
    assert check["available"]  # 540 days, 180-day holdout: the earlier window has 180 days of history
    beats = (
        check["classifier"]["auc"] > check["baseline"]["auc"]
        and check["classifier"]["brier"] < check["baseline"]["brier"]
    )
    assert churn["source"] == ("gradient_boosting" if beats else "model_no_order")
    if not beats:
        frame, scorer = result.frame, result.scorer
        assert scorer.churn is None
        summary_risk = frame["churn_risk"].drop("ONLY-RETURNS")
        assert summary_risk.between(0, 1).all()


def test_segment_summary_and_predictive_validity(result) -> None:
    frame = result.frame
    labels = pd.Series((frame["p_alive"] > 0.5).astype(int).to_numpy(), index=frame.index)
    summary = segment_value_summary(frame, labels)
    assert summary["customers"].sum() == len(frame)
    assert summary["clv_total"].sum() == pytest.approx(frame["clv"].sum())
    assert summary["clv_share"].sum() == pytest.approx(1.0)
    validity = predictive_validity(labels, result.outcomes)
    assert validity.loc["segments", "groups"] == validity.loc["rfm_kmeans", "groups"] == 2
    assert validity[["eta2_holdout_spend", "eta2_holdout_churn"]].stack().between(0, 1).all()


def day_orders(rows: list[tuple[str, str, float]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=[s.CUSTOMER_ID, s.TS, s.AMOUNT])
    frame[s.TS] = pd.to_datetime(frame[s.TS])
    frame[s.ORDER_ID] = [f"o{i}" for i in range(len(frame))]
    frame[s.IS_RETURN] = False
    return frame


def test_short_history_is_a_note_not_a_failure() -> None:
    orders = day_orders([(f"c{i}", f"2024-01-{1 + i % 28:02d}", 10.0) for i in range(60)])
    result = customer_value(orders)
    assert result.frame is None and not result.report["available"]
    assert "needs at least 90 days" in result.report["notes"][0]


def test_all_purchases_on_one_day() -> None:
    orders = day_orders([(f"c{i % 30}", "2024-03-01", 5.0 + i) for i in range(90)])
    result = customer_value(orders, min_history_days=0)
    assert result.frame is None and "bought again" in result.report["notes"][-1]


def test_one_time_buyers_only() -> None:
    orders = day_orders(
        [(f"c{i}", str(pd.Timestamp("2024-01-01") + pd.Timedelta(days=3 * i)), 20.0) for i in range(60)]
    )
    result = customer_value(orders)
    assert result.frame is None and "none of the 60 customers bought again" in result.report["notes"][-1]


def test_one_customer() -> None:
    orders = day_orders([("solo", f"2024-{m:02d}-01", 30.0) for m in range(1, 13)])
    result = customer_value(orders)
    assert result.frame is None and "Only 1 customer" in result.report["notes"][0]


def test_zero_value_orders_give_finite_values() -> None:
    orders = simulate_orders(150, seed=4, history_days=400)
    orders[s.AMOUNT] = 0.0
    result = customer_value(orders, holdout_days=120, n_threads=1)
    assert_finite(result.frame)
    assert (result.frame["clv"] == 0).all()
    assert any("Gamma-Gamma" in warning for warning in result.report["warnings"])
    json.dumps(result.report, allow_nan=False)


def test_no_repeat_purchase_in_calibration_still_gives_values() -> None:
    # Everyone's repeat purchases fall in the holdout: the full-history fit works, the calibration fit cannot.
    rows = [(f"c{i}", "2024-01-01", 10.0) for i in range(30)] + [(f"c{i}", "2024-06-01", 12.0) for i in range(15)]
    result = customer_value(day_orders(rows), holdout_days=60)
    assert_finite(result.frame)
    assert any("Calibration period" in note for note in result.report["notes"])


def test_bad_arguments_are_config_errors(shop_orders: pd.DataFrame) -> None:
    with pytest.raises(ConfigError, match="horizon"):
        customer_value(shop_orders, horizon_days=0)
    with pytest.raises(ConfigError, match="monthly"):
        customer_value(shop_orders, discount_rate=5.0)


def test_a_three_month_shop_warns_that_it_extrapolates() -> None:
    orders = simulate_orders(300, seed=8, history_days=95, acquisition_days=60)
    last = orders[s.TS].max().normalize()
    burst = [("NEW", str(last - pd.Timedelta(days=d)), 80.0) for d in (3, 2, 1, 0)]  # four orders in three days
    result = customer_value(pd.concat([orders, day_orders(burst)], ignore_index=True), n_threads=1)
    report, frame = result.report, result.frame
    assert any("extrapolate" in w for w in report["warnings"])  # 95 days of history, 365 days ahead
    bound = report["clv_bound"]["max_orders_over_horizon"]
    assert 0 < bound < 365 and frame.loc["NEW", "expected_orders_365d"] <= bound
    assert frame.loc["NEW", "expected_orders_365d_p95"] <= np.ceil(bound)
    json.dumps(report, allow_nan=False)


def test_the_rate_bound_caps_customers_seen_for_a_few_days_only() -> None:
    orders = simulate_orders(200, seed=9, history_days=200)
    last = orders[s.TS].max().normalize()
    pair = day_orders([("PAIR", str(last - pd.Timedelta(days=1)), 50.0), ("PAIR", str(last), 50.0)])
    orders = pd.concat([orders, pair], ignore_index=True)
    result = customer_value(orders, n_threads=1)
    eager = BetaGeoModel()  # a fit like the 3-month shop: a tiny alpha makes two orders a day apart a habit
    eager.params_ = {"r": 0.5, "alpha": 0.5, "a": 0.5, "b": 100.0}
    scorer = replace(result.scorer, transaction=eager, rate_bound=0.05)
    frame, facts = scorer.score_with_facts(orders)
    unbounded = eager.conditional_expected_purchases(365, 1, 1, 1)
    assert unbounded > 100  # what the model alone would predict
    assert frame.loc["PAIR", "expected_orders_365d"] == pytest.approx(0.05 * 365)
    assert frame.loc["PAIR", "expected_orders_365d_p95"] <= np.ceil(0.05 * 365)
    assert facts["capped"] >= 1
    assert frame.loc["PAIR", "clv"] < eager.conditional_expected_purchases(365, 1, 1, 1) * 50.0 / 5
