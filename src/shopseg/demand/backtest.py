"""Back-test on a time split: refit on the data up to a cut-off, forecast the next window, compare.

:func:`backtest_demand` cuts the history at ``cutoff`` (default: the last purchase day minus
the horizon), forecasts (cutoff, cutoff + horizon] with :func:`forecast_demand` from the data
before it only -- the transaction model, the calibration windows, newcomers, shares and season
are all refitted -- and scores every level of the hierarchy against the units actually
bought, next to baselines on the same cut-off:

* ``seasonal_naive``: the previous horizon-length window (what statsforecast's SeasonalNaive
  with a season of one horizon gives when its daily forecasts are summed over the window);
* ``moving_average_m``: the mean of the last m horizon-length windows (statsforecast's
  WindowAverage over m horizons of days, summed over the window);
* ``shopseg_base`` and ``shopseg_bottom_up``: shopseg's own forecasts before reconciliation
  (each level's own) and their bottom level added up, to show what reconciliation changes.

The segments are the run's (fitted on the whole history): segment membership is taken as
known, the back-test measures the demand forecast given it. statsforecast itself is not used:
it needs pandas < 3 (shopseg runs on pandas 3), and both baselines are one line of numpy.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from shopseg import schema as s
from shopseg.demand.forecast import BASE, EXPECTED, HIGH, LOW, DemandForecast, forecast_demand
from shopseg.demand.hierarchy import BOTTOM, LEVEL, LEVELS, Hierarchy
from shopseg.demand.horizon import check_horizon
from shopseg.demand.lines import DAY, UNITS, UnitLines
from shopseg.demand.metrics import coverage, mase, naive_scale, wape

SHOPSEG = "shopseg"
MOVING_AVERAGE_PERIODS = (2, 4)


@dataclass
class BacktestResult:
    """``metrics``: one row per level and method (wape, mase, series, mase_left_out);
    ``coverage``: {level: share of series inside [p05, p95]}; ``report``: JSON-ready summary;
    ``forecast`` and ``actual`` (units per node, the hierarchy's order) for further checks."""

    metrics: pd.DataFrame
    coverage: dict[str, float | None]
    report: dict[str, object]
    forecast: DemandForecast = field(repr=False)
    actual: np.ndarray = field(repr=False)

    def ratio(self, level: str, method: str, baseline: str, metric: str = "wape") -> float | None:
        """metric(method) / metric(baseline) at ``level``."""
        table = self.metrics.set_index([LEVEL, "method"])[metric]
        a, b = table.get((level, method)), table.get((level, baseline))
        return None if a is None or b is None or not b else float(a / b)


def period_matrices(lines: UnitLines, hierarchy: Hierarchy, cutoff: pd.Timestamp, horizon_days: int) -> np.ndarray:
    """Units per bottom series in consecutive horizon-length periods, shape (periods, G * P).

    Row 0 is (cutoff, cutoff + horizon] (the actuals), row k >= 1 is the k-th period before
    the cut-off, (cutoff - k h, cutoff - (k - 1) h]; only whole periods are kept.
    """
    table = lines.table
    n_prod = len(hierarchy.products)
    seg = pd.Index(hierarchy.segments).get_indexer(table[s.SEGMENT_ID].to_numpy())
    prod = pd.Index(hierarchy.products).get_indexer(table[s.PRODUCT_ID].to_numpy())
    offset = ((cutoff - table[DAY]) / pd.Timedelta(days=1)).to_numpy()
    # offset -h..-1: the window after the cut-off (0); offset >= 0: the k-th period before; beyond: -1
    period = np.where(offset >= 0, offset // horizon_days + 1, np.where(offset >= -horizon_days, 0, -1))
    period = period.astype("int64")
    first = int(((cutoff - lines.first_day) / pd.Timedelta(days=1) + 1) // horizon_days)
    keep = (period >= 0) & (period <= first)
    out = np.zeros((first + 1, hierarchy.n_bottom))
    np.add.at(out, (period[keep], seg[keep] * n_prod + prod[keep]), table[UNITS].to_numpy(dtype="float64")[keep])
    return out


def backtest_demand(
    lines: UnitLines,
    model_name: str,
    *,
    horizon_days: int = 90,
    cutoff: str | pd.Timestamp | None = None,
    moving_average_periods: tuple[int, ...] = MOVING_AVERAGE_PERIODS,
    **options: object,
) -> BacktestResult:
    """Back-test of :func:`forecast_demand` at ``cutoff``; see the module docstring.

    ``options`` go to :func:`forecast_demand` (n_draws, seed, reconciliation, priors ...).
    """
    horizon_days = check_horizon(horizon_days)
    cutoff = lines.last_day - pd.Timedelta(days=horizon_days) if cutoff is None else pd.Timestamp(cutoff).normalize()
    before = int((cutoff - lines.first_day) / pd.Timedelta(days=1))
    check_horizon(horizon_days, before)
    forecast = forecast_demand(lines, model_name, horizon_days=horizon_days, as_of=cutoff, **options)
    hierarchy = forecast.hierarchy
    periods = period_matrices(lines, hierarchy, cutoff, horizon_days)
    nodes = np.stack([hierarchy.aggregate(row) for row in periods])  # (periods, nodes)
    actual, history = nodes[0], nodes[1:]
    levels = forecast.levels
    base = levels[BASE].to_numpy()
    methods = {
        SHOPSEG: levels[EXPECTED].to_numpy(),
        "shopseg_base": base,
        "shopseg_bottom_up": hierarchy.aggregate(base[hierarchy.level_slice(BOTTOM)]),
        "seasonal_naive": history[0],
    }
    for m in moving_average_periods:
        if len(history) >= m:
            methods[f"moving_average_{m}"] = history[:m].mean(axis=0)
    scale = naive_scale(history[::-1])
    rows, covered = [], {}
    for level in LEVELS:
        rows_of = hierarchy.level_slice(level)
        for method, values in methods.items():
            value, left_out = mase(values[rows_of], actual[rows_of], scale[rows_of])
            rows.append(
                {
                    LEVEL: level,
                    "method": method,
                    "wape": wape(values[rows_of], actual[rows_of]),
                    "mase": value,
                    "series": rows_of.stop - rows_of.start,
                    "mase_left_out": left_out,
                }
            )
        covered[level] = coverage(actual[rows_of], levels[LOW].to_numpy()[rows_of], levels[HIGH].to_numpy()[rows_of])
    metrics = pd.DataFrame(rows)
    report = {
        "cutoff": str(cutoff.date()),
        "horizon_days": horizon_days,
        "history_periods_before_cutoff": len(history),
        "actual_units": float(actual[0]),
        "forecast_units": float(methods[SHOPSEG][0]),
        "metrics": metrics.to_dict("records"),
        "coverage": covered,
        "segments_from": "the run (fitted on the whole history): membership is taken as known",
    }
    return BacktestResult(metrics=metrics, coverage=covered, report=report, forecast=forecast, actual=actual)
