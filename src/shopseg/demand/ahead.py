"""What a segment's customers buy in the window *after* a day, measured on the earlier windows.

A segment's history is not what its customers will buy next:

* **first purchases differ from repeat ones.** The transaction model forecasts a known
  customer's *repeat* purchase days, and a first order is often smaller (or larger) than the
  ones after it; the history mixes both.
* **segments are chosen on the past.** Customers placed in a "low-value" or "garden" segment
  as of a day are there partly because their purchases so far happened to be small, or
  garden-heavy; their next ones are closer to the shop's (regression to the mean). The
  history of the segment's customers cannot show that; the windows after earlier days do.

So demand reads its units per purchase day and its product / category shares from the
**window-ahead lines** (:func:`ahead_lines`): the order lines of the last ``windows``
horizon-length windows before the forecast day -- the same windows as the calibration
(:mod:`~shopseg.demand.level`) -- each line in the segment its customer was in *as of the
window's start* (a customer first seen inside the window: as of its end, the first day they
can be placed). A segment's units per purchase day ahead, for known customers and for
newcomers (:func:`window_baskets`), is the ratio of the sums, shrunk toward the shop's with
:data:`BASKET_PRIOR_DAYS` pseudo purchase days; its shares are shrunk toward the shop's
history shares (:mod:`~shopseg.demand.shares`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from shopseg import schema as s
from shopseg.demand.level import newcomer_window_ends
from shopseg.demand.lines import DAY, UNITS
from shopseg.demand.membership import Membership

#: Pseudo purchase days pulling a segment's units per purchase day toward the shop's.
BASKET_PRIOR_DAYS = 30.0
#: Column of :func:`ahead_lines`: True for a customer first seen inside the line's window.
NEWCOMER = "newcomer"


def ahead_lines(
    history: pd.DataFrame, as_of: pd.Timestamp, step: pd.Timedelta, windows: int, membership: Membership
) -> tuple[pd.DataFrame, list[pd.Timestamp]]:
    """The window-ahead lines (see the module docstring) and the windows' ends, newest first.

    ``history``: unit lines up to ``as_of``. Returns its lines inside the windows (as_of - k
    step, as_of - (k - 1) step], k = 1 .. windows (those inside the history), with segment_id
    as of each window's start (known customers) or end (newcomers), and :data:`NEWCOMER`.
    """
    first_seen = history.groupby(s.CUSTOMER_ID, sort=False)[DAY].min()
    ends = newcomer_window_ends(history[DAY].min(), as_of, step, windows)
    parts = []
    for end in ends:  # a handful of windows
        start = end - step
        window = history.loc[(history[DAY] > start) & (history[DAY] <= end)]
        customers = window[s.CUSTOMER_ID].to_numpy()
        new = (window[s.CUSTOMER_ID].map(first_seen) > start).to_numpy()
        segment = np.empty(len(window), dtype="int64")
        segment[~new] = membership.segment_of(customers[~new], start)
        segment[new] = membership.segment_of(customers[new], end)
        parts.append(window.assign(**{s.SEGMENT_ID: segment, NEWCOMER: new}))
    if not parts:
        return history.iloc[:0].assign(**{NEWCOMER: np.zeros(0, dtype=bool)}), ends
    return pd.concat(parts, ignore_index=True), ends


@dataclass
class Baskets:
    """Units per purchase day per segment in the window ahead: ``known`` customers' and ``newcomers``' (G,)."""

    known: np.ndarray
    newcomers: np.ndarray
    report: dict[str, object] = field(default_factory=dict)

    def blended(self, known_days: np.ndarray, new_days: np.ndarray) -> np.ndarray:
        """Units per purchase day of a segment's forecast purchase days (known and newcomers' weighted)."""
        total = known_days + new_days
        mixed = (known_days * self.known + new_days * self.newcomers) / np.where(total > 0, total, 1.0)
        return np.where(total > 0, mixed, self.known)


def _per_segment(table: pd.DataFrame, position: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Units and purchase days of ``table``'s lines per segment."""
    index = position.reindex(table[s.SEGMENT_ID].to_numpy()).to_numpy()
    units = np.bincount(index, weights=table[UNITS].to_numpy(dtype="float64"), minlength=len(position))
    first_line = ~table.duplicated([s.CUSTOMER_ID, DAY]).to_numpy()
    days = np.bincount(index[first_line], minlength=len(position)).astype("float64")
    return units, days


def _shrunk(units: np.ndarray, days: np.ndarray, fallback: np.ndarray) -> tuple[np.ndarray, float | None]:
    """(units + prior x shop ratio) / (days + prior) per segment; ``fallback`` when nothing was bought."""
    if days.sum() <= 0:
        return fallback, None
    shop = float(units.sum() / days.sum())
    return (units + BASKET_PRIOR_DAYS * shop) / (days + BASKET_PRIOR_DAYS), shop


def window_baskets(ahead: pd.DataFrame, segments: np.ndarray, fallback: np.ndarray) -> Baskets:
    """:class:`Baskets` from :func:`ahead_lines`; ``fallback`` (G,): the history's, used without such lines."""
    position = pd.Series(np.arange(len(segments)), index=segments)
    new = ahead[NEWCOMER].to_numpy(dtype=bool)
    known_units, known_days = _per_segment(ahead.loc[~new], position)
    new_units, new_days = _per_segment(ahead.loc[new], position)
    known, known_shop = _shrunk(known_units, known_days, fallback)
    newcomers, new_shop = _shrunk(new_units, new_days, fallback)
    report = {
        "source": "units per purchase day bought in the earlier windows (known customers in their segment as of "
        f"each window's start, newcomers as of its end), shrunk toward the shop's with {BASKET_PRIOR_DAYS:g} "
        "pseudo purchase days",
        "shop": {"known_customers": known_shop, "newcomers": new_shop},
        "by_segment": {
            str(g): {
                "known_customers": float(k),
                "newcomers": float(v),
                "history": float(h),
                "purchase_days_known": float(dk),
                "purchase_days_newcomers": float(dn),
            }
            for g, k, v, h, dk, dn in zip(segments, known, newcomers, fallback, known_days, new_days, strict=True)
        },
    }
    if ahead.empty:
        report["note"] = "no earlier window: the history's units per purchase day"
    return Baskets(known=known, newcomers=newcomers, report=report)
