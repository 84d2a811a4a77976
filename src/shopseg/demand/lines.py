"""Purchase lines as the demand stage reads them: units per customer, day, product and segment.

The value stage counts *purchase days* (all of a customer's orders on one day are one
purchase), so units are counted per purchase day too: expected units = expected purchase
days x units per purchase day. Returns are not demand and are left out (``is_return``,
negative quantities); a line without a quantity counts one unit.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from shopseg import schema as s
from shopseg.errors import ShopsegError

DAY = "day"
UNITS = "units"
#: Category given to products the catalogue does not place anywhere.
UNCATEGORISED = "(uncategorised)"


@dataclass
class UnitLines:
    """Purchase lines ready for the demand stage, and what was left out of them (counted, not dropped silently).

    ``table``: customer_id, day (midnight), product_id, category, segment_id, units (float),
    one row per purchase line. ``left_out``: {reason: lines}.
    """

    table: pd.DataFrame
    left_out: dict[str, int] = field(default_factory=dict)

    @property
    def first_day(self) -> pd.Timestamp:
        return self.table[DAY].min()

    @property
    def last_day(self) -> pd.Timestamp:
        return self.table[DAY].max()

    @property
    def history_days(self) -> int:
        """Days from the first to the last purchase day."""
        return int((self.last_day - self.first_day) / pd.Timedelta(days=1))

    def until(self, day: pd.Timestamp) -> pd.DataFrame:
        """Lines on or before ``day``."""
        return self.table.loc[self.table[DAY] <= day]

    def window(self, after: pd.Timestamp, until: pd.Timestamp) -> pd.DataFrame:
        """Lines after ``after`` up to ``until`` (inclusive)."""
        days = self.table[DAY]
        return self.table.loc[(days > after) & (days <= until)]


def unit_lines(orders: pd.DataFrame, labels: pd.Series, categories: pd.Series | None = None) -> UnitLines:
    """Canonical order lines -> :class:`UnitLines`.

    ``labels``: segment id per customer (index customer_id); ``categories``: category per
    product (index product_id), optional (every product then is uncategorised).
    """
    missing = [c for c in (s.CUSTOMER_ID, s.TS, s.PRODUCT_ID) if c not in orders.columns]
    if missing:
        raise ShopsegError(
            f"The orders have no column '{missing[0]}': demand per product needs customer_id, ts and product_id "
            "on every order line (map your product column with --map orders.product_id=COLUMN)."
        )
    quantity = (
        pd.to_numeric(orders[s.QUANTITY], errors="coerce").fillna(1.0).to_numpy(dtype="float64")
        if s.QUANTITY in orders.columns
        else np.ones(len(orders))
    )
    returned = quantity < 0
    if s.IS_RETURN in orders.columns:
        returned |= orders[s.IS_RETURN].fillna(False).astype(bool).to_numpy()
    day = pd.to_datetime(orders[s.TS]).dt.normalize()
    product = orders[s.PRODUCT_ID]
    customer = orders[s.CUSTOMER_ID].astype(str)
    labels = pd.Series(labels.to_numpy(), index=labels.index.astype(str))
    segment = customer.map(labels)
    reasons = {
        "returns": returned,
        "no product id": ~returned & product.isna().to_numpy(),
        "no date": ~returned & product.notna().to_numpy() & day.isna().to_numpy(),
    }
    kept = ~(reasons["returns"] | reasons["no product id"] | reasons["no date"])
    reasons["customer not in the run's segments"] = kept & segment.isna().to_numpy()
    kept &= segment.notna().to_numpy()
    table = pd.DataFrame(
        {
            s.CUSTOMER_ID: customer.to_numpy()[kept],
            DAY: day.to_numpy()[kept],
            s.PRODUCT_ID: product.astype(str).to_numpy()[kept],
            s.SEGMENT_ID: segment.to_numpy()[kept].astype("int64"),
            UNITS: quantity[kept],
        }
    )
    if table.empty:
        raise ShopsegError("No purchase line with a product, a date and a segmented customer: nothing to forecast.")
    mapped = (
        table[s.PRODUCT_ID].map(categories.set_axis(categories.index.astype(str))) if categories is not None else None
    )
    table[s.CATEGORY] = mapped.fillna(UNCATEGORISED).astype(str).to_numpy() if mapped is not None else UNCATEGORISED
    left_out = {reason: int(mask.sum()) for reason, mask in reasons.items() if mask.sum()}
    return UnitLines(table=table, left_out=left_out)
