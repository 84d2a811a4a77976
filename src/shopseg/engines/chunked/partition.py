"""Split a shop's files into chunks of customers with DuckDB, out of core.

The chunked engine never holds a whole shop in memory: DuckDB reads the input files
(Parquet files or folders of part files, or CSV; canonical columns, or renamed by ``--map``) and writes every
per-customer table (orders, reviews, events, customers) as hive-partitioned Parquet, one
folder per *bucket* = ``hash(customer_id, seed) mod buckets``. DuckDB streams the files
and spills to its temp directory, so its memory stays under ``memory_limit`` whatever the
shop's size. All of a customer's rows land in the same bucket, so a bucket is a small shop
the single-machine loader can check and the fitted model can place on its own.

Each row keeps where it came from (``__line__``, ``__source__``: the original file and
line, 1-based data rows for Parquet, physical lines for CSV with the header on line 1), so
a row the loader rejects in a bucket is reported against the user's file, not a temporary
one. Rows without a customer id (guests) are counted here, as the loader counts them, and
not written: they can never be segmented.
"""

from __future__ import annotations

import math
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pyarrow.parquet as pq

from shopseg import schema as s
from shopseg.errors import InputError
from shopseg.features.sql import quote
from shopseg.ingest.load import shadowed_by_mapping
from shopseg.ingest.reading import LINE, SOURCE, is_parquet

#: Tables with a customer id, split by customer; others (products) are read whole.
PER_CUSTOMER = ("orders", "customers", "reviews", "events")
BUCKET = "bucket"


def source_sql(path: Path, mapping: dict[str, str] | None = None) -> str:
    """A DuckDB table expression over one input, with each row's file line as ``__line__``.

    ``mapping`` ({canonical column: file column}, the loader's ``--map``) renames the file's
    columns; a canonical column the file also has under that name gives way to the mapped one.
    """
    if is_parquet(path):
        pattern = str(path / "*.parquet") if path.is_dir() else str(path)
        source = (
            f"(SELECT * EXCLUDE (file_row_number), file_row_number + 1 AS {quote(LINE)} "
            f"FROM read_parquet({sql_literal(pattern)}, file_row_number = true))"
        )
    elif path.is_dir():
        raise InputError(path, "is a folder without .parquet files.", hint="Point to a CSV or Parquet file.")
    else:  # text: every field as text (the loader types it); the header is line 1 of the file
        source = (
            f"(SELECT *, row_number() OVER () + 1 AS {quote(LINE)} "
            f"FROM read_csv({sql_literal(str(path))}, all_varchar = true, header = true))"
        )
    if not mapping:
        return source
    connection = duckdb.connect()
    try:
        columns = _columns(connection, source, path)
    finally:
        connection.close()
    missing = [column for column in mapping.values() if column not in columns]
    if missing:
        raise InputError(
            path,
            f"the mapping names column '{missing[0]}', which the file does not have "
            f"(its columns: {', '.join(c for c in columns if c != LINE)}).",
            hint="Check the spelling in --map (CANONICAL=COLUMN).",
        )
    dropped = sorted({*mapping.values(), *shadowed_by_mapping(columns, mapping)})
    renamed = ", ".join(f"{quote(column)} AS {quote(canonical)}" for canonical, column in mapping.items())
    return f"(SELECT * EXCLUDE ({', '.join(quote(c) for c in dropped)}), {renamed} FROM {source})"


def sql_literal(text: str) -> str:
    """A SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


@dataclass
class Partitioned:
    """A shop split into ``buckets`` chunks of customers under ``folder``."""

    folder: Path
    buckets: int
    customers: int
    inputs: dict[str, Path]
    #: Per table: rows in the file, guest rows (no customer id), guest rows repeated exactly.
    counts: dict[str, dict[str, int]] = field(default_factory=dict)

    def chunk_file(self, role: str, bucket: int) -> Path | None:
        """The one Parquet file holding ``role``'s rows of ``bucket`` (None when it has none)."""
        folder = self.folder / role / f"{BUCKET}={bucket}"
        files = sorted(folder.glob("*.parquet"))
        if not files:
            return None
        if len(files) == 1:
            return files[0]
        merged = folder / "merged.parquet"  # DuckDB wrote several parts: one file for the loader
        pq.write_table(pq.ParquetDataset([str(f) for f in files]).read(), merged)
        for part in files:
            part.unlink()
        return merged

    def remove(self) -> None:
        """Delete the partitioned copy."""
        shutil.rmtree(self.folder, ignore_errors=True)


