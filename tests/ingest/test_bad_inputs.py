"""The bad-input corpus (tests/data/bad, see its README.md): every file gives either a clean
run with exact row and quarantine counts, or exit code 2 with a message naming the file
(and the line or column where it matters). Never a traceback, never a silently lost row.

Every case is checked in-process (what ``segment`` does before clustering: ``load_shop``
then ``require_customers``); a representative few also go through the real CLI.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import Workbook

from shopseg import load_shop
from shopseg import schema as s
from shopseg.errors import InputError, ShopsegError
from shopseg.ingest.load import require_customers
from shopseg.ingest.reading import MAX_FIELD_CHARS
from shopseg.runner import run_segmentation
from shopseg.shop import Shop

BAD = Path(__file__).parents[1] / "data" / "bad"
HEADER = "customer_id,order_id,ts,product_id,quantity,unit_price"

#: A quarantined row as (line, column or None, reason).
Rejected = tuple[int, str | None, str]


@dataclass(frozen=True)
class Clean:
    """The run goes through with these exact counts and quarantined rows."""

    read: int
    kept: int
    quarantined: int = 0
    duplicates: int = 0
    guests: int = 0
    customers: int | None = None
    rejected: tuple[Rejected, ...] = ()


@dataclass(frozen=True)
class Refused:
    """The run stops (exit code 2) with a message holding ``words``, the file name and line/column."""

    words: tuple[str, ...]
    line: int | None = None
    column: str | None = None


FUTURE = "date in the future"
NEGATIVE = "negative price"
NOT_FINITE = "not a finite number"
QUOTE_NEVER_CLOSED = "a quoted field opened here is never closed"
NO_CUSTOMER = "no customer is left to segment"
ABSURD_AMOUNT = "absurd amount (more than 10,000,000,000)"

CASES: dict[str, Clean | Refused] = {
    # -- the run stops: the file as a whole cannot be used ------------------------------
    "empty.csv": Refused(("is empty",)),
    "blank_lines_only.csv": Refused(("is empty",)),
    "header_only.csv": Refused(("has a header but no data rows",)),
    "wrong_delimiter.csv": Refused(("has a single column", "delimiter is not one of")),
    "missing_column.csv": Refused(("needs column 'ts'", "found: customer_id, order_id"), column="ts"),
    "missing_amount.csv": Refused(("needs column 'amount', or columns 'quantity' and 'unit_price'",)),
    "no_header.csv": Refused(("needs column 'customer_id'", "found: C1, O1"), column="customer_id"),
    "non_date_ts.csv": Refused(("10 of 10 rows are not dates", "Product P1"), column="ts"),
    "text_in_price.csv": Refused(("10 of 10 rows are not numbers", "call us"), column="unit_price"),
    "broken_quotes.csv": Refused((QUOTE_NEVER_CLOSED,), line=5),
    "broken_quotes_last_field.csv": Refused((QUOTE_NEVER_CLOSED,), line=4),
    "binary.bin": Refused(("not a text table", "binary data")),
    "corrupt.xlsx": Refused(("not a readable Excel workbook",)),
    "mixed_day_month.csv": Refused(
        (
            "mixes day-first and month-first dates",
            "2 rows can only be day/month (first: line 3, '13/01/2024 08:26')",
            "2 only month/day (first: line 6, '02/14/2024 21:45')",
            "the 3 rows that fit both",
            "--date-format day-first",
        ),
        column="ts",
    ),
    "corrupt.parquet": Refused(("not a readable Parquet file",)),
    "guests_only.csv": Refused((NO_CUSTOMER, "5 have no customer id", "--map customer_id=")),
    "all_rows_quarantined.csv": Refused((NO_CUSTOMER, "5 were quarantined", NEGATIVE), line=2, column="unit_price"),
    "empty_ts_column.csv": Refused((NO_CUSTOMER, "missing value"), line=2, column="ts"),
    # -- the run goes through; bad rows are quarantined with line, column and reason ------
    "latin1.csv": Clean(read=6, kept=6, customers=4),
    "semicolon_decimal_comma.csv": Clean(read=5, kept=5, customers=4),
    "utf16_bom.tsv": Clean(read=6, kept=6, customers=4),
    "utf8_bom.csv": Clean(read=5, kept=5, customers=3),
    "utf8_one_latin1_byte.csv": Clean(read=8, kept=8, customers=8),
    "stray_quotes.csv": Clean(read=6, kept=6, customers=5),
    "mixed_dates.csv": Clean(read=8, kept=8, customers=5),
    "quoted_multiline.csv": Clean(read=4, kept=3, quarantined=1, customers=2, rejected=((7, "unit_price", NEGATIVE),)),
    "crlf_blank_lines.csv": Clean(read=6, kept=5, quarantined=1, customers=4, rejected=((7, "ts", FUTURE),)),
    "negative_prices.csv": Clean(
        read=10, kept=8, quarantined=2, customers=5, rejected=((4, "unit_price", NEGATIVE), (7, "unit_price", NEGATIVE))
    ),
    "future_dates.csv": Clean(
        read=10,
        kept=7,
        quarantined=3,
        customers=4,
        rejected=((3, "ts", FUTURE), (6, "ts", FUTURE), (9, "ts", "date before 1970")),
    ),
    "nan_inf.csv": Clean(
        read=10,
        kept=5,
        quarantined=5,
        customers=4,
        rejected=(
            (2, "quantity", NOT_FINITE),
            (4, "unit_price", NOT_FINITE),
            (6, "unit_price", NOT_FINITE),
            (8, "quantity", NOT_FINITE),
            (10, "amount", "missing value"),
        ),
    ),
    "bad_values.csv": Clean(
        read=10,
        kept=5,
        quarantined=5,
        customers=4,
        rejected=(
            (2, "unit_price", "not a number"),
            (4, "quantity", "zero quantity"),
            (6, "quantity", "absurd quantity (more than 100,000)"),
            (8, "order_id", "missing value"),
            (10, "ts", "missing value"),
        ),
    ),
    "ragged_rows.csv": Clean(
        read=10,
        kept=8,
        quarantined=2,
        customers=5,
        rejected=((4, None, "expected 6 fields, found 7"), (7, None, "expected 6 fields, found 5")),
    ),
    "concatenated_exports.csv": Clean(
        read=11, kept=10, quarantined=1, customers=5, rejected=((7, "ts", "not a date"),)
    ),
    "duplicate_lines.csv": Clean(read=14, kept=11, duplicates=3, customers=5),
    "absurd_amounts.csv": Clean(
        read=9,
        kept=6,
        quarantined=3,
        customers=5,
        rejected=((3, "unit_price", ABSURD_AMOUNT), (5, "amount", ABSURD_AMOUNT), (7, "unit_price", ABSURD_AMOUNT)),
    ),
    "one_customer.csv": Clean(read=8, kept=8, customers=1),
    "all_customers_identical.csv": Clean(read=6, kept=6, customers=6),
}

#: Cases also run through the real CLI (each subprocess costs 1-2 s).
CLI_CASES = [
    "negative_prices.csv",
    "all_customers_identical.csv",
    "broken_quotes_last_field.csv",
    "binary.bin",
    "guests_only.csv",
]


def read_for_segmentation(path: Path) -> Shop:
    """What ``shopseg segment`` does before clustering: read, check, require a customer."""
    shop = load_shop(path)
    require_customers(shop)
    return shop


def quarantined_rows(shop: Shop) -> list[Rejected]:
    table = shop.quarantine
    columns = [None if pd.isna(c) else str(c) for c in table["column"]]
    return sorted(zip(table["line"].astype(int), columns, table["reason"], strict=True), key=lambda r: r[0])


def check_clean(shop: Shop, expected: Clean, source: str) -> None:
    report = shop.files[0]
    assert (report.rows_read, report.kept, report.quarantined, report.duplicates, report.guests) == (
        expected.read,
        expected.kept,
        expected.quarantined,
        expected.duplicates,
        expected.guests,
    )
    # No valid row is lost: every row read is kept, quarantined, a duplicate or a guest line.
    assert report.rows_read == report.kept + report.quarantined + report.duplicates + report.guests
    assert len(shop.orders) == expected.kept
    assert shop.orders[s.CUSTOMER_ID].nunique() == expected.customers
    assert quarantined_rows(shop) == list(expected.rejected)
    assert set(shop.quarantine["file"]) <= {source}


def check_refused(error: ShopsegError, expected: Refused, path: Path) -> None:
    assert isinstance(error, InputError) and error.path == str(path)
    check_message(str(error), expected, path)


def check_message(message: str, expected: Refused, path: Path) -> None:
    """One line that starts with the file and holds the expected words, line and column."""
    assert message.startswith(f"{path}:") or message.startswith(f"{path},")
    assert "\n" not in message
    for words in expected.words:
        assert words in message
    if expected.line is not None:
        assert f"line {expected.line}" in message
    if expected.column is not None:
        assert f"column '{expected.column}'" in message


def test_corpus_has_every_case() -> None:
    """The README lists every file, every file has an expectation, and the corpus is big enough."""
    files = {p.name for p in BAD.iterdir() if p.name != "README.md"}
    assert files == set(CASES)
    readme = (BAD / "README.md").read_text()
    assert all(f"`{name}`" in readme for name in files)
    assert len(files) >= 15


@pytest.mark.parametrize(("name", "expected"), CASES.items(), ids=list(CASES))
def test_bad_input_in_process(name: str, expected: Clean | Refused) -> None:
    path = BAD / name
    if isinstance(expected, Refused):
        with pytest.raises(ShopsegError) as info:
            read_for_segmentation(path)
        check_refused(info.value, expected, path)
    else:
        check_clean(read_for_segmentation(path), expected, str(path))


def test_folder_instead_of_file() -> None:
    with pytest.raises(InputError, match="is a folder, not a file") as info:
        load_shop(BAD)
    assert info.value.path == str(BAD)


def test_huge_field_is_quarantined(tmp_path: Path) -> None:
    path = tmp_path / "huge_field.csv"
    path.write_text(huge_field_csv())
    check_clean(
        load_shop(path),
        Clean(
            read=3,
            kept=2,
            quarantined=1,
            customers=2,
            rejected=((3, "description", f"field longer than {MAX_FIELD_CHARS:,} characters"),),
        ),
        str(path),
    )


def huge_field_csv() -> str:
    """Three order lines; the second has a 40,000-character description (a runaway export)."""
    return (
        f"{HEADER},description\n"
        "C1,O1,2024-01-05 10:00:00,P1,1,20.00,Tea pot\n"
        f"C2,O2,2024-01-06 10:00:00,P2,1,5.00,{'x' * 40_000}\n"
        "C3,O3,2024-01-07 10:00:00,P3,2,7.50,Cup\n"
    )


def test_excel_blank_rows_skipped_and_bad_rows_quarantined_by_sheet_row(tmp_path: Path) -> None:
    """An empty spreadsheet row is not a row (nor a guest); bad rows keep their sheet row number."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "Orders"
    sheet.append(HEADER.split(","))
    sheet.append(["C1", "O1", dt.datetime(2024, 1, 5, 10), "P1", 1, 20.0])
    sheet.append([None] * 6)
    sheet.append(["C2", "O2", dt.datetime(2024, 1, 6, 10), "P2", 1, -5.0])
    sheet.append([1001, "O3", "2024-01-07", "P3", 2, 5])
    path = tmp_path / "orders.xlsx"
    workbook.save(path)
    check_clean(
        load_shop(path),
        Clean(read=3, kept=2, quarantined=1, customers=2, rejected=((4, "unit_price", NEGATIVE),)),
        f"{path}[Orders]",
    )


