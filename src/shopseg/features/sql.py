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


#: Decimal places kept by :func:`exact_sum` (money and quantities need far fewer).
EXACT_SCALE = 10


def exact_sum(expression: str) -> str:
    """SQL for the sum of a floating-point ``expression``, independent of the order rows are added in.

    DuckDB adds doubles in whatever order its threads deliver them, so a plain ``sum`` can differ
    in the last bits from one run to the next (and so can the segments computed from it). Summed
    as a DECIMAL (exact integer arithmetic, :data:`EXACT_SCALE` decimals), the same rows give the
    same bits on every run. Sums stay within +-1e27 (validation caps each amount at 1e9).
    """
    return f"CAST(sum(CAST({expression} AS DECIMAL(38, {EXACT_SCALE}))) AS DOUBLE)"


def exact_std(expression: str) -> str:
    """SQL for the sample standard deviation of an integer ``expression``, independent of row order.

    The sums of values and of squares are exact (HUGEINT), so only the final division rounds;
    NULL for fewer than two values, as ``stddev_samp``.
    """
    value = f"CAST({expression} AS HUGEINT)"
    n = f"count({expression})"
    return (
        f"CASE WHEN {n} > 1 THEN sqrt(greatest(CAST({n} * sum({value} * {value}) - sum({value}) * sum({value}) "
        f"AS DOUBLE), 0) / ({n} * ({n} - 1))) END"
    )


def run_sql(query: str, **frames: pd.DataFrame) -> pd.DataFrame:
    """Run ``query`` with each keyword frame registered as a table of that name."""
    connection = duckdb.connect(":memory:")
    try:
        for name, frame in frames.items():
            connection.register(name, frame)
        return connection.execute(query).df()
    finally:
        connection.close()
