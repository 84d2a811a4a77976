"""The DuckDB store: every run's tables in one file a user can query with SQL.

``shopseg.duckdb`` holds the canonical tables that were read (orders, customers, ...),
``features``, ``segments``, ``profiles`` and ``quarantine``. Example::

    duckdb shopseg.duckdb "SELECT segment_name, count(*) FROM segments GROUP BY 1"
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa

from shopseg.features.sql import quote
from shopseg.shop import Shop


def write_store(path: str | Path, tables: dict[str, pd.DataFrame | pa.Table]) -> Path:
    """Create (or replace) the DuckDB file at ``path`` with one table per frame (pandas or Arrow)."""
    path = Path(path)
    if path.exists():
        path.unlink()
    connection = duckdb.connect(str(path))
    try:
        for name, frame in tables.items():
            connection.register("frame_", frame)
            connection.execute(f"CREATE TABLE {quote(name)} AS SELECT * FROM frame_")
            connection.unregister("frame_")
    finally:
        connection.close()
    return path


def read_store_table(path: str | Path, name: str) -> pd.DataFrame:
    """One table of a store, as a DataFrame."""
    connection = duckdb.connect(str(path), read_only=True)
    try:
        return connection.execute(f"SELECT * FROM {quote(name)}").df()
    finally:
        connection.close()


#: The canonical input tables a run keeps in its store (see :meth:`shopseg.shop.Shop.tables`).
SHOP_TABLES = ("orders", "customers", "products", "reviews", "events")


def read_store_shop(path: str | Path) -> Shop:
    """The input tables a run read (orders, customers, products, reviews, events), from its store."""
    connection = duckdb.connect(str(path), read_only=True)
    try:
        present = {row[0] for row in connection.execute("SHOW TABLES").fetchall()}
        tables = {
            name: connection.execute(f"SELECT * FROM {quote(name)}").df() for name in SHOP_TABLES if name in present
        }
    finally:
        connection.close()
    return Shop(**tables)
