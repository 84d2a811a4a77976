"""Who moved where between two runs: per-customer transitions and the migration matrix.

``transitions_table`` lists every customer of either run with their tracked segment before
and after (empty where they are not in that run: new or gone customers);
``migration_table`` sums them per (from, to) pair with the customers' revenue between the
two runs and their CLV in the later run.
"""

from __future__ import annotations

import pandas as pd

from shopseg import schema as s

FROM, TO = "segment_from", "segment_to"


def transitions_table(earlier: pd.Series, later: pd.Series) -> pd.DataFrame:
    """customer_id, segment_from, segment_to (tracked ids; nullable integers), sorted by customer."""
    table = pd.concat([earlier.rename(FROM), later.rename(TO)], axis=1, join="outer").sort_index()
    table.index.name = s.CUSTOMER_ID
    return table.astype("Int64").reset_index()


def migration_table(
    transitions: pd.DataFrame,
    revenue: pd.Series | None,
    clv: pd.Series | None,
    names_from: dict[int, str],
    names_to: dict[int, str],
) -> pd.DataFrame:
    """segment_from, name_from, segment_to, name_to, customers, revenue, clv: one row per pair that occurs.

    ``revenue`` and ``clv``: per customer (index customer_id); missing values count as 0.
    New customers have an empty ``segment_from``, customers gone an empty ``segment_to``.
    """
    frame = transitions.set_index(s.CUSTOMER_ID)
    frame["revenue"] = revenue.reindex(frame.index).fillna(0.0) if revenue is not None else 0.0
    frame["clv"] = clv.reindex(frame.index).fillna(0.0) if clv is not None else float("nan")
    grouped = frame.groupby([FROM, TO], dropna=False).agg(
        customers=("revenue", "size"), revenue=("revenue", "sum"), clv=("clv", "sum")
    )
    table = grouped.reset_index()
    table.insert(1, "name_from", [names_from.get(int(v), "") if pd.notna(v) else "" for v in table[FROM]])
    table.insert(3, "name_to", [names_to.get(int(v), "") if pd.notna(v) else "" for v in table[TO]])
    table["revenue"] = table["revenue"].round(2)
    table["clv"] = table["clv"].round(2) if clv is not None else None
    return table.sort_values([FROM, TO], kind="stable", na_position="first").reset_index(drop=True)
