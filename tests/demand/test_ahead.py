"""Units per purchase day ahead: measured on what customers bought in the windows after earlier days."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from tests.demand.conftest import PRODUCTS

from shopseg.demand import Membership, forecast_demand
from shopseg.demand.ahead import NEWCOMER, ahead_lines, window_baskets
from shopseg.demand.lines import unit_lines
from shopseg.demand.shares import history_per_day

HORIZON = 60


@pytest.fixture(scope="module")
def small_first_orders(shop):
    """The steady shop where every first purchase is one unit and every later line three."""
    orders, labels = shop
    orders = orders.sort_values(["customer_id", "ts"]).reset_index(drop=True)
    first = ~orders.duplicated("customer_id")
    return unit_lines(orders.assign(quantity=np.where(first, 1, 3)), labels, PRODUCTS)


def test_known_customers_buy_their_repeat_baskets_and_newcomers_their_first_ones(small_first_orders) -> None:
    lines = small_first_orders
    as_of = lines.last_day - pd.Timedelta(days=HORIZON)
    labels = lines.table.drop_duplicates("customer_id").set_index("customer_id")["segment_id"]
    membership = Membership.fixed(labels, "the planted segments")
    history = lines.until(as_of)
    ahead, ends = ahead_lines(history, as_of, pd.Timedelta(days=HORIZON), 4, membership)
    assert len(ends) == 4 and ends[0] == as_of
    assert ahead["day"].min() > ends[-1] - pd.Timedelta(days=HORIZON) and ahead["day"].max() <= as_of
    segments = np.array([0, 1])
    past, _ = history_per_day(history, segments)
    baskets = window_baskets(ahead, segments, past)
    # a known customer's purchase day in a later window is a repeat: 3 units a line (a few days hold two lines)
    assert ((baskets.known >= 3.0) & (baskets.known < 3.4)).all()
    assert (baskets.newcomers < baskets.known).all() and (baskets.newcomers > 1.0).all()
    assert (past < baskets.known).all()  # the history mixes first and repeat purchases
    assert ahead[NEWCOMER].any() and not ahead[NEWCOMER].all()


def test_the_forecast_multiplies_purchase_days_by_the_baskets_ahead(small_first_orders) -> None:
    lines = small_first_orders
    result = forecast_demand(lines, "bgnbd", horizon_days=HORIZON, n_draws=0, candidates=None)
    measured = result.report["units_per_purchase_day_measured"]["by_segment"]
    days = result.report["purchase_days"]["expected_purchase_days"]
    for segment, per_day in result.report["units_per_purchase_day"].items():
        known, new = days[segment]["calibrated"], days[segment]["newcomers"]
        blended = (known * measured[segment]["known_customers"] + new * measured[segment]["newcomers"]) / (known + new)
        assert per_day == pytest.approx(blended)
        assert per_day > measured[segment]["history"]
