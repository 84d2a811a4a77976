"""Canonical Parquet tables read straight into Spark, typed and checked by the local loader's rules.

``shopseg assign --engine spark`` on Parquet inputs reads them here, so no table passes
through the driver's memory. The files (or folders of part files) must already use the
canonical column names of :mod:`shopseg.schema` (``shopseg generate --format parquet`` and
most warehouse exports can; anything that needs ``--map``, ``--format`` or another file type
goes through the local loader first). The rules are those of
:mod:`shopseg.ingest.validate`, applied as Spark expressions:

* rows without a customer id are guests: counted, left out, not quarantined;
* a missing required value, a number that is not finite (or text that is not a number), a
  timestamp that is missing, unreadable (text is read as ISO 8601), in the future or before
  1970; order lines: a negative price, a zero or absurd quantity, no amount to be had;
  reviews: a rating outside 0..10. The first reason per row is kept;
* order lines: ``amount`` = quantity x unit price where missing; returns (negative amount
  or quantity, a return status) get ``is_return`` and a negative amount and quantity;
* lines identical in every column to another are dropped and counted (Spark keeps one of
  them; files have no order to keep "the first" by), and one row per product id.

Rejected rows keep every column plus ``reject_column`` and ``reject_reason``; nothing is
dropped without being counted (:attr:`SparkTable.counts`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from shopseg import schema as s
from shopseg.errors import InputError
from shopseg.ingest.reading import is_parquet

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame, SparkSession

REJECT_COLUMN, REJECT_REASON = "reject_column", "reject_reason"
#: As the local loader: a quantity above this (in absolute value) is not an order line.
MAX_QUANTITY = 100_000.0


@dataclass
class SparkTable:
    """A checked table: ``kept`` rows (canonical, typed), ``rejected`` rows with their reason, and counts."""

    name: str
    kept: DataFrame
    rejected: DataFrame
    counts: dict[str, int] = field(default_factory=dict)


def _typed(table: DataFrame, column: str, kind: str) -> tuple[Column, Column]:
    """(typed value, "present but unreadable") for one column of a known logical type."""
    from pyspark.sql import functions as f
    from pyspark.sql import types as t

    data_type = table.schema[column].dataType
    raw = f.col(column)
    if kind == "ts":
        if isinstance(data_type, (t.TimestampType, t.TimestampNTZType, t.DateType)):
            return raw.cast("timestamp"), f.lit(False)
        text = f.trim(raw.cast("string"))
        value = f.try_to_timestamp(text)
        return value, value.isNull() & text.isNotNull() & (text != "")
    if kind in ("float", "int"):
        if isinstance(data_type, t.NumericType):
            return raw.cast("double"), f.lit(False)
        text = f.trim(raw.cast("string"))
        value = text.try_cast("double")
        return value, value.isNull() & text.isNotNull() & (text != "")
    text = f.trim(raw.cast("string"))
    return f.when(text != "", text), f.lit(False)


def _first(rules: list[tuple[Column, str, str]]) -> tuple[Column, Column]:
    """(column, reason) of the first rule a row breaks (nulls when it breaks none)."""
    from pyspark.sql import functions as f

    if not rules:
        return f.lit(None).cast("string"), f.lit(None).cast("string")
    column = f.coalesce(*(f.when(condition, f.lit(name)) for condition, name, _ in rules))
    reason = f.coalesce(*(f.when(condition, f.lit(why)) for condition, _, why in rules))
    return column, reason


def check_table(table: DataFrame, spec: s.TableSpec, source: str, now: pd.Timestamp) -> SparkTable:
    """Type and check one canonical Spark table by ``spec``'s rules; see the module docstring."""
    from pyspark.sql import functions as f

    columns = [c for c in table.columns if s.column_type(spec, c) is not None]
    missing = [c for c in spec.required if c not in table.columns]
    if missing:
        raise InputError(
            source,
            f"the {spec.name} table needs column '{missing[0]}', which is missing (found: "
            f"{', '.join(table.columns[:12])}).",
            column=missing[0],
            hint="The Spark reader takes canonical column names; for other files run without --engine spark "
            "or rename the columns.",
        )
    if spec.alternatives and not any(all(c in table.columns for c in group) for group in spec.alternatives):
        groups = " or ".join(" and ".join(group) for group in spec.alternatives)
        raise InputError(source, f"the {spec.name} table needs {groups}.", hint="Rename the columns.")
    typed, rules = {}, []
    for column in columns:
        kind = s.column_type(spec, column) or "text"
        value, unreadable = _typed(table, column, kind)
        typed[column] = value
        if column in spec.required:
            rules.append((value.isNull() & ~unreadable, column, "missing value"))
        if kind == "ts":
            rules += [
                (unreadable, column, "not a date"),
                (value > f.lit(now.to_pydatetime()), column, "date in the future"),
                (value < f.lit(pd.Timestamp("1970-01-01").to_pydatetime()), column, "date before 1970"),
            ]
        elif kind in ("float", "int"):
            rules += [(unreadable, column, "not a number"), (f.isnan(value), column, "not a finite number")]
            rules.append((f.abs(value) == float("inf"), column, "not a finite number"))
    if spec.name == "orders":
        typed, rules = _order_rules(typed, rules)
    elif spec.name == "reviews" and s.RATING in typed:
        rules.append(((typed[s.RATING] < 0) | (typed[s.RATING] > 10), s.RATING, "rating outside 0..10"))
    reject_column, reject_reason = _first(rules)
    guest = typed[s.CUSTOMER_ID].isNull() if s.CUSTOMER_ID in spec.required and spec.name != "customers" else None
    marked = table.select(
        *(f.col(c) for c in table.columns),
        *(typed[c].alias(f"typed_{c}") for c in typed),
        reject_column.alias(REJECT_COLUMN),
        reject_reason.alias(REJECT_REASON),
        (guest if guest is not None else f.lit(False)).alias("guest_"),
    )
    counted = marked.groupBy().agg(
        f.count(f.lit(1)).alias("rows_read"),
        f.sum(f.col("guest_").cast("long")).alias("guests"),
        f.sum((~f.col("guest_") & f.col(REJECT_REASON).isNotNull()).cast("long")).alias("quarantined"),
    )
    counts = {k: int(v or 0) for k, v in counted.collect()[0].asDict().items()}
    rejected = marked.where(~f.col("guest_") & f.col(REJECT_REASON).isNotNull()).select(
        *table.columns, REJECT_COLUMN, REJECT_REASON
    )
    kept = marked.where(~f.col("guest_") & f.col(REJECT_REASON).isNull()).select(
        *(f.col(f"typed_{c}").alias(c) for c in typed)
    )
    before = counts["rows_read"] - counts["guests"] - counts["quarantined"]
    kept = kept.dropDuplicates([s.PRODUCT_ID]) if spec.name == "products" else kept.dropDuplicates()
    counts["duplicates"] = before - kept.count()
    counts["kept"] = before - counts["duplicates"]
    return SparkTable(spec.name, kept, rejected, counts)


