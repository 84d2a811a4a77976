"""Parquet input: typed columns are checked as typed, with the same rules and results as CSV."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from shopseg import load_shop
from shopseg import schema as s
from shopseg.generate import generate_shop, write_shop


def test_a_generated_shop_reads_the_same_from_parquet_and_csv(tmp_path) -> None:
    shop = generate_shop(300, seed=4)
    loaded = {}
    for file_format in ("csv", "parquet"):
        paths = write_shop(shop, tmp_path / file_format, file_format=file_format)
        loaded[file_format] = load_shop(**{name: paths[name] for name in ("orders", "customers", "reviews", "events")})
    for table in ("orders", "customers", "reviews", "events"):
        pd.testing.assert_frame_equal(getattr(loaded["parquet"], table), getattr(loaded["csv"], table), obj=table)


def test_typed_parquet_columns_follow_the_same_rules(tmp_path) -> None:
    path = tmp_path / "orders.parquet"
    ts = pd.to_datetime(
        ["2024-01-05 10:00", "2024-02-10 19:30", None, "2999-01-01 00:00", "2024-03-01 12:00", "2024-03-02 08:00"]
    ).tz_localize("Europe/Berlin")
    pd.DataFrame(
        {
            s.CUSTOMER_ID: np.array([101, 101, 102, 103, 104, 105], dtype="int64"),  # integer ids
            s.ORDER_ID: ["O1", "O2", "O3", "O4", "O5", "O6"],
            s.TS: ts,
            s.PRODUCT_ID: ["P1", "P2", "P3", "P1", "P2", "P3"],
            s.QUANTITY: np.array([1, -1, 2, 1, 1, 0], dtype="int32"),
            s.UNIT_PRICE: [20.0, 5.0, 50.0, 20.0, np.inf, 5.0],
        }
    ).to_parquet(path)

    shop = load_shop(orders=path)

    orders = shop.orders
    assert orders[s.CUSTOMER_ID].tolist() == ["101", "101"]  # ids read as text, not "101.0"
    assert orders[s.TS].tolist() == [pd.Timestamp("2024-01-05 09:00"), pd.Timestamp("2024-02-10 18:30")]  # UTC
    assert orders[s.IS_RETURN].tolist() == [False, True]
    assert orders[s.AMOUNT].tolist() == [20.0, -5.0]
    reasons = shop.quarantine.set_index("line")[["column", "reason", "value"]]
    assert reasons.loc[3].tolist() == [s.TS, "missing value", ""]
    assert reasons.loc[4].tolist() == [s.TS, "date in the future", "2998-12-31 23:00:00"]
    assert reasons.loc[5].tolist() == [s.UNIT_PRICE, "not a finite number", "inf"]
    assert reasons.loc[6].tolist() == [s.QUANTITY, "zero quantity", "0"]
    assert shop.files[0].kept == 2 and shop.files[0].quarantined == 4


@pytest.mark.parametrize("column", [s.TS, s.QUANTITY])
def test_parquet_text_columns_are_still_parsed(tmp_path, column: str) -> None:
    frame = pd.DataFrame(
        {
            s.CUSTOMER_ID: ["C1", "C2"],
            s.ORDER_ID: ["O1", "O2"],
            s.TS: pd.to_datetime(["2024-01-05 10:00", "2024-02-10 19:30"]),
            s.QUANTITY: [1, 2],
            s.UNIT_PRICE: [3.0, 4.0],
        }
    )
    frame[column] = frame[column].astype(str)  # an export that wrote this column as text
    frame.to_parquet(tmp_path / "orders.parquet")
    orders = load_shop(orders=tmp_path / "orders.parquet").orders
    assert orders[s.AMOUNT].tolist() == [3.0, 8.0]
    assert orders[s.TS].tolist() == [pd.Timestamp("2024-01-05 10:00"), pd.Timestamp("2024-02-10 19:30")]
