"""Which part of a customer's history the features read: their latest activity, as of a date.

Segments should say how customers behave *now*: a customer who bought beauty products for
two years and outdoor gear for the last one is an outdoor customer today. So frequency,
spend, baskets, returns, time habits, category shares, engagement and the text vectors
(taste, voice, browse) read each customer's **activity window**, while ``recency_days`` and
``tenure_days`` keep measuring the whole history from the reference time (the "as of" date).

A customer's window is the ``days`` (default :data:`DEFAULT_WINDOW_DAYS`, 365) before the
reference time, or, for a customer who has not bought in that time, the ``days`` before
their last purchase (and everything after it)::

    start = reference - days          if the last purchase is on or after that
            last purchase - days      otherwise

so a lapsed customer is described by their last year of buying (a lapsed big spender still
looks like a big spender, with a long recency), never by an empty window. The window always
holds the customer's last purchase, so nobody with order lines disappears. Customers with
order lines but no purchase (only returns) use their last line; customers with reviews or
events but no order lines use the calendar window. Rows after the reference time are kept
(a customer placed later than the model's reference); cutting the data at a date is
:func:`cut_at`'s job.

Why 365 days: a year holds every season once (month and weekday shares are not skewed by
the window), and it is the horizon of the CLV and expected-orders columns. ``days=None``
reads the whole history (what every run did before windows existed).
"""

from __future__ import annotations

import pandas as pd
from pandas.api.types import is_datetime64_any_dtype

from shopseg import schema as s
from shopseg.errors import ConfigError, ShopsegError
from shopseg.shop import Shop

DEFAULT_WINDOW_DAYS = 365


def as_of_reference(as_of: str | pd.Timestamp) -> pd.Timestamp:
    """The reference time of data "as of" a day: midnight at the start of the next day.

    The same "now" a shop whose last line falls on that day gets by default (see
    :func:`~shopseg.features.behaviour.default_reference`). A time zone is converted to UTC.
    """
    try:
        stamp = pd.Timestamp(as_of)
    except (ValueError, TypeError) as error:
        raise ConfigError(f"--as-of '{as_of}' is not a date: write it as YYYY-MM-DD, e.g. 2024-06-30.") from error
    if pd.isna(stamp):
        raise ConfigError(f"--as-of '{as_of}' is not a date: write it as YYYY-MM-DD, e.g. 2024-06-30.")
    if stamp.tzinfo is not None:
        stamp = stamp.tz_convert("UTC").tz_localize(None)
    return stamp.normalize() + pd.Timedelta(days=1)


def _before(table: pd.DataFrame | None, reference: pd.Timestamp) -> tuple[pd.DataFrame | None, int]:
    """Rows of ``table`` dated before ``reference``, and how many were left out."""
    if table is None or s.TS not in table:
        return table, 0
    keep = (table[s.TS] < reference).to_numpy()
    if keep.all():
        return table, 0
    return table.loc[keep].reset_index(drop=True), int((~keep).sum())


def cut_at(shop: Shop, reference: pd.Timestamp, label: str | None = None) -> Shop:
    """The shop as it was known just before ``reference``: orders, reviews and events dated before it.

    Customers who signed up later leave the customer table; the catalogue stays whole
    (products carry no date). What was left out is counted in the shop's notes (``label``
    names the cut, e.g. the ``--as-of`` day). Raises :class:`~shopseg.errors.ShopsegError`
    when no order line is left.
    """
    label = label or str(reference)
    orders, orders_cut = _before(shop.orders, reference)
    reviews, reviews_cut = _before(shop.reviews, reference)
    events, events_cut = _before(shop.events, reference)
    if shop.orders is not None and not shop.orders.empty and (orders is None or orders.empty):
        first = shop.orders[s.TS].min()
        raise ShopsegError(
            f"--as-of {label}: no order line is dated on or before that day (the first is {first:%Y-%m-%d}). "
            "Give a later day."
        )
    customers, customers_cut = shop.customers, 0
    if customers is not None and s.SIGNUP_TS in customers and is_datetime64_any_dtype(customers[s.SIGNUP_TS]):
        later = (customers[s.SIGNUP_TS] >= reference).to_numpy()
        customers, customers_cut = customers.loc[~later].reset_index(drop=True), int(later.sum())
    counts = {"order lines": orders_cut, "reviews": reviews_cut, "events": events_cut, "customers": customers_cut}
    left_out = ", ".join(f"{n:,} {what}" for what, n in counts.items() if n)
    note = f"as of {label}: {left_out or 'nothing'} dated later left out"
    return Shop(
        orders=orders,
        customers=customers,
        products=shop.products,
        reviews=reviews,
        events=events,
        files=shop.files,
        quarantine=shop.quarantine,
        notes=[*shop.notes, note],
    )


def window_starts(orders: pd.DataFrame, reference: pd.Timestamp, days: float) -> pd.Series:
    """First moment of each customer's activity window (index customer_id); see the module docstring."""
    purchases = orders.loc[~orders[s.IS_RETURN].astype(bool)] if s.IS_RETURN in orders else orders
    last = purchases.groupby(s.CUSTOMER_ID, sort=False)[s.TS].max()
    any_line = orders.groupby(s.CUSTOMER_ID, sort=False)[s.TS].max()
    last = last.reindex(any_line.index).fillna(any_line)
    span = pd.Timedelta(days=days)
    calendar = reference - span
    return (last - span).where(last < calendar, calendar)


def _in_window(table: pd.DataFrame | None, starts: pd.Series, calendar: pd.Timestamp) -> pd.DataFrame | None:
    """Rows of ``table`` at or after their customer's window start (``calendar`` for customers without one)."""
    if table is None or table.empty or s.TS not in table or s.CUSTOMER_ID not in table:
        return table
    start = table[s.CUSTOMER_ID].map(starts)
    start = start.fillna(calendar) if start.isna().any() else start
    keep = (table[s.TS] >= start).to_numpy()
    return table if keep.all() else table.loc[keep].reset_index(drop=True)


def current_activity(shop: Shop, reference: pd.Timestamp | None, days: float | None) -> Shop:
    """The shop's rows inside each customer's activity window (the whole shop when ``days`` is None).

    The catalogue and customer table are kept whole; every customer with order lines keeps
    at least their last purchase.
    """
    if days is None or reference is None or shop.orders is None or shop.orders.empty:
        return shop
    starts = window_starts(shop.orders, reference, days)
    calendar = reference - pd.Timedelta(days=days)
    return Shop(
        orders=_in_window(shop.orders, starts, calendar),
        customers=shop.customers,
        products=shop.products,
        reviews=_in_window(shop.reviews, starts, calendar),
        events=_in_window(shop.events, starts, calendar),
        files=shop.files,
        quarantine=shop.quarantine,
        notes=shop.notes,
    )
