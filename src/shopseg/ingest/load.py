"""Read a shop's files into a :class:`~shopseg.shop.Shop`: read, map, detect, check.

For each file the user gives (as orders, customers, products, reviews or events):

1. read it as strings with line numbers (:mod:`~shopseg.ingest.reading`);
2. rename columns by the user's mapping, if any;
3. detect or take the named format;
4. drop exact duplicate lines (counted), except in formats whose lines are purchases
   without an order id (CDNOW: two identical lines are two purchases), and adapt the
   file into canonical tables;
5. type and check every row (:mod:`~shopseg.ingest.validate`); rejected rows go to the
   quarantine with file, line, column and reason;
6. remove PII columns from the customer table, and pseudonymise ids when asked.
"""

from __future__ import annotations

import hashlib
import shlex
from pathlib import Path

import pandas as pd

from shopseg import schema as s
from shopseg.errors import ConfigError, InputError
from shopseg.ingest.formats import FORMATS, detect_format
from shopseg.ingest.formats.base import normalise
from shopseg.ingest.privacy import drop_pii_columns, mask_quarantine, pseudonymise_ids
from shopseg.ingest.reading import LINE, SOURCE, RawTable, read_table
from shopseg.ingest.validate import QUARANTINE_COLUMNS, check_table
from shopseg.shop import FileReport, Shop

ROLES = ("orders", "customers", "products", "reviews", "events")
#: Tables with one row per key; repeated keys are quarantined (the first row is kept).
ONE_ROW_PER_KEY = {"customers": s.CUSTOMER_ID, "products": s.PRODUCT_ID}


def file_sha256(path: Path) -> str:
    """SHA-256 of a file's bytes, for the run record."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def shadowed_by_mapping(columns: list[str], mapping: dict[str, str]) -> list[str]:
    """Columns that already carry a mapped canonical name (and are not mapped themselves): they give way.

    One rule for every engine that reads ``--map`` (the loader here, the chunked split in SQL).
    """
    sources = set(mapping.values())
    return [c for c in mapping if c in columns and c not in sources]


def apply_mapping(raw: RawTable, mapping: dict[str, str]) -> None:
    """Rename the file's columns to canonical names: ``mapping`` is {canonical: file column}.

    A column that already has a mapped canonical name (and is not itself mapped) gives way:
    the user's mapping says which column holds that value.
    """
    if not mapping:
        return
    missing = [source for source in mapping.values() if source not in raw.frame.columns]
    if missing:
        raise ConfigError(
            f"{raw.path}: the mapping names column '{missing[0]}', which the file does not have "
            f"(its columns: {', '.join(raw.columns[:15])})."
        )
    shadowed = shadowed_by_mapping(list(raw.frame.columns), mapping)
    raw.frame = raw.frame.drop(columns=shadowed).rename(
        columns={source: canonical for canonical, source in mapping.items()}
    )


def drop_duplicate_lines(raw: RawTable) -> int:
    """Drop lines identical in every field to an earlier line; return how many were dropped."""
    if raw.frame.empty:
        return 0
    duplicated = raw.frame.duplicated(subset=raw.columns, keep="first")
    raw.frame = raw.frame.loc[~duplicated].reset_index(drop=True)
    return int(duplicated.sum())


def _drop_repeated_keys(frame: pd.DataFrame, key: str, table: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Keep the first row per key in one-row-per-key tables; quarantine the repeats."""
    repeated = frame[key].duplicated(keep="first")
    if not repeated.any():
        return frame, pd.DataFrame(columns=QUARANTINE_COLUMNS)
    rows = frame.loc[repeated]
    quarantine = pd.DataFrame(
        {
            "file": rows[SOURCE].to_numpy() if SOURCE in rows else "",
            "line": rows[LINE].to_numpy() if LINE in rows else 0,
            "column": key,
            "value": rows[key].astype(str).to_numpy(),
            "reason": f"repeated {key} in the {table} table (first row kept)",
        }
    )
    return frame.loc[~repeated].reset_index(drop=True), quarantine


