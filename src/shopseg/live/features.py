"""One customer's features in microseconds: the real-time twin of :func:`shopseg.features.build_features`.

The API's real-time update (``POST /customers/{id}/update``) recomputes one customer's
features per request. ``build_features`` answers in tens of milliseconds (a DuckDB query and
pandas frames are built for every call), so this module computes the same numbers for a
single customer with NumPy on a handful of arrays: the customer's order lines (``Lines``),
reviews and events, the fitted model's share priors, activity window and reference time.

It is a second implementation of the feature definitions, so it is held to the first by a
test: for every customer of generated shops, ``customer_features`` equals
``build_features`` run on a shop of that customer alone (to 1e-9), window or not (see
tests/live/test_features.py). Sums are ``math.fsum`` (exact, then rounded once), where the
SQL sums decimals; amounts with up to ten decimals give the same result to the last digits.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from shopseg.features.behaviour import HOUR_BANDS, SHARE_PRIOR_ORDERS, WEEKDAYS

DAY_SECONDS = 86_400.0
VIEWS = frozenset({"view", "page_view", "product_view"})
CARTS = frozenset({"cart", "addtocart", "add_to_cart"})
CATEGORY_PREFIX = "category_share_"
OTHER = "category_share_other"


@dataclass
class Lines:
    """One customer's order lines as arrays (one entry per line).

    ``seconds``: timestamp in seconds since 1970 (float; fractions kept); ``order``: order id;
    ``amount``: signed line amount (negative for returns); ``units``: ``|quantity|`` (1 when
    the shop has no quantities); ``product``: product id or None; ``is_return``: bool;
    ``category``: the product's category column name (``category_share_<slug>``) or None.
    """

    seconds: np.ndarray
    order: np.ndarray
    amount: np.ndarray
    units: np.ndarray
    product: np.ndarray
    is_return: np.ndarray
    category: np.ndarray

    def take(self, rows: np.ndarray) -> Lines:
        return Lines(*(getattr(self, name)[rows] for name in self.__dataclass_fields__))

    def __len__(self) -> int:
        return len(self.seconds)


@dataclass
class Activity:
    """One customer's reviews and events as arrays (``*_seconds``: timestamps in seconds since 1970)."""

    review_seconds: np.ndarray
    ratings: np.ndarray  # float, NaN where not given
    event_seconds: np.ndarray
    event_kinds: np.ndarray  # lower-case event types
    sessions: np.ndarray  # session ids, None where not given
    has_sessions: bool = True
    has_ratings: bool = True


def window_start(lines: Lines, reference: float, window_days: float | None) -> float | None:
    """The customer's activity window start (seconds), as :func:`shopseg.features.window.window_starts`."""
    if window_days is None or not len(lines):
        return None
    purchases = lines.seconds[~lines.is_return]
    last = purchases.max() if len(purchases) else lines.seconds.max()
    span = window_days * DAY_SECONDS
    calendar = reference - span
    return calendar if last >= calendar else last - span


