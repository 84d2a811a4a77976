"""Assemble every feature a shop supports into one table, one row per customer.

Which features exist depends on the data: order lines give behaviour, timestamps with
times give hour habits, categorised products give category shares, reviews and events
give engagement, a customer table gives attributes. :class:`FeatureSet` records which
columns the segmentation uses (``segmentation_columns``): value, loyalty, returns, time
habits, taste and engagement, and customer attributes only when there is no order history
(they then are all there is); per-weekday and per-month shares and, with orders, the
attributes are kept for profiles. Time habits (weekend share, hour bands) enter only when
they repeat within customers (:mod:`shopseg.features.habits`: split-half reliability);
``habit_selection`` records the test, and the shares that fail it stay for profiles.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from shopseg import schema as s
from shopseg.features.attributes import attribute_features
from shopseg.features.behaviour import (
    CORE,
    HOUR_BANDS,
    behaviour_features,
    default_reference,
    habit_priors,
    has_time_of_day,
    share_conditions,
    tenure_days,
)
from shopseg.features.categories import category_priors, category_shares
from shopseg.features.engagement import engagement_priors, event_features, review_features
from shopseg.features.habits import HabitSelection, habit_reliability, select_habits
from shopseg.features.window import current_activity
from shopseg.shop import Shop

_HABITS = ("weekend_share", *(f"hour_share_{band}" for band in HOUR_BANDS))
#: Engagement columns the segmentation uses (the others describe segments in profiles).
ENGAGEMENT = ("review_count", "rating_mean", "view_count", "cart_to_view")


@dataclass
class FeatureSet:
    """Features per customer (index ``customer_id``) and the columns to segment on.

    ``window_days``: the activity window the features read (None: the whole history; see
    :mod:`shopseg.features.window`).
    """

    frame: pd.DataFrame
    segmentation_columns: list[str]
    reference_ts: pd.Timestamp | None = None
    groups: dict[str, list[str]] = field(default_factory=dict)
    priors: dict[str, float] = field(default_factory=dict)
    window_days: float | None = None
    habit_selection: HabitSelection | None = None

    @property
    def segmentation_blocks(self) -> dict[str, list[str]]:
        """The segmentation columns by feature group (behaviour, habits, taste, ...)."""
        chosen = set(self.segmentation_columns)
        blocks = {name: [c for c in columns if c in chosen] for name, columns in self.groups.items()}
        return {name: columns for name, columns in blocks.items() if columns}


def build_features(
    shop: Shop,
    reference_ts: pd.Timestamp | None = None,
    priors: dict[str, float] | None = None,
    window_days: float | None = None,
    *,
    test_habits: bool = True,
) -> FeatureSet:
    """Every feature the shop's tables support; see the module docstring.

    To place new customers in a fitted model's space, pass the model's ``reference_ts``,
    ``priors`` (the shop shares that habit and category shares are shrunk towards) and
    ``window_days``: then a customer's features do not depend on who else is in ``shop``.
    ``window_days`` (None: whole history) makes every feature but recency and tenure read
    each customer's activity window (:func:`~shopseg.features.window.current_activity`).
    ``test_habits`` runs the split-half test of the time habits (fitting); placing customers
    needs no test (the fitted scaler's columns decide) and passes False.
    """
    customers = shop.customer_ids()
    habit_selection = None
    parts: list[pd.DataFrame] = []
    groups: dict[str, list[str]] = {}
    has_orders = shop.orders is not None and not shop.orders.empty
    if has_orders:
        reference_ts = reference_ts if reference_ts is not None else default_reference(shop.orders)
    full_orders = shop.orders
    shop = current_activity(shop, reference_ts, window_days)
    if has_orders:
        if priors is None:
            priors = habit_priors(shop.orders) | category_priors(shop.orders, shop.products)
            priors |= engagement_priors(shop.events)
        behaviour = behaviour_features(shop.orders, reference_ts, share_priors=priors)
        if shop.orders is not full_orders:  # a window cut some lines: tenure still counts the whole history
            behaviour["tenure_days"] = tenure_days(full_orders, reference_ts).reindex(behaviour.index)
        parts.append(behaviour)
        groups["behaviour"] = [c for c in CORE if c in behaviour]
        groups["habits"] = [c for c in _HABITS if c in behaviour]
        if test_habits:
            conditions = share_conditions(has_time_of_day(shop.orders))
            candidates = {c: conditions[c] for c in groups["habits"] if c in conditions}
            habit_selection = select_habits(habit_reliability(shop.orders, candidates))
        category_part = {k: v for k, v in priors.items() if k.startswith("category_share_")}
        shares = category_shares(shop.orders, shop.products, priors=category_part) if category_part else None
        if shares is not None:
            parts.append(shares)
            groups["taste"] = list(shares.columns)
    if shop.reviews is not None and not shop.reviews.empty:
        parts.append(review_features(shop.reviews))
    cart_rate = (priors or {}).get("cart_to_view")
    if shop.events is not None and not shop.events.empty:
        parts.append(event_features(shop.events, cart_rate))
    groups["engagement"] = [c for part in parts[1:] for c in ENGAGEMENT if c in part]
    attributes = None
    if shop.customers is not None and not shop.customers.empty:
        attributes = attribute_features(shop.customers, reference_ts)
        if attributes is not None:
            groups["attributes"] = list(attributes.columns)

    frame = pd.DataFrame(index=customers)
    for part in parts:
        frame = frame.join(part, how="left")
    if cart_rate is not None and "cart_to_view" in frame:
        frame["cart_to_view"] = frame["cart_to_view"].fillna(cart_rate)  # no browsing: the shop's rate
    frame = frame.fillna(0.0)
    if attributes is not None:
        attributes = attributes.reindex(customers)
        frame = frame.join(attributes.fillna(attributes.median(numeric_only=True)).fillna(0.0))
    frame.index.name = s.CUSTOMER_ID
    # Demographic attributes describe segments but define them only without order history:
    # behaviour, habits and taste are what a marketer acts on.
    used = [g for g in groups if g != "attributes" or not has_orders]
    columns = [c for group in used for c in groups[group] if c in frame]
    not_habits = set(habit_selection.dropped) if habit_selection is not None else set()
    columns = [c for c in dict.fromkeys(columns) if c not in not_habits]
    return FeatureSet(
        frame=frame.astype("float64"),
        segmentation_columns=columns,
        reference_ts=reference_ts,
        groups=groups,
        priors=priors or {},
        window_days=window_days,
        habit_selection=habit_selection,
    )
