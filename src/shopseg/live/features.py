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

import itertools
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

import numpy as np

from shopseg.features.behaviour import HOUR_BANDS, RHYTHM_PRIOR_GAPS, SHARE_PRIOR_ORDERS, WEEKDAYS
from shopseg.features.engagement import CART_PRIOR_VIEWS

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


_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()


def _calendar(seconds: float) -> tuple[int, int, int]:
    """ISO weekday (1 = Monday), hour and month of a moment given in seconds since 1970."""
    days = math.floor(seconds / DAY_SECONDS)
    hour = int((seconds - days * DAY_SECONDS) // 3600)
    return (days + 3) % 7 + 1, hour, date.fromordinal(days + _EPOCH_ORDINAL).month


def behaviour(lines: Lines, reference: float, priors: Mapping[str, float]) -> dict[str, float]:
    """The behaviour and habit columns of :func:`shopseg.features.behaviour.behaviour_features` for one customer.

    Plain Python over the customer's few lines: at this size it is several times faster than
    NumPy calls, each of which costs microseconds of overhead.
    """
    seconds, orders, amounts = lines.seconds.tolist(), lines.order.tolist(), lines.amount.tolist()
    units, products, returns = lines.units.tolist(), lines.product.tolist(), lines.is_return.tolist()
    by_order: dict[str, list] = {}  # order id -> [first moment, amounts, units]
    for moment, order, amount, unit, returned in zip(seconds, orders, amounts, units, returns, strict=True):
        if returned:
            continue
        entry = by_order.get(order)
        if entry is None:
            by_order[order] = [moment, [amount], [unit]]
        else:
            entry[0] = min(entry[0], moment)
            entry[1].append(amount)
            entry[2].append(unit)
    now = math.floor(reference)
    features: dict[str, float] = {}
    n_orders = len(by_order)
    if n_orders:
        # orders by (time, order id), as the SQL's window; gaps in whole seconds
        sequence = sorted(by_order.items(), key=lambda item: (item[1][0], item[0]))
        stamps = [math.floor(entry[0]) for _, entry in sequence]
        gaps = [b - a for a, b in itertools.pairwise(stamps)]
        monetary = math.fsum(math.fsum(entry[1]) for _, entry in sequence)
        features["recency_days"] = (now - stamps[-1]) / DAY_SECONDS
        features["frequency"] = float(n_orders)
        features["monetary_total"] = monetary
        features["monetary_mean"] = monetary / n_orders
        features["tenure_days"] = (now - stamps[0]) / DAY_SECONDS
        features["interpurchase_mean"] = (sum(gaps) / len(gaps)) / DAY_SECONDS if gaps else 0.0
        if len(gaps) > 1:
            n, total, squares = len(gaps), sum(gaps), sum(g * g for g in gaps)
            features["interpurchase_std"] = math.sqrt(max(n * squares - total * total, 0) / (n * (n - 1))) / DAY_SECONDS
        else:
            features["interpurchase_std"] = 0.0
        features["items_per_order"] = math.fsum(math.fsum(entry[2]) for _, entry in sequence) / n_orders
        order_moments = [entry[0] for _, entry in sequence]
        span_days = (stamps[-1] - stamps[0]) / DAY_SECONDS
    else:
        features["recency_days"] = (now - math.floor(max(seconds))) / DAY_SECONDS
        features["frequency"] = features["monetary_total"] = features["monetary_mean"] = 0.0
        features["tenure_days"] = (now - math.floor(min(seconds))) / DAY_SECONDS
        features["interpurchase_mean"] = features["interpurchase_std"] = features["items_per_order"] = 0.0
        order_moments = []
        span_days = 0.0
    features["recency_gaps"] = recency_gaps(features["recency_days"], span_days, n_orders, priors)
    features["distinct_products"] = float(
        len({p for p, r in zip(products, returns, strict=True) if not r and p is not None})
    )
    features["return_rate"] = sum(returns) / len(returns)
    features["return_value"] = abs(math.fsum(a for a, r in zip(amounts, returns, strict=True) if r))
    features |= habit_shares(order_moments, priors)
    return features


def recency_gaps(recency_days: float, span_days: float, n_orders: int, priors: Mapping[str, float]) -> float:
    """Recency in the customer's own rhythm, as the SQL's ``recency_gaps``.

    The typical gap is the active span over the gaps, with ``RHYTHM_PRIOR_GAPS`` extra gaps
    at the shop's mean gap (``priors["interpurchase_mean"]``; 1 day when unknown or 0), and
    never under one day.
    """
    shop_gap = float(priors.get("interpurchase_mean") or 0.0) or 1.0
    gap = (span_days + RHYTHM_PRIOR_GAPS * shop_gap) / (max(n_orders - 1, 0) + RHYTHM_PRIOR_GAPS)
    return recency_days / max(gap, 1.0)


def habit_shares(order_seconds: list[float], priors: Mapping[str, float]) -> dict[str, float]:
    """Weekend, weekday, hour-band and month shares of a customer's orders, shrunk towards ``priors``.

    Columns exist as in the SQL: hour bands only when the priors have them. Without orders
    every share is 0 (the SQL leaves them NULL, then 0).
    """
    hours = any(name.startswith("hour_share_") for name in priors)
    weekday_hits, month_hits, band_hits = [0] * 8, [0] * 13, dict.fromkeys(HOUR_BANDS, 0)
    for moment in order_seconds:
        weekday, hour, month = _calendar(moment)
        weekday_hits[weekday] += 1
        month_hits[month] += 1
        for band, (low, high) in HOUR_BANDS.items():
            if low <= hour < high:
                band_hits[band] += 1
    hits = {"weekend_share": weekday_hits[6] + weekday_hits[7]}
    hits |= {f"weekday_share_{d}": weekday_hits[i + 1] for i, d in enumerate(WEEKDAYS)}
    if hours:
        hits |= {f"hour_share_{band}": count for band, count in band_hits.items()}
    hits |= {f"month_share_{m:02d}": month_hits[m] for m in range(1, 13)}
    n = len(order_seconds)
    if not n:
        return dict.fromkeys(hits, 0.0)
    return {
        name: (count + SHARE_PRIOR_ORDERS * (float(priors[name]) if name in priors else count / n))
        / (n + SHARE_PRIOR_ORDERS)
        for name, count in hits.items()
    }


def category_shares(lines: Lines, priors: Mapping[str, float]) -> dict[str, float]:
    """Category spend shares (:func:`shopseg.features.categories.category_shares`) for one customer.

    Customers without categorised purchases get 0 in every column (they are absent from the
    table ``build_features`` joins, then filled with 0).
    """
    columns = sorted(name for name in priors if name.startswith(CATEGORY_PREFIX))
    if not columns:
        return {}
    known = set(columns)
    spend: dict[str, list[float]] = {}
    orders = set()
    for category, amount, order, returned in zip(
        lines.category.tolist(), lines.amount.tolist(), lines.order.tolist(), lines.is_return.tolist(), strict=True
    ):
        if returned or category is None:
            continue
        column = category if category in known else OTHER
        if column not in known:
            continue
        spend.setdefault(column, []).append(amount)
        orders.add(order)
    if not orders:
        return dict.fromkeys(columns, 0.0)
    sums = {name: math.fsum(spend.get(name, ())) for name in columns}
    total = math.fsum(sums.values())
    total = total if total > 0 else 1.0
    n_orders = float(len(orders))
    return {
        name: ((sums[name] / total) * n_orders + SHARE_PRIOR_ORDERS * float(priors[name]))
        / (n_orders + SHARE_PRIOR_ORDERS)
        for name in columns
    }


def engagement(activity: Activity, cart_rate: float | None = None) -> dict[str, float]:
    """Review and event columns (:mod:`shopseg.features.engagement`) for one customer; 0 without any.

    ``cart_rate``: the fitted shop's carts per view (its ``cart_to_view`` prior): a customer's
    ``cart_to_view`` is shrunk towards it with ``CART_PRIOR_VIEWS`` pseudo-views, and is that
    rate for a customer without events, as ``build_features`` does.
    """
    features: dict[str, float] = {}
    n_reviews = len(activity.review_seconds)
    if n_reviews:
        features["review_count"] = float(n_reviews)
        if activity.has_ratings:
            ratings = activity.ratings.tolist()
            given = [r for r in ratings if not math.isnan(r)]
            features["rating_mean"] = math.fsum(given) / len(given) if given else 0.0
            features["review_low_share"] = sum(1 for r in given if r <= 2) / n_reviews
    n_events = len(activity.event_seconds)
    if n_events:
        kinds = activity.event_kinds.tolist()
        features["event_count"] = float(n_events)
        if activity.has_sessions:
            features["session_count"] = float(len({x for x in activity.sessions.tolist() if x is not None}))
        views = float(sum(1 for kind in kinds if kind in VIEWS))
        carts = float(sum(1 for kind in kinds if kind in CARTS))
        features["view_count"], features["cart_count"] = views, carts
        if cart_rate is None:
            features["cart_to_view"] = carts / views if views > 0 else 0.0
        else:
            features["cart_to_view"] = (carts + CART_PRIOR_VIEWS * cart_rate) / (views + CART_PRIOR_VIEWS)
    elif cart_rate is not None:
        features["cart_to_view"] = cart_rate
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
    rate = priors.get("cart_to_view")
    features |= engagement(activity, float(rate) if rate is not None else None)
    return features, start