def _customer_key(columns: list[str]) -> str:
    """The trimmed customer id as text, NULL for guests (the loader's rule: empty id = guest)."""
    if s.CUSTOMER_ID not in columns:
        return "NULL"
    return f"nullif(trim(CAST({quote(s.CUSTOMER_ID)} AS VARCHAR)), '')"


def partition_shop(
    paths: dict[str, Path],
    folder: str | Path,
    *,
    chunk: int,
    seed: int = 0,
    memory_limit: str = "4GB",
    threads: int | None = None,
    mapping: dict[str, dict[str, str]] | None = None,
) -> Partitioned:
    """Split the per-customer tables of ``paths`` ({role: file}) into buckets of about ``chunk`` customers.

    The number of buckets comes from the distinct customers with an order line (or in the
    customer table when there are no orders), counted by DuckDB. ``mapping``: {role:
    {canonical column: file column}}, applied as the files are read (the chunks are canonical).
    """
    mapping = mapping or {}
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    connection = duckdb.connect()
    try:
        connection.execute(f"SET temp_directory = {sql_literal(str(folder / 'duckdb-tmp'))}")
        connection.execute(f"SET memory_limit = {sql_literal(memory_limit)}")
        connection.execute("SET preserve_insertion_order = true")  # CSV line numbers follow the file
        if threads:
            connection.execute(f"SET threads = {int(threads)}")
        sources = {role: source_sql(path, mapping.get(role)) for role, path in paths.items() if role in PER_CUSTOMER}
        columns = {role: _columns(connection, sql, paths[role]) for role, sql in sources.items()}
        main = "orders" if "orders" in sources else next(iter(sources), None)
        if main is None:
            raise InputError(next(iter(paths.values())), "no table with customers to split.", hint="Give --orders.")
        if s.CUSTOMER_ID not in columns[main]:
            raise InputError(
                paths[main],
                f"has no '{s.CUSTOMER_ID}' column; the chunked engine reads canonical columns "
                f"(its columns: {', '.join(columns[main][:15])}).",
                hint="Map it with --map customer_id=YOUR_COLUMN, or rename the column.",
            )
        key = _customer_key(columns[main])
        customers = connection.execute(
            f"SELECT count(DISTINCT {key}) FROM {sources[main]} WHERE {key} IS NOT NULL"
        ).fetchone()[0]
        buckets = max(1, math.ceil(customers / max(1, chunk)))
        counts = {}
        for role, sql in sources.items():
            key = _customer_key(columns[role])
            data = [c for c in columns[role] if c != LINE]
            listed = ", ".join(quote(c) for c in data)
            rows, guests, distinct_guests = connection.execute(
                f"SELECT count(*), count(*) FILTER (WHERE {key} IS NULL), "
                f"(SELECT count(*) FROM (SELECT DISTINCT {listed} FROM {sql} WHERE {key} IS NULL)) FROM {sql}"
            ).fetchone()
            counts[role] = {"rows_read": rows, "guests": distinct_guests, "guest_duplicates": guests - distinct_guests}
            connection.execute(
                f"COPY (SELECT {listed}, {quote(LINE)}, {sql_literal(str(paths[role]))} AS {quote(SOURCE)}, "
                f"CAST(hash({key}, {int(seed)}) % {buckets} AS BIGINT) AS {BUCKET} "
                f"FROM {sql} WHERE {key} IS NOT NULL) "
                f"TO {sql_literal(str(folder / role))} (FORMAT parquet, PARTITION_BY ({BUCKET}), OVERWRITE_OR_IGNORE)"
            )
    except duckdb.Error as error:
        raise InputError(
            next(iter(paths.values())), f"could not be read in chunks ({error}).", hint="Try the local engine."
        ) from error
    finally:
        connection.close()
    shutil.rmtree(folder / "duckdb-tmp", ignore_errors=True)
    return Partitioned(folder=folder, buckets=buckets, customers=customers, inputs=dict(paths), counts=counts)


def _columns(connection: duckdb.DuckDBPyConnection, sql: str, path: Path) -> list[str]:
    """The column names of a source, or a clear error when DuckDB cannot read it."""
    try:
        return [row[0] for row in connection.execute(f"DESCRIBE SELECT * FROM {sql}").fetchall()]
    except duckdb.Error as error:
        raise InputError(path, f"cannot be read ({error}).", hint="Check that it is CSV or Parquet.") from error
