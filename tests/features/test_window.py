"""The activity window (features of the latest year) and the cut at an --as-of date, on tiny hand-made tables."""

from __future__ import annotations

import pandas as pd
import pytest

from shopseg import schema as s
from shopseg.errors import ConfigError, ShopsegError
from shopseg.features import build_features
from shopseg.features.behaviour import behaviour_features
from shopseg.features.window import as_of_reference, current_activity, cut_at, window_starts
from shopseg.shop import Shop


def lines(rows: list[tuple]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=[s.CUSTOMER_ID, s.ORDER_ID, s.TS, s.PRODUCT_ID, s.AMOUNT])
    frame[s.TS] = pd.to_datetime(frame[s.TS])
    frame[s.IS_RETURN] = frame[s.AMOUNT] < 0
    frame[s.QUANTITY] = frame[s.AMOUNT].apply(lambda amount: 1 if amount >= 0 else -1)
    return frame


REFERENCE = pd.Timestamp("2024-01-01")
ORDERS = lines(
    [
        # "active": bought two years ago (beauty) and this year (outdoor)
        ("active", "a1", "2022-02-01 10:00", "beauty-1", 50.0),
        ("active", "a2", "2022-03-01 10:00", "beauty-2", 50.0),
        ("active", "a3", "2023-06-01 10:00", "outdoor-1", 80.0),
        ("active", "a4", "2023-11-01 10:00", "outdoor-2", 20.0),
        # "lapsed": a big spender whose last order was 18 months ago
        ("lapsed", "l1", "2021-03-01 10:00", "beauty-1", 10.0),
        ("lapsed", "l2", "2022-01-10 10:00", "outdoor-1", 300.0),
        ("lapsed", "l3", "2022-07-01 10:00", "outdoor-2", 200.0),
        # "returner": only a return line
        ("returner", "r1", "2023-12-01 10:00", "outdoor-1", -20.0),
    ]
)
PRODUCTS = pd.DataFrame(
    {
        s.PRODUCT_ID: ["beauty-1", "beauty-2", "outdoor-1", "outdoor-2"],
        s.CATEGORY: ["beauty", "beauty", "outdoor", "outdoor"],
    }
)


def test_window_is_the_last_year_or_the_year_before_the_last_purchase() -> None:
    starts = window_starts(ORDERS, REFERENCE, 365)
    assert starts["active"] == REFERENCE - pd.Timedelta(days=365)
    assert starts["lapsed"] == pd.Timestamp("2022-07-01 10:00") - pd.Timedelta(days=365)
    assert starts["returner"] == REFERENCE - pd.Timedelta(days=365)  # its last line is within the year
    current = current_activity(Shop(orders=ORDERS), REFERENCE, 365).orders
    assert sorted(current.loc[current[s.CUSTOMER_ID] == "active", s.ORDER_ID]) == ["a3", "a4"]
    assert sorted(current.loc[current[s.CUSTOMER_ID] == "lapsed", s.ORDER_ID]) == ["l2", "l3"]
    assert set(current[s.CUSTOMER_ID]) == {"active", "lapsed", "returner"}  # nobody disappears


def test_windowed_features_read_current_behaviour_but_recency_and_tenure_the_whole_history() -> None:
    shop = Shop(orders=ORDERS, products=PRODUCTS)
    whole = build_features(shop, REFERENCE).frame
    window = build_features(shop, REFERENCE, window_days=365).frame
    assert window.loc["active", "frequency"] == 2 and whole.loc["active", "frequency"] == 4
    assert window.loc["active", "monetary_total"] == pytest.approx(100.0)
    assert window.loc["lapsed", "monetary_total"] == pytest.approx(500.0)  # the year before they lapsed
    # taste follows the current year: outdoor only (shrunk towards the shop's shares)
    assert window.loc["active", "category_share_outdoor"] > 0.9 > 0.7 > whole.loc["active", "category_share_outdoor"]
    for column in ("recency_days", "tenure_days"):
        pd.testing.assert_series_equal(window[column], whole[column])
    first_purchase = pd.Timestamp("2022-02-01 10:00")
    assert window.loc["active", "tenure_days"] == pytest.approx((REFERENCE - first_purchase).total_seconds() / 86400)
    # without a window: exactly the behaviour features of the whole history
    behaviour = behaviour_features(ORDERS, REFERENCE, share_priors=build_features(shop, REFERENCE).priors)
    pd.testing.assert_series_equal(whole["frequency"], behaviour["frequency"].reindex(whole.index))


def test_cut_at_keeps_what_was_known_by_the_end_of_the_day_and_counts_the_rest() -> None:
    reference = as_of_reference("2022-06-30")
    assert reference == pd.Timestamp("2022-07-01")
    reviews = pd.DataFrame(
        {s.CUSTOMER_ID: ["active", "lapsed"], s.TS: pd.to_datetime(["2022-05-01", "2022-07-02"]), s.RATING: [5, 4]}
    )
    cut = cut_at(Shop(orders=ORDERS, reviews=reviews), reference, "2022-06-30")
    assert cut.orders[s.TS].max() < reference and len(cut.orders) == 4
    assert list(cut.reviews[s.CUSTOMER_ID]) == ["active"]
    assert "as of 2022-06-30: 4 order lines, 1 reviews dated later left out" in cut.notes
    with pytest.raises(ShopsegError, match="no order line is dated on or before"):
        cut_at(Shop(orders=ORDERS), as_of_reference("2020-01-01"), "2020-01-01")
    with pytest.raises(ConfigError, match="not a date"):
        as_of_reference("yesterday-ish")