def _order_rules(
    typed: dict[str, Column], rules: list[tuple[Column, str, str]]
) -> tuple[dict[str, Column], list[tuple[Column, str, str]]]:
    """Prices, quantities, amounts and the return flag of order lines (as the local loader)."""
    from pyspark.sql import functions as f

    quantity, price = typed.get(s.QUANTITY), typed.get(s.UNIT_PRICE)
    if price is not None:
        rules.append((price < 0, s.UNIT_PRICE, "negative price"))
    if quantity is not None:
        rules.append((quantity == 0, s.QUANTITY, "zero quantity"))
        rules.append((f.abs(quantity) > MAX_QUANTITY, s.QUANTITY, f"absurd quantity (more than {MAX_QUANTITY:,.0f})"))
    product = quantity * price if quantity is not None and price is not None else None
    amount = typed.get(s.AMOUNT)
    amount = product if amount is None else (f.coalesce(amount, product) if product is not None else amount)
    rules.append((amount.isNull(), s.AMOUNT, "missing value"))
    is_return = amount < 0
    if quantity is not None:
        is_return = is_return | (quantity < 0)
    if s.STATUS in typed:
        is_return = is_return | f.lower(typed[s.STATUS]).isin(*sorted(s.RETURN_STATUSES))
    is_return = f.coalesce(is_return, f.lit(False))
    typed[s.IS_RETURN] = is_return
    typed[s.AMOUNT] = f.when(is_return, -f.abs(amount)).otherwise(f.abs(amount))
    if quantity is not None:
        typed[s.QUANTITY] = f.when(is_return, -f.abs(quantity)).otherwise(f.abs(quantity))
    return typed, rules


def read_tables(
    spark: SparkSession, paths: dict[str, str | Path], now: pd.Timestamp | None = None
) -> dict[str, SparkTable]:
    """{role: checked table} for canonical Parquet files or folders given as {role: path}."""
    now = now if now is not None else pd.Timestamp.now().normalize() + pd.Timedelta(days=2)
    tables = {}
    for role, path in paths.items():
        if role not in s.TABLES:
            raise InputError(path, f"'{role}' is not a table shopseg reads (known: {', '.join(s.TABLES)}).")
        if not is_parquet(path):
            raise InputError(path, "is not a Parquet file or a folder of .parquet files.", hint="Use the local engine.")
        tables[role] = check_table(spark.read.parquet(str(path)), s.TABLES[role], str(path), now)
    return tables
