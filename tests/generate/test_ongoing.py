"""The ongoing shop: overlapping cohorts, level demand, two years kept, deterministic."""

from __future__ import annotations

import numpy as np
import pandas as pd

from shopseg.generate import generate_shop
from shopseg.generate.ongoing import generate_ongoing_shop


def test_demand_stays_level_and_only_the_kept_two_years_are_in_the_tables() -> None:
    shop = generate_ongoing_shop(6000, seed=1)
    ts = pd.to_datetime(shop.orders["ts"])
    assert ts.min() >= pd.Timestamp("2022-07-01") and ts.max() < pd.Timestamp("2024-06-30")
    assert pd.to_datetime(shop.events["ts"]).max() < pd.Timestamp("2024-06-30")
    assert pd.to_datetime(shop.reviews["ts"]).max() < pd.Timestamp("2024-06-30")
    buyers = set(shop.orders.loc[shop.orders["quantity"] > 0, "customer_id"])
    assert set(shop.customers["customer_id"]) == buyers == set(shop.truth["customer_id"])
    assert 0.5 < len(buyers) / 6000 < 0.66
    bought = shop.orders.loc[shop.orders["quantity"] > 0]
    quarter = ((pd.Timestamp("2024-06-30") - pd.to_datetime(bought["ts"])).dt.days // 90).clip(upper=7)
    units = bought.groupby(quarter)["quantity"].sum().to_numpy()[:8]
    assert units.max() / units.min() < 1.2  # level, unlike generate_shop's single cohort
    single = generate_shop(6000, seed=1).orders
    single = single.loc[single["quantity"] > 0]
    single_quarter = (pd.Timestamp("2024-06-30") - pd.to_datetime(single["ts"])).dt.days // 90
    single_units = single.groupby(single_quarter)["quantity"].sum()
    assert single_units[0] < 0.9 * single_units[1]  # the default shop winds down in its last 90 days


def test_same_seed_same_shop_and_every_planted_segment_is_there() -> None:
    first, second = generate_ongoing_shop(1500, seed=4), generate_ongoing_shop(1500, seed=4)
    pd.testing.assert_frame_equal(first.orders, second.orders)
    pd.testing.assert_frame_equal(first.truth, second.truth)
    assert first.truth["segment"].nunique() == 8
    assert not np.array_equal(
        first.orders["product_id"].head(50), generate_ongoing_shop(1500, seed=5).orders["product_id"].head(50)
    )
