"""The stage entry point, and saving / loading a fitted model (JSON + npz, no pickle)."""

from __future__ import annotations

import json

import pandas as pd

from shopseg.recommend import audience_for_item, load_recommender, recommend_for_shop, save_recommender, shop_until
from shopseg.shop import Shop

FAST = {"max_validation_customers": 150, "rounds": 1, "grid": (0.0, 1.0, 3.0)}


def test_recommend_for_shop_evaluates_refits_and_recommends(small_generated):
    shop, segments = small_generated
    asked: list[pd.Timestamp] = []

    def segments_at(cut: pd.Timestamp) -> pd.Series:
        asked.append(cut)
        return segments

    result = recommend_for_shop(
        shop, segments, segments_at=segments_at, n=5, evaluate=["popular", "item_knn"], model_params=FAST
    )
    frame = result.frame
    assert list(frame.columns) == ["customer_id", "rank", "product_id", "score", "reason"]
    assert frame["customer_id"].nunique() == result.report["customers"] == 600
    assert frame.groupby("customer_id").size().eq(5).all()
    assert list(result.evaluation.table.index) == ["popular", "item_knn", "hybrid"]
    assert len(set(asked)) == 2  # the test cut, and the hybrid's validation cut inside it (asked once each)
    assert set(result.per_segment_top) == set(segments.unique())
    first = next(iter(result.per_segment_top.values()))[0]
    assert set(first) == {"product_id", "title", "category", "buyers", "share", "lift"}
    json.dumps(result.evaluation_dict(), allow_nan=False)
    json.dumps(result.report, default=str)
    assert result.report["weights"] == result.model.weights_


def test_shop_until_keeps_only_the_past(co_purchase_shop):
    cut = pd.Timestamp("2024-01-06")  # day 5
    past = shop_until(co_purchase_shop, cut)
    assert (past.orders["ts"] < cut).all() and len(past.orders) == 20  # days 0-4: five C1xx and five C2xx pairs
    assert past.products is co_purchase_shop.products and past.events.empty


def test_a_shop_without_products_gives_an_empty_result():
    orders = pd.DataFrame({"customer_id": ["A"], "order_id": ["1"], "ts": [pd.Timestamp("2024-01-01")], "amount": [5]})
    result = recommend_for_shop(Shop(orders=orders))
    assert result.frame.empty and result.model is None and result.report["notes"]


def test_saved_model_recommends_and_targets_exactly_as_the_fitted_one(small_generated, tmp_path):
    shop, segments = small_generated
    result = recommend_for_shop(shop, segments, n=5, evaluate=False, model_params=FAST)
    save_recommender(result.model, tmp_path / "recommend")
    assert not list(tmp_path.glob("**/*.pkl"))
    loaded = load_recommender(tmp_path / "recommend")
    customers = [*result.model.interactions_.customer_ids[:50], "NEW-CUSTOMER"]
    pd.testing.assert_frame_equal(loaded.recommend(customers, n=5), result.model.recommend(customers, n=5))
    product = result.frame["product_id"].iloc[0]
    pd.testing.assert_frame_equal(audience_for_item(loaded, product, 20), audience_for_item(result.model, product, 20))
    assert loaded.weights_ == result.model.weights_
