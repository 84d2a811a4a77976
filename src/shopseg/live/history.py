"""Every known customer's history in memory, one array slice away, and the lines that arrive later.

The API's real-time update recomputes a customer's features from their whole history at
every request. Reading it from DuckDB would take milliseconds per request, so the run's
order lines, reviews and events are loaded once, sorted by customer into NumPy arrays, and a
customer's rows are a dictionary lookup (``customer -> (start, stop)``) away. Lines posted
later are kept per customer in a small side table (:meth:`History.add`), under a lock, so
that the next request of the same customer sees them; they live in memory only (a rerun or
``shopseg update`` folds new files into a run).

Each row also carries where its text vector is (:class:`~shopseg.live.text.TextIndex` rows):
the product's for order lines and viewed products, the review's, the search's, so a
customer's taste, voice and browse vectors are sums of a few rows of one matrix.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field, fields

import numpy as np
import pandas as pd

from shopseg import schema as s
from shopseg.embed.customer_vectors import VIEW_EVENTS
from shopseg.live.features import Activity, Lines

NO_ROW = -1


@dataclass
class OrderRows:
    """Order lines as arrays: :class:`~shopseg.live.features.Lines` plus each line's product text row."""

    lines: Lines
    text_row: np.ndarray

    def take(self, rows: np.ndarray | slice) -> OrderRows:
        return OrderRows(self.lines.take(rows), self.text_row[rows])

    @staticmethod
    def concatenate(parts: list[OrderRows]) -> OrderRows:
        lines = Lines(*(np.concatenate([getattr(p.lines, f.name) for p in parts]) for f in fields(Lines)))
        return OrderRows(lines, np.concatenate([p.text_row for p in parts]))


@dataclass
class ActivityRows:
    """Reviews and events as arrays: :class:`~shopseg.live.features.Activity` plus text rows.

    ``review_row``: each review's text row; ``browse_row``: each event's browse item row (the
    viewed product's, or the search's), -1 when the event adds nothing to the browse vector.
    """

    activity: Activity
    review_row: np.ndarray
    browse_row: np.ndarray

    @staticmethod
    def concatenate(parts: list[ActivityRows]) -> ActivityRows:
        first = parts[0].activity
        names = ("review_seconds", "ratings", "event_seconds", "event_kinds", "sessions")
        joined = {name: np.concatenate([getattr(p.activity, name) for p in parts]) for name in names}
        activity = Activity(**joined, has_sessions=first.has_sessions, has_ratings=first.has_ratings)
        return ActivityRows(
            activity,
            np.concatenate([p.review_row for p in parts]),
            np.concatenate([p.browse_row for p in parts]),
        )


def seconds(values: pd.Series) -> np.ndarray:
    """Timestamps as float seconds since 1970 (microseconds kept)."""
    return values.to_numpy(dtype="datetime64[us]").astype("int64") / 1e6


def _objects(values: pd.Series) -> np.ndarray:
    """Strings with None where missing (NaN or empty)."""
    array = values.astype(object).to_numpy()
    missing = pd.isna(array) | (array == "")
    array = array.astype(str).astype(object)
    array[missing] = None
    return array


def order_rows(orders: pd.DataFrame, category_of: Callable[[np.ndarray], np.ndarray], product_row) -> OrderRows:
    """Canonical order lines (typed, with ``is_return``) as :class:`OrderRows`."""
    products = _objects(orders[s.PRODUCT_ID]) if s.PRODUCT_ID in orders else np.full(len(orders), None, dtype=object)
    units = orders[s.QUANTITY].abs().to_numpy(dtype="float64") if s.QUANTITY in orders else np.ones(len(orders))
    lines = Lines(
        seconds=seconds(orders[s.TS]),
        order=orders[s.ORDER_ID].astype(str).to_numpy(dtype=object),
        amount=orders[s.AMOUNT].to_numpy(dtype="float64"),
        units=np.nan_to_num(units, nan=0.0),
        product=products,
        is_return=orders[s.IS_RETURN].to_numpy(dtype=bool),
        category=category_of(products),
    )
    return OrderRows(lines, product_row(products))


