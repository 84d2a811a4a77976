"""The synthetic shop generator: shape of the tables, its promises, and the planted segments."""

from __future__ import annotations

import dataclasses
import re

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from shopseg.generate import (
    PLANTED_SEGMENTS,
    GeneratedShop,
    generate_shop,
    write_shop,
    write_shop_chunked,
)
from shopseg.schema import (
    AMOUNT,
    CATEGORY,
    CUSTOMER_ID,
    EVENT_TYPE,
    ORDER_ID,
    PRODUCT_ID,
    QUANTITY,
    QUERY,
    RATING,
    RETURN_STATUSES,
    SESSION_ID,
    SIGNUP_TS,
    STATUS,
    TEXT,
    TS,
    UNIT_PRICE,
)

N_CUSTOMERS = 2000
END_DATE = "2024-06-30"
SEGMENT = "segment"
TASTE_ONLY = {"outdoor_enthusiasts": "outdoor", "beauty_lovers": "beauty"}

COLUMNS = {
    "customers": ["customer_id", "signup_ts", "age", "gender", "region", "channel", "email"],
    "products": ["product_id", "title", "description", "category", "price"],
    "orders": [
        "customer_id",
        "order_id",
        "ts",
        "product_id",
        "quantity",
        "unit_price",
        "amount",
        "status",
    ],
    "events": ["customer_id", "ts", "event_type", "product_id", "session_id", "query"],
    "reviews": ["customer_id", "ts", "rating", "text", "product_id"],
    "truth": ["customer_id", "segment"],
}


@pytest.fixture(scope="module")
def shop() -> GeneratedShop:
    return generate_shop(N_CUSTOMERS, seed=7, end_date=END_DATE)


@pytest.fixture(scope="module")
def purchases(shop: GeneratedShop) -> pd.DataFrame:
    """Completed order lines with the buyer's planted segment and the product's category."""
    lines = shop.orders[shop.orders[STATUS] == "completed"]
    lines = lines.merge(shop.truth, on=CUSTOMER_ID).merge(shop.products, on=PRODUCT_ID)
    return lines


def test_same_seed_gives_identical_tables_and_another_seed_does_not():
    first, second = generate_shop(300, seed=3), generate_shop(300, seed=3)
    for name, table in first.tables().items():
        pd.testing.assert_frame_equal(table, second.tables()[name])
    assert not generate_shop(300, seed=4).orders.equals(first.orders)


def test_tables_have_the_documented_columns_and_types(shop: GeneratedShop):
    for name, table in shop.tables().items():
        assert list(table.columns) == COLUMNS[name], name
        ids = [column for column in table.columns if column.endswith("_id")]
        assert all(pd.api.types.is_string_dtype(table[column]) for column in ids), name
    for table in (shop.orders, shop.events, shop.reviews):
        assert pd.api.types.is_datetime64_any_dtype(table[TS])
    assert pd.api.types.is_datetime64_any_dtype(shop.customers[SIGNUP_TS])
    assert pd.api.types.is_integer_dtype(shop.orders[QUANTITY])
    assert pd.api.types.is_float_dtype(shop.orders[AMOUNT])
    assert pd.api.types.is_integer_dtype(shop.reviews[RATING])
    assert shop.reviews[RATING].between(1, 5).all()
    assert set(shop.events[EVENT_TYPE]) == {"view", "cart", "search"}
    assert (shop.products["price"] > 0).all()
    assert shop.customers["email"].str.fullmatch(r"user\d+@example\.com").all()


def test_ids_have_their_documented_shape(shop: GeneratedShop):
    patterns = {
        CUSTOMER_ID: (shop.customers, r"C\d{6,}"),
        ORDER_ID: (shop.orders, r"O\d{7,}"),
        PRODUCT_ID: (shop.products, r"P\d{5,}"),
        SESSION_ID: (shop.events, r"S\d{8,}"),
    }
    for column, (table, pattern) in patterns.items():
        assert table[column].str.fullmatch(pattern).all(), column
    assert shop.customers[CUSTOMER_ID].is_unique
    assert shop.products[PRODUCT_ID].is_unique
    assert len(shop.products) >= 200


