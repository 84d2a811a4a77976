"""A customer table: one row per customer with pre-aggregated columns, no transactions.

The simplest input, as in most segmentation tutorials (``customer_id, age, gender,
buy_frequency, average_cost, ...``). It is segmented directly on its own columns.
"""

from __future__ import annotations

from shopseg import schema as s
from shopseg.ingest.formats.base import Tables, normalise, select
from shopseg.ingest.formats.canonical import ALIASES
from shopseg.ingest.reading import RawTable

_ID_NAMES = (*ALIASES[s.CUSTOMER_ID], "id")


class CustomerTableFormat:
    """One row per customer with attributes and pre-aggregated behaviour."""

    name = "customer-table"
    description = "one row per customer (customer_id, age, gender, buy_frequency, average_cost, ...)"

    def _id_column(self, raw: RawTable) -> str | None:
        by_name = {normalise(c): c for c in raw.columns}
        return next((by_name[n] for n in _ID_NAMES if n in by_name), None)

    def matches(self, raw: RawTable, role: str) -> bool:
        if role not in ("orders", "customers"):
            return False
        id_column = self._id_column(raw)
        if id_column is None or len(raw.columns) < 2:
            return False
        if role == "customers":
            return True
        names = {normalise(c) for c in raw.columns}
        looks_like_orders = bool(names & set(ALIASES[s.ORDER_ID])) or bool(names & set(ALIASES[s.TS]))
        ids = raw.frame[id_column].astype("string").str.strip()
        return not looks_like_orders and ids.is_unique

    def adapt(self, raw: RawTable, role: str) -> Tables:
        id_column = self._id_column(raw)
        columns = {s.CUSTOMER_ID: id_column}
        columns.update({c: c for c in raw.columns if c != id_column})
        return {"customers": select(raw, columns)}
