"""CLV over a horizon with monthly discounting, and the next order date estimate."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from shopseg.value.bgnbd import BetaGeoModel
from shopseg.value.clv import customer_lifetime_value, month_ends, next_order_date_estimate, order_rate_bound

X = np.array([0.0, 2.0, 10.0, 10.0])
TX = np.array([0.0, 150.0, 250.0, 20.0])
T = np.array([270.0, 270.0, 270.0, 270.0])
SPEND = np.array([30.0, 25.0, 40.0, 40.0])


def model() -> BetaGeoModel:
    fitted = BetaGeoModel()
    fitted.params_ = {"r": 0.25, "alpha": 30.0, "a": 0.8, "b": 2.5}
    return fitted


def test_month_ends_cover_the_horizon() -> None:
    assert list(month_ends(90)) == [30.0, 60.0, 90.0]
    assert list(month_ends(365))[-2:] == [360.0, 365.0] and len(month_ends(365)) == 13


def test_without_discount_clv_is_expected_orders_times_spend() -> None:
    clv = customer_lifetime_value(model(), X, TX, T, SPEND, horizon_days=365, discount_rate=0.0)
    expected = model().conditional_expected_purchases(365, X, TX, T) * SPEND
    assert clv == pytest.approx(expected, rel=1e-12)


def test_discounting_by_hand_for_two_months() -> None:
    bgnbd = model()
    one, two = (bgnbd.conditional_expected_purchases(t, X, TX, T) for t in (30, 60))
    by_hand = (one / 1.01 + (two - one) / 1.01**2) * SPEND
    clv = customer_lifetime_value(bgnbd, X, TX, T, SPEND, horizon_days=60, discount_rate=0.01)
    assert clv == pytest.approx(by_hand, rel=1e-12)
    assert np.all(clv < customer_lifetime_value(bgnbd, X, TX, T, SPEND, horizon_days=60, discount_rate=0.0))


def test_time_unit_weeks_gives_the_same_value_as_days() -> None:
    weekly = BetaGeoModel()
    weekly.params_ = {"r": 0.25, "alpha": 30.0 / 7, "a": 0.8, "b": 2.5}
    in_weeks = customer_lifetime_value(weekly, X, TX / 7, T / 7, SPEND, horizon_days=365, time_unit_days=7)
    in_days = customer_lifetime_value(model(), X, TX, T, SPEND, horizon_days=365)
    assert in_weeks == pytest.approx(in_days, rel=1e-9)


def test_next_order_date_is_forward_within_the_horizon_or_empty() -> None:
    end = pd.Timestamp("2024-06-30")
    bgnbd = model()
    dates = next_order_date_estimate(bgnbd, X, TX, T, end, horizon_days=365)
    expected_order = bgnbd.p_no_purchase(365, X, TX, T) < 0.5
    assert list(dates.notna()) == list(expected_order)  # a date exactly when an order is more likely than not
    assert (dates[expected_order] > end).all() and (dates[expected_order] <= end + pd.Timedelta(days=365)).all()
    # at the date, P(no order by then) has just fallen to one half
    wait = (dates[expected_order] - end).days.to_numpy(dtype=float)
    silent = bgnbd.p_no_purchase(wait, X[expected_order], TX[expected_order], T[expected_order])
    before = bgnbd.p_no_purchase(wait - 1, X[expected_order], TX[expected_order], T[expected_order])
    assert np.all(silent <= 0.5) and np.all(before > 0.5)
    rare = BetaGeoModel()
    rare.params_ = {"r": 1e-6, "alpha": 30.0, "a": 0.8, "b": 2.5}  # essentially never buys: empty, not a sentinel
    assert next_order_date_estimate(rare, [0], [0], [10], end).isna().all()


def test_order_rate_bound_uses_customers_observed_long_enough() -> None:
    frequency = np.r_[np.arange(100) % 5, 1]
    age = np.r_[np.full(100, 100.0), 1.0]  # the last customer: two orders a day apart
    bound = order_rate_bound(frequency, age)
    assert bound == pytest.approx(np.quantile((np.arange(100) % 5) / 100.0, 0.99))
    assert order_rate_bound([1, 2], [0, 0]) is None
