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

Segments are honest in time (:class:`~shopseg.demand.membership.Membership`): every series
is a segment's customers *as of the cut-off* -- the forecast's, the baselines' history
windows and the actuals alike -- and a customer first seen after the cut-off counts in their
segment as of the test window's end; the calibration windows before the cut-off each use the
segments as of their own start. The run's final segments would tell the cut-off who goes on
buying after it. statsforecast itself is not used:
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
from shopseg.demand.level import CALIBRATION_WINDOWS, membership_days
from shopseg.demand.lines import DAY, UNITS, UnitLines
from shopseg.demand.membership import Membership, lines_membership, segment_universe
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


def backtest_segments(
    table: pd.DataFrame, first_seen: pd.Series, membership: Membership, cutoff: pd.Timestamp, end: pd.Timestamp
) -> np.ndarray:
    """Segment id of every line of ``table`` for scoring.

    As of ``cutoff`` for customers seen by then (``first_seen``: each customer's first purchase
    day), as of ``end`` (the test window's end) for customers first seen after the cut-off.
    """
    customers = table[s.CUSTOMER_ID].to_numpy()
    new = (table[s.CUSTOMER_ID].map(first_seen) > cutoff).to_numpy()
    segment = np.empty(len(table), dtype="int64")
    segment[~new] = membership.segment_of(customers[~new], cutoff)
    segment[new] = membership.segment_of(customers[new], end) if new.any() else segment[new]
    return segment


def period_matrices(
    lines: UnitLines,
    hierarchy: Hierarchy,
    cutoff: pd.Timestamp,
    horizon_days: int,
    membership: Membership | None = None,
) -> np.ndarray:
    """Units per bottom series in consecutive horizon-length periods, shape (periods, G * P).

    Row 0 is (cutoff, cutoff + horizon] (the actuals), row k >= 1 is the k-th period before
    the cut-off, (cutoff - k h, cutoff - (k - 1) h]; only whole periods are kept. Segments:
    :func:`backtest_segments` (``membership`` None: the segment on the lines).
    """
    table = lines.table
    end = cutoff + pd.Timedelta(days=horizon_days)
    first_seen = table.groupby(s.CUSTOMER_ID, sort=False)[DAY].min()
    offset = ((cutoff - table[DAY]) / pd.Timedelta(days=1)).to_numpy()
    # offset -h..-1: the window after the cut-off (0); offset >= 0: the k-th period before; beyond: -1
    period = np.where(offset >= 0, offset // horizon_days + 1, np.where(offset >= -horizon_days, 0, -1))
    period = period.astype("int64")
    first = int(((cutoff - lines.first_day) / pd.Timedelta(days=1) + 1) // horizon_days)
    keep = (period >= 0) & (period <= first)
    table, period = table.loc[keep], period[keep]
    membership = membership if membership is not None else lines_membership(table, "the segments on the order lines")
    n_prod = len(hierarchy.products)
    seg = pd.Index(hierarchy.segments).get_indexer(backtest_segments(table, first_seen, membership, cutoff, end))
    prod = pd.Index(hierarchy.products).get_indexer(table[s.PRODUCT_ID].to_numpy())
    if (seg < 0).any() or (prod < 0).any():
        raise ValueError("period_matrices: a line's segment or product is not in the hierarchy")
    out = np.zeros((first + 1, hierarchy.n_bottom))
    np.add.at(out, (period, seg * n_prod + prod), table[UNITS].to_numpy(dtype="float64"))
    return out


def backtest_demand(
    lines: UnitLines,
    model_name: str,
    *,
    horizon_days: int = 90,
    cutoff: str | pd.Timestamp | None = None,
    moving_average_periods: tuple[int, ...] = MOVING_AVERAGE_PERIODS,
    membership: Membership | None = None,
    **options: object,
) -> BacktestResult:
    """Back-test of :func:`forecast_demand` at ``cutoff``; see the module docstring.

    ``membership``: each customer's segment as of a day (None: the segment on the lines, the
    same every day). ``options`` go to :func:`forecast_demand` (n_draws, seed,
    reconciliation, priors, windows ...).
    """
    horizon_days = check_horizon(horizon_days)
    cutoff = lines.last_day - pd.Timedelta(days=horizon_days) if cutoff is None else pd.Timestamp(cutoff).normalize()
    before = int((cutoff - lines.first_day) / pd.Timedelta(days=1))
    check_horizon(horizon_days, before)
    if membership is None:
        membership = lines_membership(lines.table, "the segments on the order lines")
    step = pd.Timedelta(days=horizon_days)
    end = cutoff + step
    days = membership_days(lines.first_day, cutoff, step, int(options.get("windows", CALIBRATION_WINDOWS)))
    segments = np.union1d(
        segment_universe(lines.until(cutoff), membership, days),
        segment_universe(lines.until(end), membership, [end]),
    )
    forecast = forecast_demand(
        lines, model_name, horizon_days=horizon_days, as_of=cutoff, membership=membership, segments=segments, **options
    )
    hierarchy = forecast.hierarchy
    periods = period_matrices(lines, hierarchy, cutoff, horizon_days, membership)
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
        "segments_from": {
            "cutoff": membership.describe(cutoff),
            "customers_first_seen_after_the_cutoff": membership.describe(end),
            "calibration_windows": forecast.report["purchase_days"]["calibration"]["segments"],
            "rule": "every series is its segment's customers as of the cut-off (forecast, baselines and actuals "
            "alike); customers first seen in the test window count in their segment as of its end; each "
            "calibration window uses the segments as of its own start",
        },
    }
    return BacktestResult(metrics=metrics, coverage=covered, report=report, forecast=forecast, actual=actual)
