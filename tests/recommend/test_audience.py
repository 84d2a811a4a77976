"""Item-affinity audiences: who is most likely to buy a product."""

from __future__ import annotations

import pandas as pd
import pytest

from shopseg.errors import ShopsegError
from shopseg.recommend import audience_for_item, build_interactions, make_recommender


def test_audience_ranks_likely_buyers_and_skips_recent_buyers(co_purchase_shop):
    data = build_interactions(
        co_purchase_shop.orders, events=co_purchase_shop.events, products=co_purchase_shop.products
    )
    model = make_recommender("item_knn").fit(data)
    audience = audience_for_item(model, "P02", top=3)
    assert list(audience.columns) == ["customer_id", "score", "rank"]
    assert audience.iloc[0]["customer_id"] == "C900"  # bought P01, the product bought with P02
    assert list(audience["rank"]) == list(range(1, len(audience) + 1))
    assert audience["score"].is_monotonic_decreasing
    everyone = audience_for_item(model, "P02", top=100, recent_days=None)
    assert not everyone["customer_id"].str.startswith("C1").any()  # every C1xx bought P02
    # C1xx bought P02 on days 0-11; the last action with a product is on day 51 (the search on day
    # 52 names none), so 41 days back reaches days 10 and 11
    recent_only = audience_for_item(model, "P02", top=100, recent_days=41)
    assert sorted(recent_only["customer_id"][recent_only["customer_id"].str.startswith("C1")]) == [
        f"C1{i:02d}" for i in range(10)
    ]


def test_audience_from_a_factor_model_and_unknown_products(co_purchase_shop):
    data = build_interactions(co_purchase_shop.orders, products=co_purchase_shop.products)
    model = make_recommender("als", factors=4, regularization=0.1, iterations=20, use_signals=False).fit(data)
    audience = audience_for_item(model, "P04", top=5)
    assert set(audience["customer_id"]).isdisjoint({f"C2{i:02d}" for i in range(12)})  # all bought it
    with pytest.raises(ShopsegError, match="not in this shop"):
        audience_for_item(model, "NOPE")
    assert isinstance(audience, pd.DataFrame) and len(audience) == 5


def test_hybrid_audience_compares_customers_not_products(small_generated):
    shop, segments = small_generated
    data = build_interactions(shop.orders, events=shop.events, reviews=shop.reviews, products=shop.products)
    weights = {"segment_popular": 1.0, "item_knn": 1.0, "als": 1.0, "content": 1.0}
    model = make_recommender("hybrid", weights=weights).fit(data, segments=segments)
    product = data.product_ids[int(data.buyers().argmax())]
    audience = audience_for_item(model, product, top=50)
    assert audience["score"].nunique() > 40  # scaled across customers: no wall of ties at the maximum
    assert audience["score"].max() <= sum(weights.values())
    knn = audience_for_item(model.components_["item_knn"], product, top=50)
    assert len(set(audience["customer_id"]) & set(knn["customer_id"])) >= 10
