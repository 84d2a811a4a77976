"""Behavioural features computed by hand on tiny order tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from shopseg import schema as s
from shopseg.features import build_features
from shopseg.features.behaviour import behaviour_features
from shopseg.shop import Shop


def lines(rows: list[tuple]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=[s.CUSTOMER_ID, s.ORDER_ID, s.TS, s.PRODUCT_ID, s.QUANTITY, s.AMOUNT])
    frame[s.TS] = pd.to_datetime(frame[s.TS])
    frame[s.IS_RETURN] = frame[s.QUANTITY] < 0
    return frame


ORDERS = lines(
    [
        ("a", "o1", "2024-01-01 10:00", "p1", 1, 10.0),
        ("a", "o1", "2024-01-01 10:00", "p2", 3, 30.0),
        ("a", "o2", "2024-01-11 22:00", "p1", 1, 10.0),  # 10.5 days later
        ("a", "o3", "2024-01-31 10:00", "p3", 2, 60.0),  # 19.5 days later
        ("a", "r1", "2024-02-01 10:00", "p3", -1, -30.0),  # a return
        ("b", "o4", "2024-03-02 12:00", "p1", 1, 10.0),  # Saturday
    ]
)
REFERENCE = pd.Timestamp("2024-03-10")


def test_rfm_rhythm_baskets_returns() -> None:
    f = behaviour_features(ORDERS, REFERENCE)
    a, b = f.loc["a"], f.loc["b"]
    assert a["frequency"] == 3
    assert a["monetary_total"] == pytest.approx(110.0)
    assert a["monetary_mean"] == pytest.approx(110.0 / 3)
    assert a["recency_days"] == pytest.approx((REFERENCE - pd.Timestamp("2024-01-31 10:00")).total_seconds() / 86400)
    assert a["tenure_days"] == pytest.approx((REFERENCE - pd.Timestamp("2024-01-01 10:00")).total_seconds() / 86400)
    assert a["interpurchase_mean"] == pytest.approx((10.5 + 19.5) / 2)
    assert a["interpurchase_std"] == pytest.approx(pd.Series([10.5, 19.5]).std())
    assert a["items_per_order"] == pytest.approx((4 + 1 + 2) / 3)
    assert a["distinct_products"] == 3
    assert a["return_rate"] == pytest.approx(1 / 5)
    assert a["return_value"] == pytest.approx(30.0)
    assert b["frequency"] == 1 and b["interpurchase_mean"] == 0 and b["return_rate"] == 0
    # Recency in the customer's own rhythm: a's span of 30 days over 2 gaps, plus one gap at the
    # shop's mean gap (all gaps of all customers: 30 days / 2 = 15); b has no gap: the shop's.
    assert a["recency_gaps"] == pytest.approx(a["recency_days"] / ((30 + 1 * 15) / (2 + 1)))
    assert b["recency_gaps"] == pytest.approx(b["recency_days"] / 15)
    with_priors = behaviour_features(ORDERS, REFERENCE, share_priors={"interpurchase_mean": 5.0})
    assert with_priors.loc["b", "recency_gaps"] == pytest.approx(b["recency_days"] / 5)  # a fitted model's gap
    # Habit shares are shrunk towards the shop's share (SHARE_PRIOR_ORDERS = 2 pseudo-orders).
    # Shop: 4 purchase orders, 1 on a weekend, 2 in the morning, 1 in the evening, 3 in January.
    assert b["weekend_share"] == pytest.approx((1 + 2 * 0.25) / (1 + 2))
    assert a["weekend_share"] == pytest.approx((0 + 2 * 0.25) / (3 + 2))
    assert a["hour_share_morning"] == pytest.approx((2 + 2 * 0.5) / (3 + 2))
    assert a["hour_share_evening"] == pytest.approx((1 + 2 * 0.25) / (3 + 2))
    assert a["month_share_01"] == pytest.approx((3 + 2 * 0.75) / (3 + 2))


def test_reference_defaults_to_day_after_last_line() -> None:
    f = behaviour_features(ORDERS)
    assert f.loc["b", "recency_days"] == pytest.approx(0.5)  # 2024-03-02 12:00 -> 2024-03-03 00:00


def test_dates_without_times_have_no_hour_bands() -> None:
    orders = ORDERS.assign(**{s.TS: ORDERS[s.TS].dt.normalize()})
    assert not any(c.startswith("hour_share") for c in behaviour_features(orders).columns)


def test_customer_with_only_returns_is_kept() -> None:
    orders = lines([("c", "r9", "2024-01-05", "p1", -1, -10.0), ("d", "o9", "2024-01-06", "p1", 1, 10.0)])
    f = behaviour_features(orders)
    assert f.loc["c", "frequency"] == 0 and f.loc["c", "return_rate"] == 1.0


def test_build_features_adds_categories_attributes_and_engagement() -> None:
    products = pd.DataFrame({s.PRODUCT_ID: ["p1", "p2", "p3"], s.CATEGORY: ["outdoor", "beauty", "outdoor"]})
    customers = pd.DataFrame({s.CUSTOMER_ID: ["a", "b"], s.AGE: [30.0, 50.0], s.GENDER: ["f", "m"]})
    reviews = pd.DataFrame(
        {s.CUSTOMER_ID: ["a", "a"], s.TS: pd.to_datetime(["2024-02-01", "2024-02-02"]), s.RATING: [5.0, 1.0]}
    )
    shop = Shop(orders=ORDERS, products=products, customers=customers, reviews=reviews)
    features = build_features(shop, REFERENCE)
    frame = features.frame
    assert list(frame.index) == ["a", "b"]
    # Spend shares shrunk towards the shop's (outdoor 90/120, beauty 30/120) with 2 pseudo-orders.
    assert frame.loc["a", "category_share_outdoor"] == pytest.approx((3 * 80 / 110 + 2 * 0.75) / 5)
    assert frame.loc["a", "category_share_beauty"] == pytest.approx((3 * 30 / 110 + 2 * 0.25) / 5)
    assert frame.loc["b", "category_share_outdoor"] == pytest.approx((1 * 1.0 + 2 * 0.75) / 3)
    assert frame.loc["a", "review_count"] == 2 and frame.loc["b", "review_count"] == 0
    assert frame.loc["a", "rating_mean"] == 3.0
    assert frame.loc["b", "age"] == 50.0 and frame.loc["b", "gender=m"] == 1.0
    assert "category_share_outdoor" in features.segmentation_columns
    assert "month_share_01" not in features.segmentation_columns  # kept for profiles only


def test_a_customer_alone_gets_the_same_features_with_the_shops_priors() -> None:
    products = pd.DataFrame({s.PRODUCT_ID: ["p1", "p2", "p3"], s.CATEGORY: ["outdoor", "beauty", "outdoor"]})
    shop = Shop(orders=ORDERS, products=products)
    full = build_features(shop, REFERENCE)
    alone = Shop(orders=ORDERS[ORDERS[s.CUSTOMER_ID] == "b"], products=products)
    single = build_features(alone, full.reference_ts, priors=full.priors)
    pd.testing.assert_series_equal(single.frame.loc["b"], full.frame.loc["b"][single.frame.columns])
    assert set(single.frame.columns) == set(full.frame.columns)
    # Without the priors, b's shares would shrink towards b's own habits: not the same point.
    naive = build_features(alone, full.reference_ts)
    assert naive.frame.loc["b", "weekend_share"] != full.frame.loc["b", "weekend_share"]


def test_features_do_not_depend_on_the_order_of_the_lines() -> None:
    """Same lines in another order (as DuckDB's threads may deliver them): bit-identical features.

    Floating-point sums depend on the order of their terms; the features sum money exactly, so
    the same input gives the same bits, and so the same segments, on every run.
    """
    rng = np.random.default_rng(4)
    n = 60_000
    orders = pd.DataFrame(
        {
            s.CUSTOMER_ID: rng.integers(0, 300, n).astype(str),
            s.ORDER_ID: rng.integers(0, 20_000, n).astype(str),
            s.TS: pd.Timestamp("2023-01-01") + pd.to_timedelta(rng.integers(0, 30_000_000, n), unit="s"),
            s.AMOUNT: rng.gamma(2.0, 30.123456789, n),
            s.QUANTITY: rng.integers(1, 5, n).astype(float),
        }
    )
    orders[s.IS_RETURN] = rng.random(n) < 0.05
    orders[s.AMOUNT] = orders[s.AMOUNT].where(~orders[s.IS_RETURN], -orders[s.AMOUNT])
    expected = behaviour_features(orders, REFERENCE)
    for seed in range(3):
        shuffled = behaviour_features(orders.sample(frac=1.0, random_state=seed), REFERENCE)
        pd.testing.assert_frame_equal(shuffled, expected, check_exact=True)
    # and the exact sums are the sums
    spend = orders[~orders[s.IS_RETURN]].groupby(s.CUSTOMER_ID)[s.AMOUNT].sum()
    assert np.allclose(expected["monetary_total"], spend.reindex(expected.index), rtol=1e-12)