def test_amount_is_quantity_times_unit_price(shop: GeneratedShop):
    orders = shop.orders
    expected = np.round(orders[QUANTITY] * orders[UNIT_PRICE], 2)
    np.testing.assert_allclose(orders[AMOUNT], expected, rtol=0, atol=1e-9)


def test_returns_are_negative_lines_after_their_purchase(shop: GeneratedShop):
    orders = shop.orders
    returned = orders[orders[STATUS] == "returned"]
    completed = orders[orders[STATUS] == "completed"]
    assert set(orders[STATUS]) == {"completed", "returned"}
    assert "returned" in RETURN_STATUSES
    assert len(returned) > 0
    assert (returned[QUANTITY] < 0).all() and (returned[AMOUNT] < 0).all()
    assert (completed[QUANTITY] > 0).all() and (completed[AMOUNT] > 0).all()
    key = [CUSTOMER_ID, ORDER_ID, PRODUCT_ID]
    bought = completed.groupby(key)[TS].min().rename("bought")
    matched = returned.join(bought, on=key)
    assert matched["bought"].notna().all()
    assert (matched[TS] > matched["bought"]).all()


@pytest.mark.parametrize("end_date", [END_DATE, "2021-01-15"])
def test_timestamps_lie_in_the_two_years_before_end_date(end_date: str):
    shop = generate_shop(500, seed=1, end_date=end_date)
    end = pd.Timestamp(end_date)
    stamps = [shop.orders[TS], shop.events[TS], shop.reviews[TS], shop.customers[SIGNUP_TS]]
    for stamp in stamps:
        assert stamp.max() <= end
        assert stamp.min() >= end - pd.Timedelta(days=730)
    signup = shop.customers.set_index(CUSTOMER_ID)[SIGNUP_TS]
    first_order = shop.orders.groupby(CUSTOMER_ID)[TS].min()
    assert (signup <= first_order.reindex(signup.index)).all()


def test_orders_happen_at_realistic_hours(purchases: pd.DataFrame):
    hours = purchases[TS].dt.hour
    night = hours.isin([22, 23, 0, 1, 2])
    owls = purchases[SEGMENT] == "night_owls"
    assert night[owls].mean() > 0.7
    assert night[~owls].mean() < 0.2
    assert hours[~owls].between(8, 22).mean() > 0.85


def test_every_customer_is_in_truth_and_has_an_order(shop: GeneratedShop):
    customers = set(shop.customers[CUSTOMER_ID])
    assert len(customers) == N_CUSTOMERS
    assert set(shop.truth[CUSTOMER_ID]) == customers
    assert set(shop.orders[CUSTOMER_ID]) == customers
    assert set(shop.events[CUSTOMER_ID]) <= customers
    assert set(shop.reviews[CUSTOMER_ID]) <= customers
    assert set(shop.orders[PRODUCT_ID]) <= set(shop.products[PRODUCT_ID])


def test_segment_sizes_follow_their_shares(shop: GeneratedShop):
    assert len(PLANTED_SEGMENTS) >= 6
    assert sum(profile.share for profile in PLANTED_SEGMENTS.values()) == pytest.approx(1.0)
    sizes = shop.truth[SEGMENT].value_counts()
    for name, profile in PLANTED_SEGMENTS.items():
        assert abs(sizes[name] - profile.share * N_CUSTOMERS) <= 1, name


def test_behaviour_segments_behave_as_planted(shop: GeneratedShop, purchases: pd.DataFrame):
    value = purchases.groupby([SEGMENT, CUSTOMER_ID])[AMOUNT].sum().groupby(SEGMENT).mean()
    orders = purchases.groupby([SEGMENT, CUSTOMER_ID])[ORDER_ID].nunique().groupby(SEGMENT)
    last = purchases.groupby(SEGMENT)[TS].max()
    assert value["vip_loyal"] > 3 * value["outdoor_enthusiasts"] > 3 * value["bargain_one_timers"]
    assert orders.max()["bargain_one_timers"] == 1
    assert last["lapsed_big_spenders"] < pd.Timestamp(END_DATE) - pd.Timedelta(days=270)
    lines = shop.orders.merge(shop.truth, on=CUSTOMER_ID)
    returned = lines[STATUS].eq("returned").groupby(lines[SEGMENT]).sum()
    bought = lines[STATUS].eq("completed").groupby(lines[SEGMENT]).sum()
    assert (returned / bought)["serial_returners"] == pytest.approx(0.4, abs=0.06)
    assert (returned / bought).drop("serial_returners").max() < 0.1


