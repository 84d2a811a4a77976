"""A shop's data in canonical tables, with the record of how it was read.

:class:`Shop` is what ingestion returns and what the pipeline consumes. Every table is a
pandas DataFrame with the columns named in :mod:`shopseg.schema` (``orders`` has typed
``ts``, ``amount`` and the boolean ``is_return``); absent tables are ``None``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import pandas as pd

from shopseg import schema as s


@dataclass
class FileReport:
    """How one input file was read: its format and what happened to its rows."""

    path: str
    role: str
    format: str
    sha256: str
    encoding: str | None
    rows_read: int
    duplicates: int = 0
    guests: int = 0
    quarantined: int = 0
    kept: int = 0
    #: Lines of a UTF-8 file holding bytes that are not UTF-8, read as Windows-1252 (see ingest.reading).
    lines_not_utf8: int = 0
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


@dataclass
class Shop:
    """Canonical tables of one shop (see DATA.md) plus the ingestion record."""

    orders: pd.DataFrame | None = None
    customers: pd.DataFrame | None = None
    products: pd.DataFrame | None = None
    reviews: pd.DataFrame | None = None
    events: pd.DataFrame | None = None
    files: list[FileReport] = field(default_factory=list)
    quarantine: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=["file", "line", "column", "value", "reason"])
    )
    notes: list[str] = field(default_factory=list)

    def tables(self) -> dict[str, pd.DataFrame]:
        """The tables present, by canonical name."""
        named = {
            "orders": self.orders,
            "customers": self.customers,
            "products": self.products,
            "reviews": self.reviews,
            "events": self.events,
        }
        return {name: table for name, table in named.items() if table is not None}

    def customer_ids(self) -> pd.Index:
        """Customers to segment: those with order lines, or every customer of a customer table."""
        if self.orders is not None and not self.orders.empty:
            ids = self.orders[s.CUSTOMER_ID]
        elif self.customers is not None:
            ids = self.customers[s.CUSTOMER_ID]
        else:
            ids = pd.Series([], dtype=object)
        return pd.Index(sorted(pd.unique(ids)), name=s.CUSTOMER_ID)

    def of_customers(self, customer_ids: pd.Index | list[str]) -> Shop:
        """The same shop restricted to ``customer_ids``: their rows of every customer table, the whole catalogue.

        For work that a sample of customers answers as well as all of them (e.g. evaluating
        recommenders on a large shop); the ingestion record is not carried over.
        """
        wanted = pd.Index(customer_ids).astype(str)

        def rows(table: pd.DataFrame | None) -> pd.DataFrame | None:
            if table is None or s.CUSTOMER_ID not in table:
                return table
            return table.loc[table[s.CUSTOMER_ID].astype(str).isin(wanted)].reset_index(drop=True)

        return Shop(
            orders=rows(self.orders),
            customers=rows(self.customers),
            products=self.products,
            reviews=rows(self.reviews),
            events=rows(self.events),
        )

    def totals(self) -> dict[str, int]:
        """Rows read / kept / quarantined / duplicates / guests over all files."""
        return {
            "rows_read": sum(f.rows_read for f in self.files),
            "rows_kept": sum(f.kept for f in self.files),
            "rows_quarantined": sum(f.quarantined for f in self.files),
            "duplicates_dropped": sum(f.duplicates for f in self.files),
            "guest_rows": sum(f.guests for f in self.files),
        }
