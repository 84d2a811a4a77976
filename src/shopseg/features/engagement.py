"""Engagement from reviews and browsing events: counts and the ratings customers give.

``review_count``, ``rating_mean`` (missing ratings: the shop's mean), ``review_low_share``
(share of ratings <= 2); ``event_count``, ``session_count``, ``view_count``, ``cart_count``
and ``cart_to_view`` (carts per view). Text sentiment comes with the embedding stage.
"""

from __future__ import annotations

import pandas as pd

from shopseg import schema as s


def review_features(reviews: pd.DataFrame) -> pd.DataFrame:
    """One row per reviewing customer."""
    grouped = reviews.groupby(s.CUSTOMER_ID)
    features = pd.DataFrame({"review_count": grouped.size().astype("float64")})
    if s.RATING in reviews:
        rating = reviews[s.RATING].astype("float64")
        features["rating_mean"] = rating.groupby(reviews[s.CUSTOMER_ID]).mean()
        features["review_low_share"] = (rating <= 2).groupby(reviews[s.CUSTOMER_ID]).mean()
        features = features.fillna({"rating_mean": rating.mean(), "review_low_share": 0.0})
    return features.fillna(0.0)


def event_features(events: pd.DataFrame) -> pd.DataFrame:
    """One row per customer with browsing events."""
    kind = events[s.EVENT_TYPE].astype("string").str.lower()
    by_customer = events[s.CUSTOMER_ID]
    features = pd.DataFrame({"event_count": by_customer.value_counts().astype("float64")})
    if s.SESSION_ID in events:
        features["session_count"] = events.groupby(s.CUSTOMER_ID)[s.SESSION_ID].nunique().astype("float64")
    views = kind.isin(["view", "page_view", "product_view"]).groupby(by_customer).sum()
    carts = kind.isin(["cart", "addtocart", "add_to_cart"]).groupby(by_customer).sum()
    features["view_count"] = views.astype("float64")
    features["cart_count"] = carts.astype("float64")
    features["cart_to_view"] = (carts / views.where(views > 0)).fillna(0.0)
    return features.fillna(0.0)