def test_taste_only_segments_share_behaviour_but_not_taste(shop: GeneratedShop, purchases):
    outdoor, beauty = (PLANTED_SEGMENTS[name] for name in TASTE_ONLY)
    assert dataclasses.replace(outdoor, share=0, favourites=()) == dataclasses.replace(beauty, share=0, favourites=())
    twins = purchases[purchases[SEGMENT].isin(TASTE_ONLY)]
    per_customer = twins.groupby([SEGMENT, CUSTOMER_ID]).agg(orders=(ORDER_ID, "nunique"), value=(AMOUNT, "sum"))
    means = per_customer.groupby(SEGMENT).mean()
    assert means.loc["outdoor_enthusiasts", "orders"] == pytest.approx(means.loc["beauty_lovers", "orders"], rel=0.1)
    assert means.loc["outdoor_enthusiasts", "value"] == pytest.approx(means.loc["beauty_lovers", "value"], rel=0.2)
    for name, favourite in TASTE_ONLY.items():
        mix = twins.loc[twins[SEGMENT] == name, CATEGORY].value_counts(normalize=True)
        assert mix.index[0] == favourite
        assert 0.4 < mix.iloc[0] < 0.8  # they still buy outside their favourite


def test_taste_shows_in_searches_and_review_words(shop: GeneratedShop):
    searches = shop.events[shop.events[EVENT_TYPE] == "search"].merge(shop.truth, on=CUSTOMER_ID)
    reviews = shop.reviews.merge(shop.truth, on=CUSTOMER_ID)
    topics = {"outdoor_enthusiasts": r"trail|waterproof|hik", "beauty_lovers": r"skin|scent|serum"}
    for name, words in topics.items():
        other = next(twin for twin in topics if twin != name)
        for table, column in ((searches, QUERY), (reviews, TEXT)):
            mentions = table[column].str.lower().str.contains(words).groupby(table[SEGMENT]).mean()
            assert mentions[name] > 2 * mentions[other], (name, column)


def test_review_texts_are_varied_and_match_their_rating(shop: GeneratedShop):
    reviews = shop.reviews
    writers = reviews[CUSTOMER_ID].nunique() / N_CUSTOMERS
    assert 0.3 <= writers <= 0.5
    assert reviews[TEXT].nunique() > 0.8 * len(reviews)
    assert reviews[TEXT].str.len().between(20, 400).all()
    low = set(reviews.loc[reviews[RATING] <= 2, TEXT])
    high = set(reviews.loc[reviews[RATING] >= 4, TEXT])
    assert low and high and not low & high
    by_segment = reviews.merge(shop.truth, on=CUSTOMER_ID).groupby(SEGMENT)[RATING].mean()
    assert by_segment["serial_returners"] < by_segment.drop("serial_returners").min()


def test_catalogue_reads_like_a_shop(shop: GeneratedShop):
    products = shop.products
    assert 8 <= products[CATEGORY].nunique() <= 12
    assert products["title"].nunique() > 0.95 * len(products)
    assert products["title"].str.split().str.len().ge(3).all()
    sentences = products["description"].str.count(r"[.!?](?:\s|$)")
    assert sentences.between(1, 3).all() and sentences.nunique() > 1


def test_a_shop_of_one_customer():
    shop = generate_shop(1)
    assert len(shop.customers) == len(shop.truth) == 1
    assert len(shop.orders) >= 1
    assert shop.orders[CUSTOMER_ID].eq(shop.customers[CUSTOMER_ID].iloc[0]).all()


