"""Each public layout is read as it is, with the right purchases, returns and guests."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import Workbook

from shopseg import load_shop
from shopseg import schema as s


def counts(shop) -> dict[str, int]:
    orders = shop.orders
    report = shop.files[0]
    return {
        "read": report.rows_read,
        "duplicates": report.duplicates,
        "guests": report.guests,
        "quarantined": report.quarantined,
        "purchases": int((~orders[s.IS_RETURN]).sum()),
        "returns": int(orders[s.IS_RETURN].sum()),
        "customers": orders[s.CUSTOMER_ID].nunique(),
    }


def test_online_retail_csv_latin1(formats_dir: Path) -> None:
    shop = load_shop(formats_dir / "online_retail.csv")
    assert shop.files[0].format == "online-retail"
    assert shop.files[0].encoding == "cp1252"
    assert counts(shop) == {
        "read": 17,
        "duplicates": 1,
        "guests": 4,
        "quarantined": 0,
        "purchases": 10,
        "returns": 2,
        "customers": 6,
    }
    orders = shop.orders
    # Float-written ids ("13047.0") are the same customer as "13047".
    assert "13047" in set(orders[s.CUSTOMER_ID])
    # US dates without leading zeros; a C invoice is a return with a negative amount.
    first = orders[orders[s.ORDER_ID] == "536365"].iloc[0]
    assert first[s.TS] == pd.Timestamp("2010-12-01 08:26")
    returns = orders[orders[s.IS_RETURN]]
    assert set(returns[s.ORDER_ID]) == {"C536379", "C536383"}
    assert (returns[s.AMOUNT] < 0).all()
    # The £ sign in Latin-1 survives, and products are derived from descriptions.
    assert shop.products is not None
    assert "CHILDRENS CUTLERY SPACEBOY £ SET" in set(shop.products[s.TITLE])
    # Country becomes the customer's region.
    regions = shop.customers.set_index(s.CUSTOMER_ID)[s.REGION]
    assert regions["12583"] == "France"


def test_online_retail_ii_csv(formats_dir: Path) -> None:
    shop = load_shop(formats_dir / "online_retail_ii.csv")
    assert shop.files[0].format == "online-retail"
    assert counts(shop) == {
        "read": 12,
        "duplicates": 1,
        "guests": 2,
        "quarantined": 0,
        "purchases": 7,
        "returns": 2,
        "customers": 5,
    }


def _write_online_retail_ii_xlsx(csv_path: Path, xlsx_path: Path) -> None:
    """The real workbook layout: two yearly sheets, Excel dates, ids stored as numbers."""
    frame = pd.read_csv(csv_path, dtype=str, keep_default_na=False)
    workbook = Workbook()
    sheets = [workbook.active, workbook.create_sheet()]
    sheets[0].title, sheets[1].title = "Year 2009-2010", "Year 2010-2011"
    halves = [frame.iloc[:6], frame.iloc[6:]]
    for sheet, half in zip(sheets, halves, strict=True):
        sheet.append(list(frame.columns))
        for row in half.itertuples(index=False):
            values = list(row)
            values[3] = int(values[3])
            values[4] = dt.datetime.fromisoformat(values[4])
            values[5] = float(values[5])
            values[6] = float(values[6]) if values[6] else None
            sheet.append(values)
    workbook.save(xlsx_path)


def test_online_retail_ii_xlsx_both_sheets(formats_dir: Path, tmp_path: Path) -> None:
    path = tmp_path / "online_retail_II.xlsx"
    _write_online_retail_ii_xlsx(formats_dir / "online_retail_ii.csv", path)
    shop = load_shop(path)
    assert shop.files[0].format == "online-retail"
    assert counts(shop) == {
        "read": 12,
        "duplicates": 1,
        "guests": 2,
        "quarantined": 0,
        "purchases": 7,
        "returns": 2,
        "customers": 5,
    }
    assert shop.orders[s.TS].min() == pd.Timestamp("2009-12-01 07:45")


def test_cdnow_master_small(formats_dir: Path) -> None:
    shop = load_shop(formats_dir / "CDNOW_master_small.txt")
    assert shop.files[0].format == "cdnow"
    # Two identical lines of customer 00005 are two purchases (CDNOW has no order ids).
    assert counts(shop) == {
        "read": 12,
        "duplicates": 0,
        "guests": 0,
        "quarantined": 0,
        "purchases": 12,
        "returns": 0,
        "customers": 6,
    }
    # Ids keep their leading zeros; YYYYMMDD dates; the CD count is the quantity.
    row = shop.orders[shop.orders[s.CUSTOMER_ID] == "00003"].sort_values(s.TS).iloc[-1]
    assert row[s.TS] == pd.Timestamp("1997-11-15") and row[s.QUANTITY] == 5 and row[s.AMOUNT] == pytest.approx(57.45)


def test_cdnow_sample_small_without_header(formats_dir: Path) -> None:
    shop = load_shop(formats_dir / "CDNOW_sample_small.txt")
    assert shop.files[0].format == "cdnow"
    assert counts(shop) == {
        "read": 9,
        "duplicates": 0,
        "guests": 0,
        "quarantined": 0,
        "purchases": 9,
        "returns": 0,
        "customers": 5,
    }
    assert set(shop.orders[s.CUSTOMER_ID]) == {"00004", "00018", "00021", "00050", "00071"}


def test_canonical_tables(formats_dir: Path) -> None:
    shop = load_shop(
        formats_dir / "canonical_orders.csv",
        customers=formats_dir / "canonical_customers.csv",
        products=formats_dir / "canonical_products.csv",
    )
    assert counts(shop) == {
        "read": 8,
        "duplicates": 0,
        "guests": 1,
        "quarantined": 0,
        "purchases": 5,
        "returns": 2,
        "customers": 3,
    }
    # Amount derived from quantity x price; returns are negative whether flagged by status or quantity.
    amounts = shop.orders.set_index([s.ORDER_ID, s.PRODUCT_ID])[s.AMOUNT]
    assert amounts[("O1", "P2")] == pytest.approx(10.0)
    assert amounts[("O3", "P3")] == pytest.approx(-50.0)
    assert amounts[("O6", "P2")] == pytest.approx(-5.0)
    # PII never reaches the stored customer table.
    assert "email" not in shop.customers.columns
    assert any("email" in note for note in shop.notes)


def test_customer_table_is_segmented_directly(formats_dir: Path) -> None:
    shop = load_shop(formats_dir / "customer_table.csv")
    assert shop.files[0].format == "customer-table"
    assert shop.orders is None
    assert len(shop.customer_ids()) == 40
    assert pd.api.types.is_numeric_dtype(shop.customers["buy_frequency"])
    report = shop.files[0]  # its rows are counted as kept (they were "kept 0" when given as orders)
    assert (report.rows_read, report.kept, report.quarantined) == (40, 40, 0)


def test_mapping_any_other_table(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    path.write_text("Client;Bestellung;Datum;Summe\nk1;b1;03.01.2024;19,90\nk2;b2;04.01.2024;5,00\n")
    mapping = {"orders": {"customer_id": "Client", "order_id": "Bestellung", "ts": "Datum", "amount": "Summe"}}
    shop = load_shop(path, mapping=mapping)
    assert list(shop.orders[s.CUSTOMER_ID]) == ["k1", "k2"]
    assert shop.orders[s.TS].iloc[0] == pd.Timestamp("2024-01-03")


def test_real_cdnow_master_all_customers(cdnow_dir: Path) -> None:
    shop = load_shop(cdnow_dir / "CDNOW_master.txt")
    assert shop.files[0].rows_read == 69_659
    assert len(shop.customer_ids()) == 23_570
    assert shop.files[0].quarantined == 0


def test_real_cdnow_sample(cdnow_dir: Path) -> None:
    shop = load_shop(cdnow_dir / "CDNOW_sample.txt")
    assert shop.files[0].rows_read == 6_919
    assert len(shop.customer_ids()) == 2_357