# -- values that must come through exactly ------------------------------------------------


def test_latin1_text_survives() -> None:
    shop = load_shop(BAD / "latin1.csv")
    assert shop.files[0].encoding == "cp1252"
    assert set(shop.orders[s.CUSTOMER_ID]) == {"Zoé", "Jürgen", "Ångström", "Ñandú"}
    assert "Größe L £ sale" in set(shop.orders[s.DESCRIPTION])


def test_one_latin1_byte_in_a_utf8_file_spoils_only_its_line() -> None:
    """Issue 17: one pasted Latin-1 byte made the whole file decode as cp1252 (mojibake in every row)."""
    shop = load_shop(BAD / "utf8_one_latin1_byte.csv")
    report = shop.files[0]
    assert report.encoding == "utf-8" and report.lines_not_utf8 == 1
    assert any("1 line(s) hold bytes that are not valid UTF-8" in note and "line 6" in note for note in report.notes)
    assert {"Zoé", "Jürgen"} <= set(shop.orders[s.CUSTOMER_ID])
    assert set(shop.orders[s.DESCRIPTION]) >= {"Crème brûlée set", "Größe L", "Smørrebrød board", "Niño pack"}


def test_latin1_file_reads_as_cp1252_without_a_note() -> None:
    report = load_shop(BAD / "latin1.csv").files[0]
    assert report.lines_not_utf8 == 0 and not any("UTF-8" in note for note in report.notes)


