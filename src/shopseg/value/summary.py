"""Per-customer calibration summaries for the buy-till-you-die models (BG/NBD, Gamma-Gamma).

The probabilistic models do not read order lines; they read one row per customer:

============== ===========================================================================
frequency      repeat purchase *days* in the calibration period (days with a purchase - 1)
recency        time from the first to the last purchase day (``time_unit_days`` units)
T              time from the first purchase day to the end of the calibration period
monetary_value mean spend of the repeat purchase days (the first day excluded; 0 if none)
first_purchase first purchase day (timestamp at midnight)
last_purchase  last purchase day in the calibration period
============== ===========================================================================

and, when a holdout period follows the calibration period:

================== ======================================================================
frequency_holdout  purchase days in the holdout period
spend_holdout      spend on purchases in the holdout period
duration_holdout   length of the holdout period (``time_unit_days`` units)
================== ======================================================================

Conventions (Fader & Hardie's, also the ``lifetimes`` package's): order lines are
aggregated per customer and calendar **day**, so several orders on one day count as one
purchase whose spend is their sum; returns (``is_return``) are excluded from purchases
and spend; ``calibration_end`` is a *day* and is inclusive (a purchase on that day belongs
to calibration, and ``T`` is measured to its midnight). On CDNOW_sample with
calibration_end = 1997-09-30 and weeks as the unit this reproduces the published
``cdnow_customers_summary.csv`` (T = 272 / 7 = 38.86 weeks for a 1997-01-01 buyer).

Identical order lines: the published CDNOW fits count two identical lines (same customer,
day, CDs and dollars; CDNOW has no order ids) as two purchases, i.e. one purchase day whose
spend is their sum. ``shopseg.load_shop`` drops exact duplicate lines (21 in CDNOW_sample);
that changes no purchase day, so frequency, recency, T and BG/NBD are unaffected, but it
lowers the mean repeat spend of 4 CDNOW_sample customers and moves Gamma-Gamma from the
published p = 6.25, gamma = 15.44 to 6.28, 15.35 (tests/value/test_cdnow_replication.py).

The holdout period is the days after ``calibration_end`` up to ``holdout_end`` (inclusive).
Customers whose first purchase falls in the holdout are not in the summary (the models
describe customers known at the end of calibration).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from shopseg import schema as s
from shopseg.errors import ConfigError, ShopsegError

DAY = pd.Timedelta(days=1)
DAY_COLUMN = "day"
SPEND_COLUMN = "spend"

SUMMARY_COLUMNS = ("frequency", "recency", "T", "monetary_value", "first_purchase", "last_purchase")
HOLDOUT_COLUMNS = ("frequency_holdout", "spend_holdout", "duration_holdout")


@dataclass(frozen=True)
class PeriodSplit:
    """Calibration and holdout days: calibration is every day <= ``calibration_end``.

    ``holdout_end`` is None when there is no holdout (the whole history is calibration).
    """

    calibration_end: pd.Timestamp
    holdout_end: pd.Timestamp | None = None

    @property
    def holdout_start(self) -> pd.Timestamp:
        """First day of the holdout period (midnight), also the moment calibration ends."""
        return self.calibration_end + DAY

    @property
    def holdout_days(self) -> int:
        """Number of days in the holdout period (0 when there is none)."""
        if self.holdout_end is None:
            return 0
        return int((self.holdout_end - self.calibration_end) / DAY)


def purchase_days(orders: pd.DataFrame) -> pd.DataFrame:
    """One row per customer and calendar day with at least one purchase line.

    ``orders`` are canonical order lines (customer_id, ts, amount, is_return). Returns a
    frame with columns customer_id, day (midnight timestamp) and spend (sum of the day's
    purchase amounts), sorted by customer and day. Return lines are left out; a day with
    only returns is not a purchase day. Missing amounts count as 0.
    """
    missing = [c for c in (s.CUSTOMER_ID, s.TS) if c not in orders.columns]
    if missing:
        raise ShopsegError(f"The orders table has no column '{missing[0]}'; value models need customer_id and ts.")
    purchases = orders
    if s.IS_RETURN in orders.columns:
        purchases = orders.loc[~orders[s.IS_RETURN].fillna(False).astype(bool)]
    amounts = purchases[s.AMOUNT] if s.AMOUNT in purchases.columns else pd.Series(0.0, index=purchases.index)
    lines = pd.DataFrame(
        {
            s.CUSTOMER_ID: purchases[s.CUSTOMER_ID].to_numpy(),
            DAY_COLUMN: pd.to_datetime(purchases[s.TS]).dt.normalize().to_numpy(),
            SPEND_COLUMN: pd.to_numeric(amounts, errors="coerce").fillna(0.0).to_numpy(dtype="float64"),
        }
    )
    lines = lines.loc[lines[DAY_COLUMN].notna()]
    days = lines.groupby([s.CUSTOMER_ID, DAY_COLUMN], sort=True, as_index=False)[SPEND_COLUMN].sum()
    return days.reset_index(drop=True)


def split_periods(
    days: pd.DataFrame,
    *,
    calibration_end: str | pd.Timestamp | None = None,
    holdout_start: str | pd.Timestamp | None = None,
    holdout_days: int | None = None,
) -> PeriodSplit:
    """Where calibration ends and the holdout ends, from the user's choice of split.

    * nothing given: calibration is the whole history (no holdout);
    * ``calibration_end`` or ``holdout_start`` (= calibration_end + 1 day): the holdout runs
      to the last purchase day, or for ``holdout_days`` days when that is given too;
    * ``holdout_days`` alone: the last ``holdout_days`` days of the history are the holdout.

    ``days`` is the output of :func:`purchase_days`.
    """
    if days.empty:
        raise ShopsegError("No purchases in the orders (every line is a return or has no date).")
    last_day = days[DAY_COLUMN].max()
    if calibration_end is not None and holdout_start is not None:
        raise ConfigError(
            "Give either calibration_end or holdout_start, not both (holdout_start = calibration_end + 1)."
        )
    if holdout_days is not None and holdout_days < 1:
        raise ConfigError(f"--holdout-days must be a positive number of days, got {holdout_days}.")
    if holdout_start is not None:
        calibration_end = pd.Timestamp(holdout_start).normalize() - DAY
    if calibration_end is not None:
        end = pd.Timestamp(calibration_end).normalize()
        holdout_end = end + holdout_days * DAY if holdout_days is not None else last_day
        return PeriodSplit(end, holdout_end if holdout_end > end else None)
    if holdout_days is not None:
        return PeriodSplit(last_day - holdout_days * DAY, last_day)
    return PeriodSplit(last_day, None)


def calibration_summary(
    orders: pd.DataFrame | None = None,
    *,
    days: pd.DataFrame | None = None,
    split: PeriodSplit | None = None,
    calibration_end: str | pd.Timestamp | None = None,
    holdout_start: str | pd.Timestamp | None = None,
    holdout_days: int | None = None,
    time_unit_days: float = 1.0,
) -> pd.DataFrame:
    """The per-customer summary described in the module docstring (index customer_id).

    Pass canonical ``orders`` (or their :func:`purchase_days` as ``days``, to reuse them)
    and either a ready ``split`` or the arguments of :func:`split_periods`.
    ``time_unit_days`` sets the unit of recency, T and duration_holdout (7 for weeks).
    Vectorised: one groupby over purchase days, no loop per customer.
    """
    if days is None:
        if orders is None:
            raise ValueError("calibration_summary needs orders or days")
        days = purchase_days(orders)
    if time_unit_days <= 0:
        raise ConfigError(f"time_unit_days must be positive, got {time_unit_days}.")
    if split is None:
        split = split_periods(
            days, calibration_end=calibration_end, holdout_start=holdout_start, holdout_days=holdout_days
        )
    unit = time_unit_days * DAY
    in_calibration = days[DAY_COLUMN] <= split.calibration_end
    calibration = days.loc[in_calibration]
    if calibration.empty:
        raise ShopsegError(
            f"No purchases on or before the end of the calibration period ({split.calibration_end.date()}); "
            "choose a later holdout start or fewer holdout days."
        )
    grouped = calibration.groupby(s.CUSTOMER_ID, sort=True)
    first = grouped[DAY_COLUMN].min()
    last = grouped[DAY_COLUMN].max()
    count = grouped.size()
    total_spend = grouped[SPEND_COLUMN].sum()
    first_spend = grouped[SPEND_COLUMN].first()  # days are sorted, so this is the first day's spend
    frequency = (count - 1).astype("int64")
    repeat_spend = total_spend - first_spend
    monetary = np.where(frequency > 0, repeat_spend / frequency.clip(lower=1), 0.0)
    summary = pd.DataFrame(
        {
            "frequency": frequency,
            "recency": (last - first) / unit,
            "T": (split.calibration_end - first) / unit,
            "monetary_value": monetary,
            "first_purchase": first,
            "last_purchase": last,
        }
    )
    summary.index.name = s.CUSTOMER_ID
    if split.holdout_end is not None:
        holdout = days.loc[~in_calibration & (days[DAY_COLUMN] <= split.holdout_end)]
        holdout = holdout.loc[holdout[s.CUSTOMER_ID].isin(summary.index)]
        per_customer = holdout.groupby(s.CUSTOMER_ID, sort=True)[SPEND_COLUMN].agg(["size", "sum"])
        summary["frequency_holdout"] = per_customer["size"].reindex(summary.index, fill_value=0).astype("int64")
        summary["spend_holdout"] = per_customer["sum"].reindex(summary.index, fill_value=0.0).astype("float64")
        summary["duration_holdout"] = (split.holdout_end - split.calibration_end) / unit
    return summary