def load_shop(
    orders: str | Path | None = None,
    customers: str | Path | None = None,
    products: str | Path | None = None,
    reviews: str | Path | None = None,
    events: str | Path | None = None,
    *,
    format: str | None = None,
    mapping: dict[str, dict[str, str]] | None = None,
    date_format: str | None = None,
    pseudonymise_key: str | None = None,
    now: pd.Timestamp | None = None,
) -> Shop:
    """Read and check a shop's files; see the module docstring.

    ``format`` names the layout of the orders file (or of the customers file when it is
    the only one); ``mapping`` is {table: {canonical column: file column}}.
    """
    paths = {"orders": orders, "customers": customers, "products": products, "reviews": reviews, "events": events}
    given = {role: Path(path) for role, path in paths.items() if path is not None}
    if not given:
        raise ConfigError("No input given: pass --orders PATH (and optionally --customers, --products, ...).")
    if format is not None and format not in FORMATS:
        raise ConfigError(f"Unknown format '{format}'. Known formats: {', '.join(FORMATS)}.")
    mapping = mapping or {}
    main_role = "orders" if "orders" in given else next(iter(given))

    tables: dict[str, pd.DataFrame] = {}
    derived: dict[str, pd.DataFrame] = {}
    quarantines: list[pd.DataFrame] = []
    reports: list[FileReport] = []
    for role, path in given.items():
        raw = read_table(path)
        apply_mapping(raw, mapping.get(role, {}))
        named = format if role == main_role else None
        fmt = detect_format(raw, role, "canonical" if mapping.get(role) and not named else named)
        duplicates = 0 if getattr(fmt, "lines_are_purchases", False) else drop_duplicate_lines(raw)
        report = FileReport(
            path=str(path),
            role=role,
            format=fmt.name,
            sha256=file_sha256(path),
            encoding=raw.encoding,
            rows_read=raw.rows_read,
            lines_not_utf8=raw.legacy_lines,
            duplicates=duplicates,
            notes=list(raw.notes),
        )
        if raw.rejected:
            quarantines.append(pd.DataFrame(raw.rejected, columns=QUARANTINE_COLUMNS))
        adapted = fmt.adapt(raw, role)
        for table_name, frame in adapted.items():
            checked = check_table(frame, s.TABLES[table_name], path, date_format=date_format, now=now)
            kept, rejected = checked.frame, [checked.quarantine]
            if table_name in ONE_ROW_PER_KEY:
                kept, repeats = _drop_repeated_keys(kept, ONE_ROW_PER_KEY[table_name], table_name)
                rejected.append(repeats)
            quarantines.extend(rejected)
            if table_name != role:  # derived by the adapter, e.g. customers from order lines
                derived[table_name] = kept
                if role not in adapted:  # the file's rows themselves (a customer table given as orders)
                    report.kept += len(kept)
                    report.guests += checked.guests
                    report.quarantined += sum(len(q) for q in rejected)
                continue
            tables[table_name] = kept
            report.guests += checked.guests
            report.quarantined += sum(len(q) for q in rejected)
            report.kept += len(kept)
        report.quarantined += len(raw.rejected)
        reports.append(report)

    for name, frame in derived.items():
        tables.setdefault(name, frame)
    notes: list[str] = []
    if "customers" in tables:
        tables["customers"], dropped = drop_pii_columns(tables["customers"])
        if dropped:
            notes.append(f"PII columns removed from the customer table: {', '.join(dropped)}")
    if "products" not in tables and "orders" in tables and s.DESCRIPTION in tables["orders"]:
        tables["products"] = products_from_order_lines(tables["orders"])
    if pseudonymise_key:
        tables = pseudonymise_ids(tables, pseudonymise_key)
        notes.append("customer ids pseudonymised (HMAC-SHA256)")
    quarantine = (
        pd.concat([q for q in quarantines if not q.empty], ignore_index=True)
        if any(not q.empty for q in quarantines)
        else pd.DataFrame(columns=QUARANTINE_COLUMNS)
    )
    if pseudonymise_key:
        quarantine = mask_quarantine(quarantine, pseudonymise_key)
    shop = Shop(files=reports, quarantine=quarantine, notes=notes, **{k: _finish(v) for k, v in tables.items()})
    return shop


def _numeric_attributes(customers: pd.DataFrame | None) -> list[str]:
    if customers is None:
        return []
    return [
        c
        for c in customers.columns
        if c != s.CUSTOMER_ID and pd.api.types.is_numeric_dtype(customers[c]) and customers[c].notna().any()
    ]


def require_order_lines(shop: Shop, command: str = "segment") -> None:
    """Stop with an :class:`~shopseg.errors.InputError` when the orders file gave no order lines.

    A file given as orders that is not order lines (read as a customer table, or every row
    rejected) names the file, the columns found and what order lines need.
    """
    report = next((f for f in shop.files if f.role == "orders"), None)
    if report is None or (shop.orders is not None and not shop.orders.empty):
        return
    require_customers(shop)  # every row rejected: the most common reason first
    columns = [c for c in (shop.customers.columns if shop.customers is not None else []) if c != s.CUSTOMER_ID]
    found = f"the columns customer_id{''.join(f', {c}' for c in columns[:12])}" if columns else "no usable columns"
    raise InputError(
        report.path,
        f"no order lines found: {report.rows_read:,} rows with {found} (read as {report.format}). "
        f"'shopseg {command}' needs order lines: {ORDER_COLUMNS}.",
        hint='If those columns are there under other names, map them: --map "order_id=COL,ts=COL,amount=COL".',
    )