def test_semicolon_decimal_commas_and_currency() -> None:
    shop = load_shop(BAD / "semicolon_decimal_comma.csv")
    assert list(shop.orders[s.AMOUNT]) == pytest.approx([19.9, 10.0, 1249.0, 5.0, 50.0])
    assert shop.orders[s.TS].iloc[0] == pd.Timestamp("2024-01-05 10:00")


def test_utf16_tab_separated() -> None:
    shop = load_shop(BAD / "utf16_bom.tsv")
    assert shop.files[0].encoding == "utf-16"
    assert list(shop.orders[s.CUSTOMER_ID].unique()) == ["C1", "C2", "C3", "C4"]


def test_stray_quotes_read_as_written() -> None:
    shop = load_shop(BAD / "stray_quotes.csv")
    assert list(shop.orders[s.DESCRIPTION]) == [
        'Monitor 24" wide',
        'Mug "Best mum" ever',
        "Lamp, brass",
        'Ruler 12" steel',
        "Vase large",
        "Plate",
    ]


def test_mixed_date_formats() -> None:
    shop = load_shop(BAD / "mixed_dates.csv")
    ts = shop.orders.set_index(s.ORDER_ID)[s.TS]
    assert ts.to_dict() == {
        "O1": pd.Timestamp("2024-01-05 10:00"),
        "O2": pd.Timestamp("2024-01-13 08:26"),
        "O3": pd.Timestamp("2024-02-01 18:05"),  # month first, as 1/13/2024 shows
        "O4": pd.Timestamp("2024-03-01"),
        "O5": pd.Timestamp("2024-02-14 21:45"),
        "O6": pd.Timestamp("2024-03-10"),
        "O7": pd.Timestamp("2024-03-28"),
        "O8": pd.Timestamp("2024-04-02 11:11"),  # epoch seconds
    }


