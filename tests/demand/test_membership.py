"""Segments honest in time: every window demand reads puts customers in their segment as of its start.

The placer here is a stand-in for the run's model that reads only the rows up to the day it
is asked about: "active" (1) when the customer bought in the 45 days before, else "lapsed"
(0) -- the kind of segment whose final labels know the future (a customer lapsed at the end
was often still buying in an earlier window).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from tests.demand.conftest import PRODUCTS

from shopseg.demand import Membership, backtest_demand, forecast_demand
from shopseg.demand.level import membership_days, purchase_day_table, segment_orders
from shopseg.demand.lines import unit_lines
from shopseg.errors import ShopsegError

HORIZON = 60
ACTIVE_DAYS = 45


class RecencyPlacer:
    """Segment as of the end of a day from the rows up to it; records the days it was asked about."""

    def __init__(self, orders: pd.DataFrame) -> None:
        self.orders = orders.assign(day=pd.to_datetime(orders["ts"]).dt.normalize())
        self.days: list[pd.Timestamp] = []

    def __call__(self, day: pd.Timestamp) -> pd.Series:
        self.days.append(pd.Timestamp(day))
        last = self.orders.loc[self.orders["day"] <= day].groupby("customer_id")["day"].max()
        return ((day - last).dt.days <= ACTIVE_DAYS).astype("int64")


def placed(orders: pd.DataFrame) -> tuple[Membership, RecencyPlacer, pd.Series]:
    """A membership on the recency placer; the final labels are its placement as of the last day."""
    placer = RecencyPlacer(orders)
    last_day = placer.orders["day"].max()
    final = placer(last_day)
    placer.days.clear()
    return Membership(final, last_day, placer), placer, final


@pytest.fixture(scope="module")
def setting(shop):
    orders, _ = shop
    membership, placer, final = placed(orders)
    return orders, membership, placer, final, unit_lines(orders, final, PRODUCTS)


def test_the_final_labels_differ_from_earlier_placements(setting) -> None:
    """The premise: customers change segment over time, so the final labels leak (else nothing here can fail)."""
    _, membership, _, final, lines = setting
    cutoff = lines.last_day - pd.Timedelta(days=HORIZON)
    earlier = membership.at(cutoff)
    changed = (earlier != final.reindex(earlier.index)).mean()
    assert changed > 0.1


def test_each_calibration_window_groups_its_customers_by_their_segment_as_of_its_start(setting) -> None:
    _, membership, placer, _, lines = setting
    as_of = lines.last_day - pd.Timedelta(days=HORIZON)
    segments = np.array([0, 1])
    orders = segment_orders(
        lines, segments, "bgnbd", as_of=as_of, horizon_days=HORIZON, n_draws=0, membership=membership
    )
    calibration = orders.report["calibration"]
    assert len(calibration["windows"]) >= 2
    days = purchase_day_table(lines.until(as_of))
    first_seen = days.groupby("customer_id")["day"].min()
    expected = np.zeros(2)
    for window in calibration["windows"]:
        start = pd.Timestamp(window)
        assert calibration["segments"][window] == f"placed on the run's model as of {window}"
        inside = days.loc[(days["day"] > start) & (days["day"] <= start + pd.Timedelta(days=HORIZON))]
        known = inside.loc[inside["customer_id"].map(first_seen) <= start, "customer_id"]
        segment = known.map(placer(start))  # the placement as of the window's start, not the final label
        expected += np.bincount(segment.to_numpy(), minlength=2)
    actual = [calibration["by_segment"][str(g)]["actual"] for g in segments]
    assert actual == pytest.approx(expected)
    assert orders.report["known_customers_segments"] == f"placed on the run's model as of {as_of.date()}"
    for window, said in orders.report["newcomers_segments"].items():
        assert said == f"placed on the run's model as of {window.split(' to ')[1]}"


def test_a_forecast_asks_for_no_segment_after_its_day(setting) -> None:
    _, membership, placer, _, lines = setting
    as_of = lines.last_day - pd.Timedelta(days=HORIZON)
    placer.days.clear()
    options = {"horizon_days": HORIZON, "as_of": as_of, "n_draws": 0, "candidates": None}
    forecast_demand(lines, "bgnbd", membership=membership, **options)
    step = pd.Timedelta(days=HORIZON)
    asked = set(membership_days(lines.first_day, as_of, step, 4))
    assert set(placer.days) <= asked and max(asked) == as_of  # cached days are not asked again
    assert all(day <= as_of for day in placer.days)


def test_the_forecast_does_not_change_when_only_the_future_does(setting) -> None:
    """Who lapses after the day changes the final labels; with honest membership the forecast stays the same."""
    orders, _, _, final, lines = setting
    as_of = lines.last_day - pd.Timedelta(days=HORIZON)
    later = (pd.to_datetime(orders["ts"]).dt.normalize() > as_of).to_numpy()
    quitters = orders.loc[later, "customer_id"].drop_duplicates().iloc[::2]
    altered = orders.copy()  # half of the customers who buy later stop: a newcomer buys their lines instead
    moved = later & altered["customer_id"].isin(quitters).to_numpy()
    altered.loc[moved, "customer_id"] = "LATECOMER"
    membership_after, _, final_after = placed(altered)
    assert (final_after.reindex(final.index) != final).any()
    options = {"horizon_days": HORIZON, "as_of": as_of, "n_draws": 2, "candidates": None}
    honest = forecast_demand(lines, "bgnbd", membership=placed(orders)[0], **options)
    honest_after = forecast_demand(
        unit_lines(altered, final_after, PRODUCTS), "bgnbd", membership=membership_after, **options
    )
    pd.testing.assert_frame_equal(honest.table, honest_after.table)
    leaky = forecast_demand(lines, "bgnbd", **options)  # the final labels on the lines, every window
    leaky_after = forecast_demand(unit_lines(altered, final_after, PRODUCTS), "bgnbd", **options)
    assert not np.allclose(leaky.table["expected_units"], leaky_after.table["expected_units"])


def test_the_backtest_scores_each_segment_with_its_customers_as_of_the_cutoff(setting) -> None:
    _, membership, placer, final, lines = setting
    result = backtest_demand(lines, "bgnbd", horizon_days=HORIZON, n_draws=0, candidates=None, membership=membership)
    cutoff = pd.Timestamp(result.report["cutoff"])
    end = cutoff + pd.Timedelta(days=HORIZON)
    window = lines.window(cutoff, end)
    first_seen = lines.table.groupby("customer_id")["day"].min()
    new = window["customer_id"].map(first_seen) > cutoff
    segment = window["customer_id"].map(placer(cutoff)).where(~new, window["customer_id"].map(final))
    expected = window.groupby(segment.to_numpy())["units"].sum()
    nodes = result.forecast.levels
    rows = (nodes["level"] == "segment").to_numpy()
    actual = pd.Series(result.actual[rows], index=nodes.loc[rows, "segment_id"].astype(int).to_numpy())
    pd.testing.assert_series_equal(actual, expected.reindex(actual.index, fill_value=0.0), check_names=False)
    leaky = window.groupby(window["customer_id"].map(final).to_numpy())["units"].sum()
    assert not np.allclose(leaky.reindex(actual.index, fill_value=0.0), actual)
    said = result.report["segments_from"]
    assert said["cutoff"] == f"placed on the run's model as of {cutoff.date()}"
    assert said["customers_first_seen_after_the_cutoff"].startswith("the run's segments (as of")
    assert all(v.startswith("placed on the run's model as of") for v in said["calibration_windows"].values())


def test_the_labels_day_uses_the_labels_and_other_days_are_placed_once() -> None:
    asked = []

    def placer(day: pd.Timestamp) -> pd.Series:
        asked.append(day)
        return pd.Series({"a": 1})

    labels = pd.Series({"a": 0, "b": 2})
    membership = Membership(labels, pd.Timestamp("2024-06-30"), placer)
    assert list(membership.segment_of(["a", "b"], pd.Timestamp("2024-06-30"))) == [0, 2]
    assert asked == []
    day = pd.Timestamp("2024-03-31")
    assert list(membership.segment_of(["a", "b"], day)) == [1, 2]  # b was not placed: keeps the run's label
    membership.segment_of(["a"], day)
    assert asked == [day]
    assert membership.unplaced == {"2024-03-31": 1}
    assert membership.describe(day) == "placed on the run's model as of 2024-03-31"


def test_a_model_that_cannot_place_falls_back_to_the_labels_and_says_why() -> None:
    def broken(day: pd.Timestamp) -> pd.Series:
        raise ShopsegError("the text model 'x' is not installed")

    membership = Membership(pd.Series({"a": 0}), pd.Timestamp("2024-06-30"), broken)
    assert list(membership.segment_of(["a"], pd.Timestamp("2024-01-01"))) == [0]
    assert not membership.placing
    assert "not installed" in membership.describe(pd.Timestamp("2024-01-01"))
    assert membership.report()["placed_on_model"] is False


def test_a_run_folder_without_a_model_uses_its_labels_and_says_so(tmp_path: Path) -> None:
    from shopseg.demand_run import run_membership

    labels = pd.DataFrame({"customer_id": ["a", "b"], "segment_id": [0, 1]})
    membership = run_membership(tmp_path, labels, pd.Timestamp("2024-06-30"))
    assert not membership.placing
    assert "no saved model" in membership.describe(pd.Timestamp("2024-01-01"))