def test_a_shop_needs_customers():
    with pytest.raises(ValueError, match="at least 1"):
        generate_shop(0)


def test_write_shop_writes_six_csv_files_that_read_back(shop: GeneratedShop, tmp_path):
    out = tmp_path / "shop"
    paths = write_shop(shop, out)
    assert set(paths) == set(COLUMNS)
    assert sorted(path.name for path in out.iterdir()) == sorted(f"{name}.csv" for name in COLUMNS)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["shop"]  # no staging left
    for name, path in paths.items():
        read = pd.read_csv(path, encoding="utf-8")
        assert list(read.columns) == COLUMNS[name]
        assert len(read) == len(shop.tables()[name]), name
    first_line = paths["orders"].read_text(encoding="utf-8").splitlines()[1]
    assert re.search(r",\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,", first_line)


def test_chunked_writer_matches_one_go_and_keeps_ids_unique(tmp_path):
    whole = write_shop(generate_shop(400, seed=5), tmp_path / "whole")
    single = write_shop_chunked(400, tmp_path / "single", seed=5, chunk=1000)
    for name, path in whole.items():
        assert path.read_bytes() == single[name].read_bytes(), name
    chunked = write_shop_chunked(400, tmp_path / "chunked", seed=5, chunk=150)
    customers = pd.read_csv(chunked["customers"])
    orders = pd.read_csv(chunked["orders"])
    events = pd.read_csv(chunked["events"])
    assert len(customers) == 400 and customers[CUSTOMER_ID].is_unique
    assert orders.groupby(ORDER_ID)[CUSTOMER_ID].nunique().max() == 1
    assert events.groupby(SESSION_ID)[CUSTOMER_ID].nunique().max() == 1
    assert len(pd.read_csv(chunked["products"])) == len(pd.read_csv(whole["products"]))


def test_activity_scales_lines_and_reviews_but_keeps_customers_and_orders():
    usual, busy = generate_shop(3000, seed=8), generate_shop(3000, seed=8, activity=2.2)
    assert busy.truth.equals(usual.truth)  # same people in the same planted segments
    assert busy.orders[ORDER_ID].nunique() == usual.orders[ORDER_ID].nunique()
    lines, reviews = (len(busy.orders) / len(usual.orders), len(busy.reviews) / len(usual.reviews))
    assert 1.9 < lines < 2.5 and 2.0 < reviews < 3.0
    assert generate_shop(300, seed=8, activity=1.0).orders.equals(generate_shop(300, seed=8).orders)
    with pytest.raises(ValueError, match="activity"):
        generate_shop(10, activity=0)


def test_parquet_writer_streams_the_same_tables_as_csv(tmp_path):
    csv = write_shop_chunked(450, tmp_path / "csv", seed=3, chunk=200)
    parquet = write_shop_chunked(450, tmp_path / "parquet", seed=3, chunk=200, file_format="parquet")
    assert sorted(path.name for path in (tmp_path / "parquet").iterdir()) == sorted(f"{n}.parquet" for n in COLUMNS)
    for name, path in parquet.items():
        assert pq.ParquetFile(path).metadata.num_row_groups == (1 if name == "products" else 3), name
        from_parquet = pd.read_parquet(path)
        from_csv = pd.read_csv(csv[name], keep_default_na=False)  # empty text stays ""
        assert list(from_parquet.columns) == COLUMNS[name]
        assert len(from_parquet) == len(from_csv), name
        for column in from_parquet.columns:  # same values; CSV loses only the column types
            if pd.api.types.is_datetime64_any_dtype(from_parquet[column]):
                expected = pd.to_datetime(from_csv[column])
            else:
                expected = from_csv[column].astype(from_parquet[column].dtype)
            pd.testing.assert_series_equal(from_parquet[column], expected, check_names=False, obj=f"{name}.{column}")


def test_writers_refuse_an_unknown_format(tmp_path):
    with pytest.raises(ValueError, match="csv, parquet"):
        write_shop_chunked(10, tmp_path / "shop", file_format="xlsx")
    assert not (tmp_path / "shop").exists()
