"""90% intervals of future orders: coverage on simulated holdouts, ordering, and chunk invariance."""

from __future__ import annotations

import numpy as np
import pytest

from shopseg.value.bgnbd import BetaGeoModel
from shopseg.value.intervals import clv_interval, draw_count, order_quantiles
from shopseg.value.simulate import simulate_orders
from shopseg.value.summary import calibration_summary


@pytest.fixture(scope="module")
def fitted():
    orders = simulate_orders(3000, seed=5, history_days=540)
    summary = calibration_summary(orders, holdout_days=180)
    x, t_x, T = (summary[c].to_numpy(dtype="float64") for c in ("frequency", "recency", "T"))
    return BetaGeoModel().fit(x, t_x, T), summary


def test_holdout_orders_fall_inside_their_interval_as_often_as_promised(fitted) -> None:
    model, summary = fitted
    x, t_x, T = (summary[c].to_numpy(dtype="float64") for c in ("frequency", "recency", "T"))
    low, high = order_quantiles(model, 180.0, x, t_x, T)
    actual = summary["frequency_holdout"].to_numpy()
    coverage = np.mean((actual >= low) & (actual <= high))
    assert 0.85 <= coverage <= 0.99
    assert np.all(low <= high) and np.all(low >= 0)
    expected = model.conditional_expected_purchases(180.0, x, t_x, T)
    heavy = expected > 2
    assert np.all(low[heavy] <= expected[heavy]) and np.all(high[heavy] >= expected[heavy])


def test_quantiles_match_the_point_distribution_without_parameter_uncertainty(fitted) -> None:
    model, _ = fitted
    point = BetaGeoModel.from_dict({**model.to_dict(), "covariance": None})
    # the last customer buys about daily: beyond the stepping range, found by doubling and bisection
    x, t_x, T = (
        np.array([0.0, 3.0, 12.0, 300.0]),
        np.array([0.0, 300.0, 500.0, 519.0]),
        np.array([400.0, 400.0, 520.0, 520.0]),
    )
    low, high = order_quantiles(point, 180.0, x, t_x, T)
    assert high[3] > 24
    for i in range(4):
        cdf = 1 - np.array([point.sf_purchases(k + 1, 180.0, x[i], t_x[i], T[i]) for k in range(400)])
        assert low[i] == np.argmax(cdf >= 0.05) and high[i] == np.argmax(cdf >= 0.95)


def test_scoring_part_of_the_customers_gives_the_same_intervals(fitted) -> None:
    model, summary = fitted
    x, t_x, T = (summary[c].to_numpy(dtype="float64") for c in ("frequency", "recency", "T"))
    draws = draw_count(len(np.unique(np.column_stack([x, t_x, T]), axis=0)))
    whole = order_quantiles(model, 365.0, x, t_x, T, n_draws=draws)
    part = order_quantiles(model, 365.0, x[:100], t_x[:100], T[:100], n_draws=draws)
    assert np.array_equal(whole[0][:100], part[0]) and np.array_equal(whole[1][:100], part[1])


def test_clv_interval_scales_the_order_interval() -> None:
    low, high = clv_interval(np.array([100.0, 0.0]), np.array([4.0, 0.0]), np.array([1.0, 0.0]), np.array([9.0, 0.0]))
    assert list(low) == [25.0, 0.0] and list(high) == [225.0, 0.0]
