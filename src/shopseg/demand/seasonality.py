"""A shop-level seasonal index for the forecast window, from the same weeks of earlier years.

The transaction model and the calibration describe an average stretch of time; a window in
the shop's high season sells more. For each earlier year y whose data covers it, the units
sold in the same calendar window (as_of - 365 y, as_of - 365 y + horizon] are compared with
the average over the year centred on that window (which removes a linear trend):

    ratio_y = (units in the window / horizon) / (units in the centred year / 365)

The index is the geometric mean of the ratios. It is used only when it differs from 1 by more
than twice its standard error (from the day-to-day spread of the shop's units, treated as
independent days), so noise is not mistaken for a season; otherwise it is 1. Horizons of a
year or more cover every season: index 1. The calibration windows (a year of windows at a
90-day horizon) average over the seasons, which is what the index is relative to.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

YEAR_DAYS = 365
#: How many standard errors the index must be away from 1 to be used.
SIGNIFICANCE = 2.0


def seasonal_index(daily_units: pd.Series, as_of: pd.Timestamp, horizon_days: int) -> dict[str, object]:
    """{"index": float, "used": bool, "reason": str, ...}; ``daily_units``: units per day (index: days)."""
    if horizon_days >= YEAR_DAYS:
        return {"index": 1.0, "used": False, "reason": "the horizon covers a whole year (every season)"}
    if daily_units.empty:
        return {"index": 1.0, "used": False, "reason": "no units sold"}
    day = pd.Timedelta(days=1)
    series = daily_units.reindex(pd.date_range(daily_units.index.min(), as_of, freq="D"), fill_value=0.0)
    first = series.index[0]
    values, days = series.to_numpy(dtype="float64"), series.index
    ratios, variances, years = [], [], []
    for year in range(1, 20):
        start = as_of - year * YEAR_DAYS * day  # window: (start, start + horizon]
        middle = start + (horizon_days / 2) * day
        year_start, year_end = middle - (YEAR_DAYS / 2) * day, middle + (YEAR_DAYS / 2) * day
        if year_start < first:
            break
        if year_end > as_of:
            continue
        window = values[(days > start) & (days <= start + horizon_days * day)]
        around = values[(days > year_start) & (days <= year_end)]
        if window.sum() <= 0 or around.sum() <= 0:
            continue
        ratios.append(np.log((window.mean()) / around.mean()))
        # delta method: var(log mean) ~ var(day) / (n mean^2), days independent
        variances.append(
            window.var(ddof=1) / (len(window) * window.mean() ** 2)
            + around.var(ddof=1) / (len(around) * around.mean() ** 2)
        )
        years.append(int(start.year))
    if not ratios:
        return {
            "index": 1.0,
            "used": False,
            "reason": "no earlier year of history covers this window and the year around it",
        }
    log_index = float(np.mean(ratios))
    error = float(np.sqrt(np.sum(variances)) / len(ratios))
    facts = {"estimate": float(np.exp(log_index)), "log_standard_error": error, "years": years}
    if abs(log_index) <= SIGNIFICANCE * error:
        return {
            "index": 1.0,
            "used": False,
            "reason": "the window's earlier years do not differ from their years "
            f"by more than {SIGNIFICANCE:g} standard errors",
            **facts,
        }
    return {"index": float(np.exp(log_index)), "used": True, "reason": "same window of earlier years", **facts}
