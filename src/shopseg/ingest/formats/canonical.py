"""Canonical tables (see DATA.md), with the common spellings of each column accepted.

``customer_id``, ``CustomerID``, ``user_id`` or ``Customer ID`` all name the customer, so
a shop's own export often reads without any mapping. Unknown columns are kept (customer
attributes such as ``loyalty_tier`` become features).
"""

from __future__ import annotations

from shopseg import schema as s
from shopseg.ingest.formats.base import Tables, normalise, select
from shopseg.ingest.reading import RawTable

#: canonical column -> accepted normalised spellings, most specific first.
ALIASES: dict[str, tuple[str, ...]] = {
    s.CUSTOMER_ID: ("customerid", "customeruniqueid", "userid", "clientid", "buyerid", "visitorid", "customer", "user"),
    s.ORDER_ID: ("orderid", "invoice", "invoiceno", "ordernumber", "orderno", "transactionid", "order"),
    s.TS: (
        "ts",
        "timestamp",
        "orderdate",
        "invoicedate",
        "datetime",
        "createdat",
        "purchasedate",
        "eventtime",
        "date",
        "time",
    ),
    s.AMOUNT: ("amount", "linetotal", "total", "revenue", "sales", "value"),
    s.QUANTITY: ("quantity", "qty"),
    s.UNIT_PRICE: ("unitprice", "price"),
    s.PRODUCT_ID: ("productid", "sku", "itemid", "stockcode", "product"),
    s.STATUS: ("status", "orderstatus"),
    s.DESCRIPTION: ("description",),
    s.EVENT_TYPE: ("eventtype", "event", "action"),
    s.SESSION_ID: ("sessionid", "session"),
    s.QUERY: ("query", "searchquery", "searchterm"),
    s.TITLE: ("title", "productname", "name"),
    s.CATEGORY: ("category", "productcategory", "categoryname"),
    s.PRICE: ("price", "listprice"),
    s.RATING: ("rating", "stars", "score", "reviewscore"),
    s.TEXT: ("text", "reviewtext", "review", "body", "comment"),
    s.SIGNUP_TS: ("signupts", "signupdate", "registeredat", "createdat"),
}


def resolve_columns(raw: RawTable, role: str) -> dict[str, str]:
    """{canonical column: file column} for the columns of table ``role`` found in ``raw``.

    A file column is used once; columns no alias claims keep their own name.
    """
    spec = s.TABLES[role]
    by_name = {normalise(c): c for c in raw.columns}
    claimed: set[str] = set()
    mapping: dict[str, str] = {}
    for canonical in spec.columns:
        for alias in ALIASES.get(canonical, (normalise(canonical),)):
            column = by_name.get(alias)
            if column is not None and column not in claimed:
                mapping[canonical] = column
                claimed.add(column)
                break
    for column in raw.columns:
        if column not in claimed and column not in mapping:
            mapping.setdefault(column, column)
    return mapping


class CanonicalFormat:
    """The canonical CSV/Parquet tables, any common spelling of the column names."""

    name = "canonical"
    description = "canonical tables (customer_id, order_id, ts, amount or quantity+unit_price, ...)"

    def matches(self, raw: RawTable, role: str) -> bool:
        spec = s.TABLES[role]
        mapping = resolve_columns(raw, role)
        if not all(c in mapping for c in spec.required):
            return False
        return not spec.alternatives or any(all(c in mapping for c in group) for group in spec.alternatives)

    def adapt(self, raw: RawTable, role: str) -> Tables:
        return {role: select(raw, resolve_columns(raw, role))}