@pytest.mark.parametrize(
    ("order", "rejected_lines", "o3"),
    [("day-first", [6, 8], "2024-02-03 18:05"), ("month-first", [3, 7], "2024-03-02 18:05")],
)
def test_mixed_day_month_read_in_the_order_the_user_names(order: str, rejected_lines: list[int], o3: str) -> None:
    """Issue 17: 12.5% of a column was silently day/month-swapped; now the user settles it, the rest is quarantined."""
    shop = load_shop(BAD / "mixed_day_month.csv", date_format=order)
    report = shop.files[0]
    assert (report.rows_read, report.kept, report.quarantined) == (8, 6, 2)
    assert quarantined_rows(shop) == [(line, "ts", "not a date") for line in rejected_lines]
    ts = shop.orders.set_index(s.ORDER_ID)[s.TS]
    assert ts["O3"] == pd.Timestamp(o3) and ts["O1"] == pd.Timestamp("2024-01-05 10:00")


def test_mixed_day_month_through_the_cli(tmp_path: Path) -> None:
    path = BAD / "mixed_day_month.csv"
    check_cli(path, CASES["mixed_day_month.csv"], tmp_path)
    result = shopseg("validate", "--orders", path, "--date-format", "day-first", cwd=tmp_path)
    assert result.returncode == 0 and "quarantined: 2 × not a date" in result.stdout


