"""Data for the value plots: cumulative repeat purchases tracked over time, and frequency x recency grids.

* :func:`tracking_curve` -- week by week, the shop's cumulative repeat purchases (actual)
  against what the calibration fit expects (Fader, Hardie & Lee 2005, Fig. 2): each
  customer contributes E[X(t - first purchase)] from their first purchase on; customers are
  grouped by first purchase day, so the work is (first days x weeks), not customers.
  The calibration end is marked: to its left the model describes what it was fitted on, to
  its right it predicts.
* :func:`frequency_recency_grid` -- expected orders over the horizon and P(alive) for every
  (repeat purchases, last purchase) combination of a customer as old as the shop's oldest,
  the matrix ``lifetimes`` plots.

Both return plain JSON-ready dicts (lists), for value.json and the report.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from shopseg import schema as s
from shopseg.value.summary import DAY_COLUMN, PeriodSplit
from shopseg.value.transaction import TransactionModel

WEEK = pd.Timedelta(days=7)


def tracking_curve(days: pd.DataFrame, split: PeriodSplit, model: TransactionModel) -> dict[str, object]:
    """Weekly cumulative repeat purchase days, actual and expected, of customers known at calibration end.

    ``days``: purchase days (days after ``split.holdout_end`` are ignored); ``model`` fitted in days.
    """
    end = split.holdout_end if split.holdout_end is not None else split.calibration_end
    known = days.loc[days[DAY_COLUMN] <= split.calibration_end, s.CUSTOMER_ID].unique()
    in_scope = days.loc[days[s.CUSTOMER_ID].isin(known) & (days[DAY_COLUMN] <= end)]
    first = in_scope.groupby(s.CUSTOMER_ID)[DAY_COLUMN].min()
    start = first.min()
    weeks = int(np.ceil(((end - start) / pd.Timedelta(days=1) + 1) / 7))
    week_ends = pd.DatetimeIndex([min(start + WEEK * (i + 1) - pd.Timedelta(days=1), end) for i in range(weeks)])
    repeat = in_scope.loc[in_scope[DAY_COLUMN] > in_scope[s.CUSTOMER_ID].map(first)]
    repeat_days = np.sort(repeat[DAY_COLUMN].to_numpy())
    actual = np.searchsorted(repeat_days, week_ends.to_numpy(), side="right")
    cohorts = first.value_counts()
    elapsed = (week_ends.to_numpy()[:, None] - cohorts.index.to_numpy()[None, :]) / np.timedelta64(1, "D")
    expected = model.expected_purchases(np.clip(elapsed, 0.0, None)) @ cohorts.to_numpy(dtype="float64")
    return {
        "week_ends": [d.date().isoformat() for d in week_ends],
        "actual": [int(v) for v in actual],
        "expected": [float(v) for v in expected],
        "calibration_end": split.calibration_end.date().isoformat(),
        "customers": len(first),
    }


def frequency_recency_grid(
    model: TransactionModel, max_T: float, horizon_days: float, *, max_frequency: int = 30, recency_steps: int = 20
) -> dict[str, object]:
    """Expected orders in ``horizon_days`` and P(alive) for x = 0..max_frequency, t_x over [0, max_T] (days)."""
    frequency = np.arange(0, max_frequency + 1, dtype="float64")
    recency = np.linspace(0.0, max_T, recency_steps + 1)
    x, t_x = np.meshgrid(frequency, recency, indexing="ij")
    t_x = np.where(x == 0, 0.0, t_x)  # a one-time buyer's recency is 0 by definition
    age = np.full_like(x, max_T)
    return {
        "T_days": float(max_T),
        "horizon_days": float(horizon_days),
        "frequency": [int(v) for v in frequency],
        "recency_days": [float(v) for v in recency],
        "expected_orders": model.conditional_expected_purchases(horizon_days, x, t_x, age).round(6).tolist(),
        "p_alive": model.p_alive(x, t_x, age).round(6).tolist(),
    }
