"""Intervals, seasonality, metrics and the back-test's bookkeeping on small known inputs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from shopseg.demand import backtest_demand
from shopseg.demand.backtest import period_matrices
from shopseg.demand.intervals import count_interval
from shopseg.demand.metrics import coverage, mase, naive_scale, wape
from shopseg.demand.seasonality import seasonal_index


def test_poisson_where_the_variance_is_the_mean_and_wider_with_more_spread() -> None:
    low, high = count_interval(np.array([10.0, 10.0, 0.0, 2.0]), np.array([10.0, 40.0, 0.0, 2.0]))
    assert low[0] == stats.poisson.ppf(0.05, 10)
    assert stats.poisson.cdf(high[0], 10) - stats.poisson.cdf(low[0] - 1, 10) >= 0.90
    assert stats.poisson.cdf(high[0] - 1, 10) - stats.poisson.cdf(low[0] - 1, 10) < 0.90  # the smallest such bound
    assert low[1] < low[0] and high[1] > high[0]
    assert (low[2], high[2]) == (0, 0)
    assert (low[3], high[3]) == (0, 4)  # [0, 4] holds 95% of Poisson(2); the 95% quantile 5 would hold 98%


def test_negative_binomial_intervals_cover_about_90_percent_of_such_counts() -> None:
    rng = np.random.default_rng(0)
    mean, variance = 25.0, 90.0
    n, p = mean**2 / (variance - mean), mean / variance
    draws = rng.negative_binomial(n, p, 20_000)
    low, high = count_interval(np.array([mean]), np.array([variance]))
    inside = np.mean((draws >= low[0]) & (draws <= high[0]))
    assert 0.89 <= inside <= 0.93


def daily(days: int, summer: float, seed: int = 0) -> pd.Series:
    index = pd.date_range("2021-01-01", periods=days, freq="D")
    rate = 100 * np.where(index.month.isin([6, 7, 8]), summer, 1.0)
    return pd.Series(np.random.default_rng(seed).poisson(rate).astype(float), index=index)


def test_a_planted_summer_is_found_and_a_flat_year_is_not() -> None:
    as_of = pd.Timestamp("2023-05-31")
    summer = seasonal_index(daily(900, 1.5), as_of, 92)
    assert summer["used"] and summer["index"] == pytest.approx(1.5 / (1 + 0.5 * 92 / 365), rel=0.08)
    flat = seasonal_index(daily(900, 1.0), as_of, 92)
    assert not flat["used"] and flat["index"] == 1.0
    short = seasonal_index(daily(300, 1.5), pd.Timestamp("2021-10-27"), 92)
    assert not short["used"] and "no earlier year" in short["reason"]
    assert seasonal_index(daily(900, 1.5), as_of, 365)["index"] == 1.0


def test_metrics_on_known_numbers() -> None:
    assert wape(np.array([8.0, 12.0]), np.array([10.0, 10.0])) == pytest.approx(0.2)
    assert wape(np.array([1.0]), np.array([0.0])) is None
    value, left_out = mase(np.array([8.0, 12.0, 3.0]), np.array([10.0, 10.0, 3.0]), np.array([4.0, 1.0, 0.0]))
    assert value == pytest.approx((2 / 4 + 2 / 1) / 2) and left_out == 1
    assert coverage(np.array([1, 5, 9]), np.array([0, 6, 9]), np.array([2, 8, 9])) == pytest.approx(2 / 3)
    assert np.allclose(naive_scale(np.array([[1.0, 5.0], [3.0, 5.0], [2.0, 5.0]])), [1.5, 0.0])


def test_periods_count_the_units_of_each_window(lines) -> None:
    from shopseg.demand.forecast import _universe
    from shopseg.demand.hierarchy import build_hierarchy

    hierarchy = build_hierarchy(*_universe(lines))
    cutoff = lines.last_day - pd.Timedelta(days=60)
    periods = period_matrices(lines, hierarchy, cutoff, 60)
    assert periods[0].sum() == lines.window(cutoff, cutoff + pd.Timedelta(days=60))["units"].sum()
    earlier = cutoff - pd.Timedelta(days=120)
    assert periods[2].sum() == lines.window(earlier, earlier + pd.Timedelta(days=60))["units"].sum()
    whole = int(((cutoff - lines.first_day).days + 1) // 60)
    assert periods.shape[0] == whole + 1


def test_backtest_scores_every_level_and_baselines_on_the_same_cutoff(lines) -> None:
    result = backtest_demand(lines, "bgnbd", horizon_days=60, n_draws=2, candidates=None)
    metrics = result.metrics.set_index(["level", "method"])
    assert {"shopseg", "seasonal_naive", "moving_average_2", "moving_average_4"} <= set(result.metrics["method"])
    cutoff = pd.Timestamp(result.report["cutoff"])
    previous = lines.window(cutoff - pd.Timedelta(days=60), cutoff)["units"].sum()
    actual = lines.window(cutoff, cutoff + pd.Timedelta(days=60))["units"].sum()
    assert metrics.loc[("total", "seasonal_naive"), "wape"] == pytest.approx(abs(previous - actual) / actual)
    assert all(0 <= v <= 1 for v in result.coverage.values())
    assert result.ratio("product", "shopseg", "seasonal_naive") == pytest.approx(
        metrics.loc[("product", "shopseg"), "wape"] / metrics.loc[("product", "seasonal_naive"), "wape"]
    )