def test_negative_quantity_is_a_return_not_a_bad_row() -> None:
    orders = load_shop(BAD / "negative_prices.csv").orders.set_index(s.ORDER_ID)
    assert orders.at["O9", s.IS_RETURN]
    assert orders.at["O9", s.AMOUNT] == pytest.approx(-25.0)


def test_currency_with_thousands_separator() -> None:
    orders = load_shop(BAD / "bad_values.csv").orders.set_index(s.ORDER_ID)
    assert orders.at["O10", s.UNIT_PRICE] == pytest.approx(1234.0)


# -- through the real command line -------------------------------------------------------


def shopseg(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run ``python -m shopseg ARGS`` and check that it never prints a traceback."""
    result = subprocess.run(
        [sys.executable, "-m", "shopseg", *map(str, args)], capture_output=True, text=True, timeout=180, cwd=cwd
    )
    assert "Traceback" not in result.stdout + result.stderr
    return result


def check_cli(path: Path, expected: Clean | Refused, tmp_path: Path) -> dict[str, object] | None:
    """Segment ``path`` with the CLI; check the exit code, message, run.json and quarantine.csv."""
    out = tmp_path / "out"
    result = shopseg("segment", "--orders", path, "--out", out, cwd=tmp_path)
    if isinstance(expected, Refused):
        assert result.returncode == 2, result.stderr
        assert result.stderr.startswith("Error: ")
        check_message(result.stderr.removeprefix("Error: ").strip(), expected, path)
        assert not out.exists() or not any(out.iterdir())  # nothing half-written
        return None
    assert result.returncode == 0, result.stderr
    record = json.loads((out / "run.json").read_text())
    assert record["rows"] == {
        "rows_read": expected.read,
        "rows_kept": expected.kept,
        "rows_quarantined": expected.quarantined,
        "duplicates_dropped": expected.duplicates,
        "guest_rows": expected.guests,
    }
    assert expected.read == expected.kept + expected.quarantined + expected.duplicates + expected.guests
    assert record["customers_segmented"] == expected.customers
    with (out / "quarantine.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == expected.quarantined
    assert {row["file"] for row in rows} <= {str(path)}
    assert sorted((int(r["line"]), r["column"] or None, r["reason"]) for r in rows) == list(expected.rejected)
    return record


@pytest.mark.parametrize("name", CLI_CASES)
def test_bad_input_through_cli(name: str, tmp_path: Path) -> None:
    record = check_cli(BAD / name, CASES[name], tmp_path)
    if name == "all_customers_identical.csv":
        assert record["model"]["k_chosen"] == 1
        assert "fewer than two distinct customers: one segment" in record["notes"]


def test_one_customer_reads_clean_but_is_too_few_to_segment(tmp_path: Path) -> None:
    """The whole run in-process (what ``segment`` does after parsing its flags): two segments need four customers."""
    path = BAD / "one_customer.csv"
    with pytest.raises(InputError) as info:
        run_segmentation(tmp_path / "out", orders=path)
    check_message(str(info.value), Refused(("only 1 customer to segment", "needs at least 4")), path)
    assert not (tmp_path / "out" / "run.json").exists()


def test_validate_command_reports_and_writes_quarantine(tmp_path: Path) -> None:
    path = BAD / "nan_inf.csv"
    result = shopseg("validate", "--orders", path, "--out", tmp_path / "checked", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "quarantined: 4 × not a finite number" in result.stdout
    assert "quarantined: 1 × missing value" in result.stdout
    assert "4 customers can be segmented." in result.stdout
    with (tmp_path / "checked" / "quarantine.csv").open(newline="") as handle:
        assert [int(row["line"]) for row in csv.DictReader(handle)] == [2, 4, 6, 8, 10]
    assert not list(tmp_path.glob(".checked-tmp-*"))  # the temporary folder is gone
