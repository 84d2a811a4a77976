"""Carts per view are shrunk towards the shop's rate: one view is weak evidence."""

from __future__ import annotations

import pandas as pd
import pytest

from shopseg import schema as s
from shopseg.features import build_features
from shopseg.features.engagement import CART_PRIOR_VIEWS, engagement_priors, event_features
from shopseg.shop import Shop


def test_cart_to_view_is_shrunk_towards_the_shops_rate() -> None:
    events = pd.DataFrame(
        {
            s.CUSTOMER_ID: ["a", "a", "b"] + ["c"] * 20,
            s.EVENT_TYPE: ["view", "cart", "search"] + ["view"] * 10 + ["cart"] * 10,
        }
    )
    rate = engagement_priors(events)["cart_to_view"]
    assert rate == pytest.approx(11 / 11)
    features = event_features(events, cart_rate=0.25)
    # a: 1 cart in 1 view, b: no view, c: 10 carts in 10 views; 5 pseudo-views at 0.25 each.
    assert features.loc["a", "cart_to_view"] == pytest.approx((1 + CART_PRIOR_VIEWS * 0.25) / (1 + CART_PRIOR_VIEWS))
    assert features.loc["b", "cart_to_view"] == pytest.approx(0.25)
    assert features.loc["c", "cart_to_view"] == pytest.approx((10 + 1.25) / 15)
    assert event_features(events).loc["a", "cart_to_view"] == 1.0  # without a rate: the raw ratio (old models)


def test_build_features_saves_the_rate_and_gives_non_browsers_the_shops_rate() -> None:
    orders = pd.DataFrame(
        {
            s.CUSTOMER_ID: ["a", "b"],
            s.ORDER_ID: ["o1", "o2"],
            s.TS: pd.to_datetime(["2024-01-02 10:00", "2024-01-03 11:00"]),
            s.AMOUNT: [10.0, 20.0],
            s.IS_RETURN: [False, False],
        }
    )
    events = pd.DataFrame({s.CUSTOMER_ID: ["a"] * 4, s.EVENT_TYPE: ["view", "view", "view", "cart"]})
    features = build_features(Shop(orders=orders, events=events))
    assert features.priors["cart_to_view"] == pytest.approx(1 / 3)
    assert features.frame.loc["b", "cart_to_view"] == pytest.approx(1 / 3)
    assert features.frame.loc["a", "cart_to_view"] == pytest.approx((1 + CART_PRIOR_VIEWS / 3) / (3 + CART_PRIOR_VIEWS))
