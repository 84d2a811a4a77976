"""The real-time features equal build_features, customer by customer, with and without an activity window."""

from __future__ import annotations

import numpy as np
import pytest

from shopseg import schema as s
from shopseg.features import build_features
from shopseg.features.categories import _column_name
from shopseg.features.window import as_of_reference
from shopseg.generate import generate_shop, write_shop
from shopseg.ingest import load_shop
from shopseg.live.features import Activity, customer_features
from shopseg.live.history import activity_rows, group_slices, order_rows
from shopseg.shop import Shop


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Shop:
    paths = write_shop(generate_shop(250, seed=11), tmp_path_factory.mktemp("live"))
    return load_shop(**{t: paths[t] for t in ("orders", "products", "reviews", "events")})


def per_customer(shop: Shop):
    """Each customer's Lines and Activity, built as the live model builds them."""
    categories = shop.products.set_index(s.PRODUCT_ID)[s.CATEGORY].map(_column_name).to_dict()
    nothing = lambda values: np.full(len(values), -1)  # noqa: E731
    shape = Activity(*(np.zeros(0),) * 5, has_sessions=True, has_ratings=True)
    orders = shop.orders.sort_values([s.CUSTOMER_ID, s.TS], kind="stable").reset_index(drop=True)
    reviews = shop.reviews.sort_values([s.CUSTOMER_ID, s.TS], kind="stable").reset_index(drop=True)
    events = shop.events.sort_values([s.CUSTOMER_ID, s.TS], kind="stable").reset_index(drop=True)
    rows = order_rows(orders, lambda p: np.array([categories.get(x) for x in p], dtype=object), nothing)
    review_rows = activity_rows(reviews, None, nothing, nothing, nothing, shape).activity
    event_rows = activity_rows(None, events, nothing, nothing, nothing, shape).activity
    order_slices, review_slices = group_slices(orders[s.CUSTOMER_ID]), group_slices(reviews[s.CUSTOMER_ID])
    event_slices = group_slices(events[s.CUSTOMER_ID])
    for customer, (start, stop) in order_slices.items():
        r0, r1 = review_slices.get(customer, (0, 0))
        e0, e1 = event_slices.get(customer, (0, 0))
        activity = Activity(
            review_seconds=review_rows.review_seconds[r0:r1],
            ratings=review_rows.ratings[r0:r1],
            event_seconds=event_rows.event_seconds[e0:e1],
            event_kinds=event_rows.event_kinds[e0:e1],
            sessions=event_rows.sessions[e0:e1],
        )
        yield customer, rows.lines.take(slice(start, stop)), activity


@pytest.mark.parametrize("window", [None, 365.0, 60.0])
def test_live_features_equal_build_features_for_every_customer(shop: Shop, window: float | None) -> None:
    reference = as_of_reference("2024-07-05")
    expected = build_features(shop, reference, window_days=window)
    priors = expected.priors
    frame = expected.frame
    checked = 0
    for customer, lines, activity in per_customer(shop):
        features, _ = customer_features(
            lines, activity, reference=reference.timestamp(), priors=priors, window_days=window
        )
        row = frame.loc[customer]
        for column in frame.columns:
            assert features.get(column, 0.0) == pytest.approx(row[column], rel=1e-9, abs=1e-9), (customer, column)
        checked += 1
    assert checked == len(frame)


def test_live_features_equal_build_features_on_a_shop_of_one_customer(shop: Shop) -> None:
    """Alone, a customer's features use the given priors (and fill ratings from their own reviews)."""
    reference = as_of_reference("2024-06-30")
    priors = build_features(shop, reference).priors
    for customer, lines, activity in list(per_customer(shop))[:15]:
        alone = shop.of_customers([customer])
        expected = build_features(alone, reference, priors=priors, window_days=365).frame.loc[customer]
        features, _ = customer_features(
            lines, activity, reference=reference.timestamp(), priors=priors, window_days=365
        )
        for column, value in expected.items():
            assert features.get(column, 0.0) == pytest.approx(value, rel=1e-9, abs=1e-9), (customer, column)