def _calendar(seconds: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """ISO weekday (1 = Monday), hour and month of timestamps given in seconds since 1970."""
    stamps = np.asarray(seconds, dtype="float64").astype("int64").astype("datetime64[s]")
    days = stamps.astype("datetime64[D]")
    weekday = (days.view("int64") + 3) % 7 + 1  # 1970-01-01 was a Thursday (ISO 4)
    hour = (stamps - days).astype("int64") // 3600
    month = days.astype("datetime64[M]").astype("int64") % 12 + 1
    return weekday, hour, month


def _whole_seconds(seconds: np.ndarray | float) -> np.ndarray | float:
    """Seconds truncated to whole seconds, as DuckDB's date_diff('second', ...) counts them."""
    return np.floor(seconds)


def behaviour(lines: Lines, reference: float, priors: Mapping[str, float]) -> dict[str, float]:
    """The behaviour and habit columns of :func:`shopseg.features.behaviour.behaviour_features` for one customer."""
    features: dict[str, float] = {}
    purchase = ~lines.is_return
    orders = np.unique(lines.order[purchase]) if purchase.any() else np.zeros(0, dtype=object)
    n_orders = len(orders)
    last_line, first_any = float(lines.seconds.max()), float(lines.seconds.min())
    if n_orders:
        bought = lines.take(np.flatnonzero(purchase))
        order_index = np.searchsorted(orders, bought.order)
        order_ts = np.full(n_orders, np.inf)
        np.minimum.at(order_ts, order_index, bought.seconds)
        values = [math.fsum(bought.amount[order_index == i]) for i in range(n_orders)]
        units = [math.fsum(bought.units[order_index == i]) for i in range(n_orders)]
        monetary = math.fsum(values)
        # gaps between consecutive orders, ordered by (time, order id) as the SQL's window
        sequence = np.lexsort((orders, order_ts))
        stamps = _whole_seconds(order_ts[sequence])
        gaps = np.diff(stamps)
        features["recency_days"] = (_whole_seconds(reference) - stamps[-1]) / DAY_SECONDS
        features["frequency"] = float(n_orders)
        features["monetary_total"] = monetary
        features["monetary_mean"] = monetary / n_orders
        features["tenure_days"] = (_whole_seconds(reference) - stamps[0]) / DAY_SECONDS
        features["interpurchase_mean"] = float(gaps.mean()) / DAY_SECONDS if len(gaps) else 0.0
        if len(gaps) > 1:
            n, total, squares = len(gaps), int(gaps.sum()), int((gaps.astype("int64") ** 2).sum())
            features["interpurchase_std"] = math.sqrt(max(n * squares - total * total, 0) / (n * (n - 1))) / DAY_SECONDS
        else:
            features["interpurchase_std"] = 0.0
        features["items_per_order"] = math.fsum(units) / n_orders
    else:
        features["recency_days"] = (_whole_seconds(reference) - _whole_seconds(last_line)) / DAY_SECONDS
        features["frequency"] = 0.0
        features["monetary_total"] = 0.0
        features["monetary_mean"] = 0.0
        features["tenure_days"] = (_whole_seconds(reference) - _whole_seconds(first_any)) / DAY_SECONDS
        features["interpurchase_mean"] = features["interpurchase_std"] = features["items_per_order"] = 0.0
    products = {p for p, r in zip(lines.product, lines.is_return, strict=True) if not r and p is not None}
    features["distinct_products"] = float(len(products))
    features["return_rate"] = float(lines.is_return.mean())
    features["return_value"] = abs(math.fsum(lines.amount[lines.is_return]))
    features |= habit_shares(order_ts if n_orders else np.zeros(0), priors)
    return features


def habit_shares(order_seconds: np.ndarray, priors: Mapping[str, float]) -> dict[str, float]:
    """Weekend, weekday, hour-band and month shares of a customer's orders, shrunk towards ``priors``.

    Columns exist as in the SQL: hour bands only when the priors have them. Without orders
    every share is 0 (the SQL leaves them NULL, then 0).
    """
    n = len(order_seconds)
    weekday, hour, month = _calendar(order_seconds) if n else (np.zeros(0),) * 3
    conditions: dict[str, np.ndarray] = {"weekend_share": weekday >= 6}
    conditions |= {f"weekday_share_{d}": weekday == i + 1 for i, d in enumerate(WEEKDAYS)}
    if any(name.startswith("hour_share_") for name in priors):
        conditions |= {f"hour_share_{band}": (hour >= lo) & (hour < hi) for band, (lo, hi) in HOUR_BANDS.items()}
    conditions |= {f"month_share_{m:02d}": month == m for m in range(1, 13)}
    if not n:
        return dict.fromkeys(conditions, 0.0)
    shares = {}
    for name, hits in conditions.items():
        prior = float(priors[name]) if name in priors else float(hits.mean())
        shares[name] = (float(hits.sum()) + SHARE_PRIOR_ORDERS * prior) / (n + SHARE_PRIOR_ORDERS)
    return shares


def category_shares(lines: Lines, priors: Mapping[str, float]) -> dict[str, float]:
    """Category spend shares (:func:`shopseg.features.categories.category_shares`) for one customer.

    Customers without categorised purchases get 0 in every column (they are absent from the
    table ``build_features`` joins, then filled with 0).
    """
    columns = sorted(name for name in priors if name.startswith(CATEGORY_PREFIX))
    if not columns:
        return {}
    keep = ~lines.is_return & np.array([c is not None for c in lines.category], dtype=bool)
    if not keep.any():
        return dict.fromkeys(columns, 0.0)
    known = set(columns)
    column = np.array([c if c in known else OTHER for c in lines.category[keep]], dtype=object)
    inside = np.array([c in known for c in column], dtype=bool)
    if not inside.any():
        return dict.fromkeys(columns, 0.0)
    amounts, column, order = lines.amount[keep][inside], column[inside], lines.order[keep][inside]
    spend = {name: math.fsum(amounts[column == name]) for name in columns}
    total = math.fsum(spend.values())
    total = total if total > 0 else 1.0
    n_orders = float(len(np.unique(order)))
    return {
        name: ((spend[name] / total) * n_orders + SHARE_PRIOR_ORDERS * float(priors[name]))
        / (n_orders + SHARE_PRIOR_ORDERS)
        for name in columns
    }


def engagement(activity: Activity) -> dict[str, float]:
    """Review and event columns (:mod:`shopseg.features.engagement`) for one customer; 0 without any."""
    features: dict[str, float] = {}
    n_reviews = len(activity.review_seconds)
    if n_reviews:
        features["review_count"] = float(n_reviews)
        if activity.has_ratings:
            ratings = activity.ratings
            given = ratings[~np.isnan(ratings)]
            features["rating_mean"] = float(given.mean()) if len(given) else 0.0
            features["review_low_share"] = float((np.nan_to_num(ratings, nan=np.inf) <= 2).mean())
    n_events = len(activity.event_seconds)
    if n_events:
        features["event_count"] = float(n_events)
        if activity.has_sessions:
            features["session_count"] = float(len({x for x in activity.sessions if x is not None}))
        views = float(sum(kind in VIEWS for kind in activity.event_kinds))
        carts = float(sum(kind in CARTS for kind in activity.event_kinds))
        features["view_count"], features["cart_count"] = views, carts
        features["cart_to_view"] = carts / views if views > 0 else 0.0
    return features


def customer_features(
    lines: Lines,
    activity: Activity,
    *,
    reference: float,
    priors: Mapping[str, float],
    window_days: float | None,
) -> tuple[dict[str, float], float | None]:
    """Every feature of one customer (missing columns mean 0, as in ``build_features``), and the window start.

    ``reference``: seconds since 1970 of the "now"; ``window_days``: the model's activity
    window (None: whole history). Recency and tenure read the whole history.
    """
    start = window_start(lines, reference, window_days)
    current = lines if start is None else lines.take(np.flatnonzero(lines.seconds >= start))
    features = behaviour(current, reference, priors)
    if start is not None:
        whole = behaviour(lines, reference, {})
        features["tenure_days"] = whole["tenure_days"]
    features |= category_shares(current, priors)
    if start is not None:
        activity = Activity(
            review_seconds=activity.review_seconds[activity.review_seconds >= start],
            ratings=activity.ratings[activity.review_seconds >= start],
            event_seconds=activity.event_seconds[activity.event_seconds >= start],
            event_kinds=activity.event_kinds[activity.event_seconds >= start],
            sessions=activity.sessions[activity.event_seconds >= start],
            has_sessions=activity.has_sessions,
            has_ratings=activity.has_ratings,
        )
    features |= engagement(activity)
    return features, start