def activity_rows(
    reviews: pd.DataFrame | None, events: pd.DataFrame | None, review_row, product_row, search_row, shape: Activity
) -> ActivityRows:
    """Canonical reviews and events as :class:`ActivityRows` (``shape``: which optional columns the shop has)."""
    reviews = reviews if reviews is not None else pd.DataFrame({s.TS: pd.Series(dtype="datetime64[us]")})
    events = events if events is not None else pd.DataFrame({s.TS: pd.Series(dtype="datetime64[us]")})
    n_events = len(events)
    kinds = (
        events[s.EVENT_TYPE].astype(str).str.lower().to_numpy(dtype=object)
        if s.EVENT_TYPE in events
        else np.full(n_events, "", dtype=object)
    )
    sessions = _objects(events[s.SESSION_ID]) if s.SESSION_ID in events else np.full(n_events, None, dtype=object)
    ratings = (
        pd.to_numeric(reviews[s.RATING], errors="coerce").to_numpy(dtype="float64")
        if s.RATING in reviews
        else np.full(len(reviews), np.nan)
    )
    viewed = np.array([kind in VIEW_EVENTS for kind in kinds], dtype=bool)
    products = _objects(events[s.PRODUCT_ID]) if s.PRODUCT_ID in events else np.full(n_events, None, dtype=object)
    queries = _objects(events[s.QUERY]) if s.QUERY in events else np.full(n_events, None, dtype=object)
    browse = np.where(viewed, product_row(products), NO_ROW)
    searched = search_row(queries)
    browse = np.where(searched >= 0, searched, browse)  # an event with a query is a search
    texts = _objects(reviews[s.TEXT]) if s.TEXT in reviews else np.full(len(reviews), None, dtype=object)
    return ActivityRows(
        Activity(
            review_seconds=seconds(reviews[s.TS]),
            ratings=ratings,
            event_seconds=seconds(events[s.TS]),
            event_kinds=kinds,
            sessions=sessions,
            has_sessions=shape.has_sessions,
            has_ratings=shape.has_ratings,
        ),
        review_row(texts),
        browse.astype("int64"),
    )


def group_slices(customers: pd.Series) -> dict[str, tuple[int, int]]:
    """{customer: (start, stop)} of a column already sorted by customer."""
    values = customers.astype(str).to_numpy(dtype=object)
    if not len(values):
        return {}
    keys, starts = np.unique(values, return_index=True)
    order = np.argsort(starts)
    keys, starts = keys[order], starts[order]
    stops = np.r_[starts[1:], len(values)]
    return {str(k): (int(a), int(b)) for k, a, b in zip(keys, starts, stops, strict=True)}


@dataclass
class History:
    """Order lines, reviews and events of every known customer, plus the lines added since loading."""

    orders: OrderRows
    order_slices: dict[str, tuple[int, int]]
    reviews: ActivityRows
    review_slices: dict[str, tuple[int, int]]
    events: ActivityRows
    event_slices: dict[str, tuple[int, int]]
    added_orders: dict[str, list[OrderRows]] = field(default_factory=dict)
    added_activity: dict[str, list[ActivityRows]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def knows(self, customer_id: str) -> bool:
        return customer_id in self.order_slices or customer_id in self.added_orders

    def customer(self, customer_id: str) -> tuple[OrderRows, ActivityRows]:
        """Everything known about one customer: their order rows, and their reviews and events together."""
        orders, activity = self.parts(customer_id)
        return OrderRows.concatenate(orders), ActivityRows.concatenate(activity)

    def parts(self, customer_id: str) -> tuple[list[OrderRows], list[ActivityRows]]:
        """The pieces of :meth:`customer` (stored rows, then rows added), to join with more in one go."""
        with self._lock:
            added_orders = list(self.added_orders.get(customer_id, ()))
            added_activity = list(self.added_activity.get(customer_id, ()))
        start, stop = self.order_slices.get(customer_id, (0, 0))
        r0, r1 = self.review_slices.get(customer_id, (0, 0))
        e0, e1 = self.event_slices.get(customer_id, (0, 0))
        orders = [self.orders.take(slice(start, stop)), *added_orders]
        activity = [_slice_reviews(self.reviews, r0, r1), _slice_events(self.events, e0, e1), *added_activity]
        return orders, activity

    def add(self, customer_id: str, orders: OrderRows, activity: ActivityRows) -> None:
        """Keep lines that arrived for ``customer_id`` (seen by the next :meth:`customer` call)."""
        with self._lock:
            self.added_orders.setdefault(customer_id, []).append(orders)
            self.added_activity.setdefault(customer_id, []).append(activity)


def _slice_reviews(rows: ActivityRows, start: int, stop: int) -> ActivityRows:
    """Reviews ``start:stop`` and no events."""
    a = rows.activity
    empty = np.zeros(0)
    return ActivityRows(
        Activity(
            review_seconds=a.review_seconds[start:stop],
            ratings=a.ratings[start:stop],
            event_seconds=empty,
            event_kinds=np.zeros(0, dtype=object),
            sessions=np.zeros(0, dtype=object),
            has_sessions=a.has_sessions,
            has_ratings=a.has_ratings,
        ),
        rows.review_row[start:stop],
        np.zeros(0, dtype="int64"),
    )


def _slice_events(rows: ActivityRows, start: int, stop: int) -> ActivityRows:
    """Events ``start:stop`` and no reviews."""
    a = rows.activity
    return ActivityRows(
        Activity(
            review_seconds=np.zeros(0),
            ratings=np.zeros(0),
            event_seconds=a.event_seconds[start:stop],
            event_kinds=a.event_kinds[start:stop],
            sessions=a.sessions[start:stop],
            has_sessions=a.has_sessions,
            has_ratings=a.has_ratings,
        ),
        np.zeros(0, dtype="int64"),
        rows.browse_row[start:stop],
    )
