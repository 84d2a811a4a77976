"""CLV over a horizon with monthly discounting, and the next order date estimate."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from shopseg.value.bgnbd import BetaGeoModel
from shopseg.value.clv import MAX_WAIT_DAYS, customer_lifetime_value, month_ends, next_order_date_estimate

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


def test_next_order_date_is_forward_finite_and_earlier_for_frequent_buyers() -> None:
    end = pd.Timestamp("2024-06-30")
    dates = next_order_date_estimate(model(), X, TX, T, end)
    assert dates.notna().all() and (dates > end).all()
    assert dates[2] < dates[1] < dates[0]
    rare = BetaGeoModel()
    rare.params_ = {"r": 1e-6, "alpha": 30.0, "a": 0.8, "b": 2.5}  # 2^(1/r) overflows: clipped, not NaT
    assert (next_order_date_estimate(rare, [0], [0], [10], end) == end + pd.Timedelta(days=MAX_WAIT_DAYS)).all()