#: What an order line needs, in words for messages.
ORDER_COLUMNS = "customer_id, order_id, ts and amount (or quantity and unit_price), one row per line"


def require_customers(shop: Shop) -> None:
    """Stop with an :class:`~shopseg.errors.InputError` when no customer is left to segment.

    That happens when every row is a guest line or is quarantined, or when a file given as
    orders is no order lines and no customer table with numbers to segment on either (e.g.
    only ``customer_id, group``). A failed run writes no quarantine.csv, so the message
    carries the counts and the most common reason itself.
    """
    if not shop.files:
        return
    orders_file = next((f for f in shop.files if f.role == "orders"), None)
    if (
        len(shop.customer_ids())
        and orders_file is not None
        and (shop.orders is None or shop.orders.empty)
        and not _numeric_attributes(shop.customers)
    ):
        columns = [c for c in shop.customers.columns if c != s.CUSTOMER_ID]
        raise InputError(
            orders_file.path,
            f"this is not an orders file: {orders_file.rows_read:,} rows with the columns customer_id"
            f"{''.join(f', {c}' for c in columns[:12])}. Order lines need {ORDER_COLUMNS}; read as a "
            "customer table, it has no numeric column (age, buy_frequency, average_cost, ...) to segment on.",
            hint='If it holds order lines under other names, map them: --map "order_id=COL,ts=COL,amount=COL"; '
            "otherwise pass your order lines with --orders and this file with --customers.",
        )
    if len(shop.customer_ids()):
        return
    report = next((f for f in shop.files if f.role == "orders"), shop.files[0])
    problem = (
        f"no customer is left to segment: of {report.rows_read:,} rows read, {report.guests:,} have no customer id "
        f"(guests), {report.quarantined:,} were quarantined and {report.duplicates:,} were duplicates."
    )
    hint = "Lines without a customer id are guest checkouts; if the id is in another column, use --map customer_id=COL."
    if not shop.quarantine.empty:
        reasons = shop.quarantine["reason"].value_counts()
        first = shop.quarantine[shop.quarantine["reason"] == reasons.index[0]].iloc[0]
        where = f"line {first['line']}" + (f", column '{first['column']}'" if pd.notna(first["column"]) else "")
        problem += f" Most common reason: {reasons.index[0]} ({reasons.iloc[0]:,} rows, first at {where})."
        hint = f"To see every rejected row: shopseg validate --{report.role} {shlex.quote(report.path)} --out FOLDER."
    raise InputError(report.path, problem, hint=hint)


def _finish(frame: pd.DataFrame) -> pd.DataFrame:
    """Drop bookkeeping columns; a canonical table carries only data."""
    return frame.drop(columns=[c for c in (LINE, SOURCE) if c in frame.columns]).reset_index(drop=True)


def products_from_order_lines(orders: pd.DataFrame) -> pd.DataFrame:
    """A product table from order lines when the shop has none (e.g. Online Retail).

    One row per product id; its title is the description written most often on its lines.
    """
    lines = orders[[s.PRODUCT_ID, s.DESCRIPTION]].dropna()
    lines = lines[(lines[s.PRODUCT_ID] != "") & (lines[s.DESCRIPTION].astype(str).str.strip() != "")]
    counts = lines.value_counts([s.PRODUCT_ID, s.DESCRIPTION]).reset_index(name="n")
    counts = counts.sort_values(["n", s.DESCRIPTION], ascending=[False, True], kind="stable")
    products = counts.drop_duplicates(s.PRODUCT_ID)[[s.PRODUCT_ID, s.DESCRIPTION]]
    products = products.rename(columns={s.DESCRIPTION: s.TITLE}).sort_values(s.PRODUCT_ID)
    return products.reset_index(drop=True)


def parse_mapping(text: str) -> dict[str, str]:
    """``"ts=InvoiceDate,customer_id=Customer ID"`` -> {canonical: file column}."""
    mapping: dict[str, str] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        if "=" not in part:
            raise ConfigError(f"--map expects CANONICAL=COLUMN pairs separated by commas; got '{part}'.")
        canonical, column = (x.strip() for x in part.split("=", 1))
        known = {c for spec in s.TABLES.values() for c in spec.columns}
        if canonical not in known and normalise(canonical) not in {normalise(k) for k in known}:
            raise ConfigError(f"--map: '{canonical}' is not a canonical column (known: {', '.join(sorted(known))}).")
        mapping[canonical] = column
    return mapping
