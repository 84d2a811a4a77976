"""UCI Online Retail (2010-2011) and Online Retail II (2009-2011), CSV or Excel.

Columns: ``InvoiceNo|Invoice, StockCode, Description, Quantity, InvoiceDate,
UnitPrice|Price, CustomerID|Customer ID, Country``. Invoices starting with ``C`` are
cancellations (returns); rows without a customer id are guest checkouts. The customer
table is derived from the lines (``region`` = the customer's most frequent country).
"""

from __future__ import annotations

import pandas as pd

from shopseg import schema as s
from shopseg.ingest.formats.base import Tables, find_column, select
from shopseg.ingest.reading import LINE, SOURCE, RawTable
from shopseg.ingest.validate import RETURN_HINT


class OnlineRetailFormat:
    """UCI Online Retail / Online Retail II."""

    name = "online-retail"
    description = "UCI Online Retail / Online Retail II (InvoiceNo, StockCode, ..., CustomerID, Country)"

    def _columns(self, raw: RawTable) -> dict[str, str | None]:
        return {
            s.ORDER_ID: find_column(raw, "invoiceno", "invoice"),
            s.PRODUCT_ID: find_column(raw, "stockcode"),
            s.DESCRIPTION: find_column(raw, "description"),
            s.QUANTITY: find_column(raw, "quantity"),
            s.TS: find_column(raw, "invoicedate"),
            s.UNIT_PRICE: find_column(raw, "unitprice", "price"),
            s.CUSTOMER_ID: find_column(raw, "customerid"),
            s.REGION: find_column(raw, "country"),
        }

    def matches(self, raw: RawTable, role: str) -> bool:
        columns = self._columns(raw)
        return role == "orders" and all(columns[c] for c in (s.ORDER_ID, s.PRODUCT_ID, s.TS, s.CUSTOMER_ID))

    def adapt(self, raw: RawTable, role: str) -> Tables:
        columns = {k: v for k, v in self._columns(raw).items() if v}
        region = columns.pop(s.REGION, None)
        orders = select(raw, columns)
        # Some exports write the id as a float ("12346.0").
        orders[s.CUSTOMER_ID] = orders[s.CUSTOMER_ID].astype("string").str.strip().str.replace(r"\.0$", "", regex=True)
        orders[RETURN_HINT] = (
            orders[s.ORDER_ID].astype("string").str.strip().str.upper().str.startswith("C").fillna(False)
        )
        tables: Tables = {"orders": orders}
        if region:
            tables["customers"] = _customers_from_lines(orders[s.CUSTOMER_ID], raw.frame[region])
        return tables


def _customers_from_lines(customer_ids: pd.Series, countries: pd.Series) -> pd.DataFrame:
    """One row per customer with the country seen most often on their lines."""
    lines = pd.DataFrame({s.CUSTOMER_ID: customer_ids.to_numpy(), s.REGION: countries.astype("string").to_numpy()})
    lines = lines[lines[s.CUSTOMER_ID].fillna("") != ""]
    counts = lines.value_counts([s.CUSTOMER_ID, s.REGION]).reset_index(name="n")
    counts = counts.sort_values(["n", s.REGION], ascending=[False, True], kind="stable")
    customers = counts.drop_duplicates(s.CUSTOMER_ID)[[s.CUSTOMER_ID, s.REGION]].sort_values(s.CUSTOMER_ID)
    customers = customers.reset_index(drop=True).astype(object)
    customers[LINE] = 0  # derived, not a line of a file
    customers[SOURCE] = "(derived from order lines)"
    return customers
