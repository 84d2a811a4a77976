"""Turn a table of strings with canonical column names into typed, checked rows.

Rules (each rejected row goes to the quarantine with file, line, column, value, reason):

* a required value that is missing, a number that is not a number (or NaN/inf), a date
  that cannot be read, a date in the future or before 1970;
* a date column that mixes day-first and month-first values stops the run (naming lines of
  both kinds) until ``date_format`` says which order holds;
* order lines: a negative unit price, a zero quantity, an absurd quantity
  (``|quantity| > max_quantity``), an absurd price or line amount (over ``max_amount``,
  :data:`MAX_AMOUNT`: no shop sells a line worth more; ``1e308`` would make every sum infinite);
* reviews: a rating outside 0..10.

A whole column that is mostly unreadable is not a row problem but a wrong column or
format: the run stops with an :class:`~shopseg.errors.InputError` naming file and column.

Order lines without a customer id are *guests*: counted and reported, not segmented.
Returns (negative quantity or amount, a return/cancel status, or an adapter's hint such
as a ``C`` invoice) keep their row with ``is_return`` true and a negative amount.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from shopseg import schema as s
from shopseg.errors import InputError
from shopseg.ingest.dates import DAY_FIRST, MONTH_FIRST, MixedDateOrder, parse_dates
from shopseg.ingest.reading import LINE, SOURCE

#: Adapters may set this boolean column to mark lines that are returns (e.g. ``C`` invoices).
RETURN_HINT = "__return_hint__"

#: A column where more than this share of non-empty values is unreadable stops the run.
MAX_BAD_SHARE = 0.5

QUARANTINE_COLUMNS = ["file", "line", "column", "value", "reason"]
#: The largest unit price or line amount accepted (in the file's currency): ten billion.
MAX_AMOUNT = 1e10
_CURRENCY = r"^\s*[£$€¥]|[£$€¥]\s*$"
_NON_FINITE = ("nan", "inf", "-inf", "+inf", "infinity", "-infinity")


@dataclass
class Checked:
    """The typed rows that passed, the rows that did not, and how many guests were set aside."""

    frame: pd.DataFrame
    quarantine: pd.DataFrame
    guests: int = 0


class _Rejections:
    """Collects the first reason each row is rejected for."""

    def __init__(self, frame: pd.DataFrame) -> None:
        self.frame = frame
        self.reason = pd.Series(pd.NA, index=frame.index, dtype="object")
        self.column = pd.Series(pd.NA, index=frame.index, dtype="object")

    def add(self, mask: pd.Series, column: str, reason: str) -> None:
        new = mask.fillna(False).astype(bool) & self.reason.isna()
        self.reason[new] = reason
        self.column[new] = column

    @property
    def rejected(self) -> pd.Series:
        return self.reason.notna()

    def table(self) -> pd.DataFrame:
        bad = self.rejected
        if not bad.any():
            return pd.DataFrame(columns=QUARANTINE_COLUMNS)
        rows = self.frame.loc[bad]
        values = [
            _shown(rows.at[index, column]) if column in rows.columns else ""
            for index, column in zip(rows.index, self.column[bad], strict=True)
        ]
        return pd.DataFrame(
            {
                "file": rows[SOURCE].to_numpy(),
                "line": rows[LINE].to_numpy(),
                "column": self.column[bad].to_numpy(),
                "value": values,
                "reason": self.reason[bad].to_numpy(),
            }
        )


def _shown(value: object) -> str:
    """A rejected value as the quarantine shows it: text, at most 200 characters, "" when missing."""
    return "" if value is None or (not isinstance(value, str) and pd.isna(value)) else str(value)[:200]


def _text(frame: pd.DataFrame, column: str) -> pd.Series:
    return frame[column].astype("string").fillna("").str.strip()


def _mostly_bad(path: object, column: str, raw: pd.Series, bad: pd.Series, what: str, hint: str) -> None:
    """Stop the run when most non-empty values of a column cannot be read."""
    present = raw != ""
    n_present = int(present.sum())
    n_bad = int((bad & present).sum())
    if n_present and n_bad > MAX_BAD_SHARE * n_present:
        first = raw[bad & present].index[0]
        raise InputError(
            path,
            f"{n_bad:,} of {n_present:,} rows are not {what} (first: value '{str(raw[first])[:60]}').",
            column=column,
            hint=hint,
        )


def parse_number(raw: pd.Series) -> pd.Series:
    """Numbers from strings, tolerating currency signs and thousands separators like ``1,234.5``.

    A column written with decimal commas (``19,90``, ``1.234,50``; European exports) is
    recognised as a whole: when that reading parses more values than the dot reading.
    """
    # Plain numbers (the common case) parse in one vectorised call; only a column with
    # anything else (currency signs, separators, spaces) takes the regex path below, which
    # runs per value in Python (about 10x slower on millions of rows).
    plain = pd.to_numeric(raw, errors="coerce")
    if not (plain.isna() & raw.ne("") & raw.notna()).any():
        return plain.astype("float64")
    bare = raw.str.replace(_CURRENCY, "", regex=True).str.strip()
    dotted = pd.to_numeric(
        bare.str.replace(r"(?<=\d),(?=\d{3}\b)", "", regex=True).replace("", np.nan), errors="coerce"
    ).astype("float64")
    if bare.str.contains(",", regex=False).any():
        comma = pd.to_numeric(
            bare.str.replace(".", "", regex=False).str.replace(",", ".", regex=False).replace("", np.nan),
            errors="coerce",
        ).astype("float64")
        if comma.notna().sum() > dotted.notna().sum():
            return comma
    return dotted


def check_table(
    frame: pd.DataFrame,
    spec: s.TableSpec,
    path: object,
    *,
    date_format: str | None = None,
    now: pd.Timestamp | None = None,
    max_quantity: float = 100_000,
    max_amount: float = MAX_AMOUNT,
) -> Checked:
    """Type and check one canonical table; see the module docstring for the rules."""
    _require_columns(frame, spec, path)
    now = now if now is not None else pd.Timestamp.now().normalize() + pd.Timedelta(days=2)
    frame = frame.reset_index(drop=True)
    guests = 0
    if s.CUSTOMER_ID in spec.required and spec.name != "customers":
        is_guest = _text(frame, s.CUSTOMER_ID) == ""
        guests = int(is_guest.sum())
        frame = frame.loc[~is_guest].reset_index(drop=True)
    rejections = _Rejections(frame)
    typed = frame[[LINE, SOURCE]].copy()

    for column in frame.columns:
        if column in (LINE, SOURCE):
            continue
        kind = s.column_type(spec, column)
        if kind is None and column != RETURN_HINT:
            kind = "auto"
        dtype = frame[column].dtype
        if kind == "ts" and pd.api.types.is_datetime64_dtype(dtype):
            kind = "typed ts"  # typed timestamps (Parquet): nothing to parse, only the range rules
        elif (
            kind in ("float", "int") and pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype)
        ):
            kind = "typed number"  # typed numbers (Parquet): only finiteness to check
        raw = frame[column] if column == RETURN_HINT or kind.startswith("typed") else _text(frame, column)
        if column == RETURN_HINT:
            typed[column] = frame[column].astype(bool)
        elif kind == "id":
            if column in spec.required:
                rejections.add(raw == "", column, "missing value")
            # An optional id left blank (a line without a product) is missing, not a product named "".
            typed[column] = raw.astype(object).where(raw != "", None)
        elif kind == "typed ts":
            if column in spec.required:
                rejections.add(raw.isna(), column, "missing value")
            future, early = raw > now, raw < pd.Timestamp("1970-01-01")
            rejections.add(future, column, "date in the future")
            rejections.add(early, column, "date before 1970")
            typed[column] = raw.where(~(future | early)).astype("datetime64[ns]")  # rejected rows may not fit ns
        elif kind == "typed number":
            number = raw.astype("float64")
            rejections.add(number.notna() & ~np.isfinite(number.fillna(0)), column, "not a finite number")
            typed[column] = number.where(np.isfinite(number))
        elif kind == "ts":
            try:
                parsed = parse_dates(raw, date_format)
            except MixedDateOrder as mixed:
                raise _mixed_date_order(path, column, raw, frame[LINE], mixed) from None
            unreadable = parsed.isna() & (raw != "")
            _mostly_bad(path, column, raw, unreadable, "dates", "Use --date-format (e.g. %d/%m/%Y) or --map ts=COLUMN.")
            if column in spec.required:
                rejections.add(raw == "", column, "missing value")
            rejections.add(unreadable, column, "not a date")
            rejections.add(parsed > now, column, "date in the future")
            rejections.add(parsed < pd.Timestamp("1970-01-01"), column, "date before 1970")
            typed[column] = parsed
        elif kind in ("float", "int"):
            number = parse_number(raw)
            spelled_non_finite = raw.str.lower().isin(_NON_FINITE)
            not_number = number.isna() & (raw != "") & ~spelled_non_finite
            non_finite = spelled_non_finite | ~np.isfinite(number.fillna(0))
            _mostly_bad(path, column, raw, not_number, "numbers", f"Check that '{column}' is the right column (--map).")
            rejections.add(not_number, column, "not a number")
            rejections.add(non_finite, column, "not a finite number")
            typed[column] = number.where(np.isfinite(number))
        elif kind == "auto":
            typed[column] = _auto_type(raw)
        else:  # text / category
            typed[column] = raw.astype(object)

    if spec.name == "orders":
        typed = _check_order_lines(typed, rejections, max_quantity, max_amount)
    elif spec.name == "reviews" and s.RATING in typed:
        rejections.add((typed[s.RATING] < 0) | (typed[s.RATING] > 10), s.RATING, "rating outside 0..10")

    quarantine = rejections.table()
    kept = typed.loc[~rejections.rejected].reset_index(drop=True)
    return Checked(frame=kept, quarantine=quarantine, guests=guests)


def _mixed_date_order(path: object, column: str, raw: pd.Series, lines: pd.Series, mixed: MixedDateOrder) -> InputError:
    """The error for a date column that mixes day-first and month-first values (see ingest.dates)."""

    def first(mask: pd.Series) -> str:
        where = mask.fillna(False).to_numpy(dtype=bool)
        return f"first: line {lines[where].iloc[0]}, '{raw[where].iloc[0]}'"

    n_day, n_month = int(mixed.day_first.fillna(False).sum()), int(mixed.month_first.fillna(False).sum())
    return InputError(
        path,
        f"mixes day-first and month-first dates: {n_day:,} rows can only be day/month ({first(mixed.day_first)}) "
        f"and {n_month:,} only month/day ({first(mixed.month_first)}), so the {mixed.ambiguous:,} rows that fit "
        "both (like 03/04/2024) cannot be read safely.",
        column=column,
        hint=f"Say which order holds with --date-format {DAY_FIRST} or --date-format {MONTH_FIRST} "
        "(rows in the other order are then quarantined), or give the exact pattern (e.g. %d/%m/%Y).",
    )


def _auto_type(raw: pd.Series) -> pd.Series:
    """Extra columns (customer attributes): numeric when nearly all values are numbers."""
    number = parse_number(raw)
    present = raw != ""
    if present.any() and number[present].notna().mean() >= 0.95:
        return number
    return raw.replace("", pd.NA).astype(object)


def _require_columns(frame: pd.DataFrame, spec: s.TableSpec, path: object) -> None:
    found = [c for c in frame.columns if c not in (LINE, SOURCE, RETURN_HINT)]
    missing = [c for c in spec.required if c not in frame.columns]
    has_alternative = any(all(c in frame.columns for c in group) for group in spec.alternatives)
    if not missing and spec.alternatives and not has_alternative:
        groups = [" and ".join(f"'{c}'" for c in group) for group in spec.alternatives]
        raise InputError(
            path,
            f"the {spec.name} table needs column {', or columns '.join(groups)} (found: {', '.join(found[:12])}).",
            hint=f"Rename the columns or map them, e.g. --map {spec.alternatives[0][0]}=YOUR_COLUMN.",
        )
    if missing:
        raise InputError(
            path,
            f"the {spec.name} table needs column '{missing[0]}', which is missing (found: {', '.join(found[:12])}).",
            column=missing[0],
            hint=f"Rename the column or map it, e.g. --map {missing[0].split(' ')[0]}=YOUR_COLUMN.",
        )


def _check_order_lines(
    typed: pd.DataFrame, rejections: _Rejections, max_quantity: float, max_amount: float
) -> pd.DataFrame:
    """Order-line rules: prices, quantities, amounts and the return flag."""
    absurd = f"absurd amount (more than {max_amount:,.0f})"
    if s.UNIT_PRICE in typed:
        rejections.add(typed[s.UNIT_PRICE] < 0, s.UNIT_PRICE, "negative price")
        rejections.add(typed[s.UNIT_PRICE] > max_amount, s.UNIT_PRICE, absurd)
    if s.QUANTITY in typed:
        rejections.add(typed[s.QUANTITY] == 0, s.QUANTITY, "zero quantity")
        rejections.add(
            typed[s.QUANTITY].abs() > max_quantity, s.QUANTITY, f"absurd quantity (more than {max_quantity:,.0f})"
        )
    if s.AMOUNT not in typed:
        typed[s.AMOUNT] = typed[s.QUANTITY] * typed[s.UNIT_PRICE]
    elif s.QUANTITY in typed and s.UNIT_PRICE in typed:
        typed[s.AMOUNT] = typed[s.AMOUNT].fillna(typed[s.QUANTITY] * typed[s.UNIT_PRICE])
    rejections.add(typed[s.AMOUNT].isna(), s.AMOUNT, "missing value")
    # quantity x price can overflow to infinity even when both are finite
    rejections.add(~np.isfinite(typed[s.AMOUNT].fillna(0)) | (typed[s.AMOUNT].abs() > max_amount), s.AMOUNT, absurd)

    is_return = typed[s.AMOUNT] < 0
    if s.QUANTITY in typed:
        is_return |= typed[s.QUANTITY] < 0
    if s.STATUS in typed:
        is_return |= typed[s.STATUS].astype("string").str.lower().isin(s.RETURN_STATUSES).fillna(False)
    if RETURN_HINT in typed:
        is_return |= typed.pop(RETURN_HINT)
    typed[s.IS_RETURN] = is_return.astype(bool)
    typed[s.AMOUNT] = np.where(is_return, -typed[s.AMOUNT].abs(), typed[s.AMOUNT].abs())
    if s.QUANTITY in typed:
        typed[s.QUANTITY] = np.where(is_return, -typed[s.QUANTITY].abs(), typed[s.QUANTITY].abs())
    return typed
