"""Calibration summaries computed by hand on tiny order tables."""

from __future__ import annotations

import pandas as pd
import pytest

from shopseg import schema as s
from shopseg.errors import ConfigError, ShopsegError
from shopseg.value.summary import calibration_summary, purchase_days, split_periods


def orders(rows: list[tuple]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=[s.CUSTOMER_ID, s.ORDER_ID, s.TS, s.AMOUNT])
    frame[s.TS] = pd.to_datetime(frame[s.TS])
    frame[s.IS_RETURN] = frame[s.AMOUNT] < 0
    return frame


ORDERS = orders(
    [
        ("a", "o1", "2024-01-01 09:00", 10.0),
        ("a", "o2", "2024-01-01 18:00", 5.0),  # same day as o1: one purchase of 15
        ("a", "o3", "2024-01-15 10:00", 30.0),
        ("a", "r1", "2024-01-16 10:00", -30.0),  # a return: not a purchase day
        ("a", "o4", "2024-01-29 10:00", 50.0),
        ("a", "o5", "2024-02-10 10:00", 20.0),  # holdout
        ("a", "o6", "2024-02-12 10:00", 25.0),  # holdout
        ("b", "o7", "2024-01-22 12:00", 40.0),
        ("c", "o8", "2024-02-05 12:00", 99.0),  # first purchase in the holdout: not in the summary
    ]
)


def test_purchase_days_sum_a_day_and_skip_returns() -> None:
    days = purchase_days(ORDERS)
    a = days[days[s.CUSTOMER_ID] == "a"]
    assert list(a["day"].dt.strftime("%m-%d")) == ["01-01", "01-15", "01-29", "02-10", "02-12"]
    assert list(a["spend"]) == [15.0, 30.0, 50.0, 20.0, 25.0]


def test_summary_with_holdout_by_date_in_days_and_weeks() -> None:
    summary = calibration_summary(ORDERS, holdout_start="2024-02-01")
    a, b = summary.loc["a"], summary.loc["b"]
    assert list(summary.index) == ["a", "b"]
    assert a["frequency"] == 2  # repeat purchase days 01-15 and 01-29
    assert a["recency"] == 28.0 and a["T"] == 30.0  # T to the calibration end 01-31
    assert a["monetary_value"] == pytest.approx((30 + 50) / 2)  # the first day is left out
    assert a["frequency_holdout"] == 2 and a["spend_holdout"] == 45.0
    assert b["frequency"] == 0 and b["recency"] == 0 and b["T"] == 9.0 and b["monetary_value"] == 0
    assert b["frequency_holdout"] == 0 and b["spend_holdout"] == 0
    assert summary["duration_holdout"].iloc[0] == 12.0  # 02-01 .. 02-12 (last purchase day)
    weeks = calibration_summary(ORDERS, holdout_start="2024-02-01", time_unit_days=7)
    assert weeks.loc["a", "T"] == pytest.approx(30 / 7)
    assert weeks.loc["a", "recency"] == pytest.approx(4.0)


def test_split_choices_agree() -> None:
    days = purchase_days(ORDERS)
    by_start = split_periods(days, holdout_start="2024-02-01")
    by_end = split_periods(days, calibration_end="2024-01-31")
    by_days = split_periods(days, holdout_days=12)
    assert by_start == by_end == by_days
    assert by_start.holdout_days == 12 and by_start.holdout_start == pd.Timestamp("2024-02-01")
    whole = split_periods(days)
    assert whole.calibration_end == pd.Timestamp("2024-02-12") and whole.holdout_end is None
    assert "frequency_holdout" not in calibration_summary(days=days, split=whole)
    limited = split_periods(days, holdout_start="2024-02-01", holdout_days=10)
    assert limited.holdout_end == pd.Timestamp("2024-02-10")


def test_bad_splits_are_clear_errors() -> None:
    with pytest.raises(ShopsegError, match="calibration period"):
        calibration_summary(ORDERS, holdout_start="2023-06-01")
    with pytest.raises(ConfigError, match="holdout-days"):
        calibration_summary(ORDERS, holdout_days=0)
    with pytest.raises(ShopsegError, match="No purchases"):
        calibration_summary(ORDERS[ORDERS[s.IS_RETURN]])
