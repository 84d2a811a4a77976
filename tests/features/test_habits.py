"""Time habits enter the clustering only when they repeat within customers (split-half reliability)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from shopseg import schema as s
from shopseg.features import build_features
from shopseg.features.behaviour import share_conditions
from shopseg.features.habits import habit_reliability, select_habits
from shopseg.generate import generate_shop
from shopseg.pipeline import Segmenter
from shopseg.shop import Shop

HOURS = [f"hour_share_{band}" for band in ("night", "morning", "afternoon", "evening")]


def orders_at(hours: np.ndarray, days: np.ndarray) -> pd.DataFrame:
    """One line per order: customers x orders hours and day offsets (2024-01-01 + day)."""
    customers, per_customer = hours.shape
    ts = pd.Timestamp("2024-01-01") + pd.to_timedelta(days.ravel(), unit="D") + pd.to_timedelta(hours.ravel(), unit="h")
    return pd.DataFrame(
        {
            s.CUSTOMER_ID: np.repeat([f"c{i:03d}" for i in range(customers)], per_customer),
            s.ORDER_ID: [f"o{i:05d}" for i in range(customers * per_customer)],
            s.TS: ts,
            s.AMOUNT: 10.0,
            s.IS_RETURN: False,
        }
    )


def test_a_habit_that_repeats_is_reliable_and_noise_is_not() -> None:
    rng = np.random.default_rng(0)
    customers, per_customer = 200, 6
    owl = np.arange(customers) < 40  # a fifth of the customers order at 1 am, the others at daytime hours
    hours = np.where(owl[:, None], 1, rng.choice([9, 13, 16, 20], size=(customers, per_customer)))
    days = rng.integers(0, 365, size=(customers, per_customer))  # weekdays at random: no weekend habit
    orders = orders_at(hours, days)
    conditions = share_conditions(hours=True)
    table = habit_reliability(orders, {c: conditions[c] for c in ["weekend_share", *HOURS]}).set_index("column")
    assert (table["customers"] == customers).all()
    assert table.loc["hour_share_night", "reliability"] > 0.9
    assert abs(table.loc["weekend_share", "reliability"]) < 0.2
    selection = select_habits(table.reset_index())
    assert "hour_share_night" in selection.kept and "weekend_share" in selection.dropped
    assert selection.as_dict()["columns"]["hour_share_night"]["kept"] is True


def test_the_rule_needs_a_clear_correlation_for_the_customers_measured() -> None:
    table = pd.DataFrame(
        {
            "column": ["a", "b", "c", "d"],
            "reliability": [0.3, 0.08, 0.3, np.nan],
            "customers": [5000, 5000, 50, 1],
        }
    )
    selection = select_habits(table)
    # a: clear; b: below 0.1; c: 0.3 < 3 / sqrt(50) = 0.42, could be chance; d: not measurable.
    assert selection.kept == ["a"] and selection.dropped == ["b", "c", "d"]
    assert selection.table.loc[2, "threshold"] == pytest.approx(3 / np.sqrt(50))
    assert "split-half reliability" in selection.rule


def generated_shop(n_customers: int, seed: int, noise_hours: bool) -> Shop:
    """A generated shop's order lines (typed as loaded); ``noise_hours``: every order's time of day
    shuffled across all orders, so nobody keeps an hour habit of their own (night owls included)."""
    orders = generate_shop(n_customers, seed=seed).orders.drop_duplicates().reset_index(drop=True)
    orders[s.IS_RETURN] = (orders[s.QUANTITY] < 0) | (orders[s.AMOUNT] < 0)
    if noise_hours:
        first = orders.groupby(s.ORDER_ID)[s.TS].transform("min")
        per_order = first.groupby(orders[s.ORDER_ID]).first()
        time_of_day = per_order - per_order.dt.normalize()
        shuffled = pd.Series(np.random.default_rng(seed).permutation(time_of_day.to_numpy()), index=per_order.index)
        new_start = per_order.dt.normalize() + shuffled
        orders[s.TS] = orders[s.TS] - first + orders[s.ORDER_ID].map(new_start)
    return Shop(orders=orders)


def test_noise_habits_get_zero_weight_and_a_planted_hour_habit_is_kept() -> None:
    planted = build_features(generated_shop(2000, seed=1, noise_hours=False))
    assert planted.habit_selection.kept == ["hour_share_night"]  # the night owls
    assert "hour_share_night" in planted.segmentation_columns
    assert "weekend_share" not in planted.segmentation_columns  # weekdays are uniform in the generator

    noise = generated_shop(2000, seed=1, noise_hours=True)
    features = build_features(noise)
    reliability = features.habit_selection.table.set_index("column")["reliability"]
    assert reliability.abs().max() < 0.1 and features.habit_selection.kept == []
    assert not any(c in features.segmentation_columns for c in ["weekend_share", *HOURS])
    assert all(c in features.frame for c in ["weekend_share", *HOURS])  # still described in profiles

    # In the fitted model: noise habits have no column in the clustered matrix (weight 0) ...
    options = {"k": 6, "value": False, "use_text": False, "stability_refits": 0, "map_method": None}
    model = Segmenter(**options).fit(noise)
    assert not any(c in model.scaler_.columns_ for c in ["weekend_share", *HOURS])
    # ... and customers placed later get the same columns, without a new test.
    assert model.predict(noise).shape == (len(features.frame),)
    with_owls = Segmenter(**options).fit(generated_shop(2000, seed=1, noise_hours=False))
    assert [c for c in with_owls.scaler_.columns_ if c.startswith(("hour_", "weekend"))] == ["hour_share_night"]
    # The saved model records the test: every candidate, its reliability and the decision.
    recorded = with_owls.to_dict()["habit_selection"]
    assert recorded["columns"]["hour_share_night"]["kept"] and not recorded["columns"]["weekend_share"]["kept"]
    assert "split-half reliability" in recorded["rule"]
