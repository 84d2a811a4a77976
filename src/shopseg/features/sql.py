"""The narrow door from feature stages to DuckDB.

Stages hand a query and the frames it reads to :func:`run_sql`; it runs them in an
in-memory DuckDB connection (vectorised, multi-threaded, spilling to disk when large)
and returns a pandas frame. Stages never own a connection or touch files.
"""

from __future__ import annotations

import duckdb
import pandas as pd


def quote(identifier: str) -> str:
    """A SQL identifier quoted for DuckDB (``"a""b"``), safe for any column name."""
    return '"' + identifier.replace('"', '""') + '"'


def run_sql(query: str, **frames: pd.DataFrame) -> pd.DataFrame:
    """Run ``query`` with each keyword frame registered as a table of that name."""
    connection = duckdb.connect(":memory:")
    try:
        for name, frame in frames.items():
            connection.register(name, frame)
        return connection.execute(query).df()
    finally:
        connection.close()
