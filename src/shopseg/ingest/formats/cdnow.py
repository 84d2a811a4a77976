"""CDNOW (Fader & Hardie's CD shop data, shipped in the ``lifetimes`` package).

* ``CDNOW_master.txt``: a header line ``customer_id date number_of_cds dollar_value``
  then one purchase per line (23,570 customers, 69,659 lines);
* ``CDNOW_sample.txt``: no header, ``master_id sample_id date(YYYYMMDD) n_cds value``
  (2,357 customers, 6,919 lines).

Each line is one purchase; it becomes one order (CDNOW has no order ids). So identical
lines are not duplicates but two purchases of the same amount on the same day: they are
all kept, which is how Fader, Hardie & Lee's published CDNOW parameters are obtained (the
Gamma-Gamma fit differs when they are dropped).
"""

from __future__ import annotations

from shopseg import schema as s
from shopseg.ingest.formats.base import Tables, normalise, select
from shopseg.ingest.reading import LINE, RawTable


class CdnowFormat:
    """CDNOW master or sample file, whitespace separated."""

    name = "cdnow"
    #: Lines carry no order id, so identical lines are separate purchases, never duplicates.
    lines_are_purchases = True
    description = "CDNOW_master.txt / CDNOW_sample.txt (customer, YYYYMMDD date, CDs, dollars)"

    def _layout(self, raw: RawTable) -> dict[str, str] | None:
        columns = raw.columns
        names = [normalise(c) for c in columns]
        if raw.has_header and names == ["customerid", "date", "numberofcds", "dollarvalue"]:
            return dict(zip([s.CUSTOMER_ID, s.TS, s.QUANTITY, s.AMOUNT], columns, strict=True))
        if raw.has_header or raw.frame.empty:
            return None
        sample = raw.frame.head(100)
        if len(columns) == 5 and sample[columns[2]].astype("string").str.fullmatch(r"\d{8}").all():
            return dict(zip([s.CUSTOMER_ID, "sample_id", s.TS, s.QUANTITY, s.AMOUNT], columns, strict=True))
        if len(columns) == 4 and sample[columns[1]].astype("string").str.fullmatch(r"\d{8}").all():
            return dict(zip([s.CUSTOMER_ID, s.TS, s.QUANTITY, s.AMOUNT], columns, strict=True))
        return None

    def matches(self, raw: RawTable, role: str) -> bool:
        return role == "orders" and self._layout(raw) is not None

    def adapt(self, raw: RawTable, role: str) -> Tables:
        layout = self._layout(raw)
        if layout is None:
            layout = dict(zip([s.CUSTOMER_ID, s.TS, s.QUANTITY, s.AMOUNT], raw.columns, strict=False))
        layout.pop("sample_id", None)
        orders = select(raw, layout)
        orders[s.ORDER_ID] = "L" + orders[LINE].astype(str)
        return {"orders": orders}
