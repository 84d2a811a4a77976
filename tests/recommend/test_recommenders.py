"""Each recommender on a tiny shop with a known answer, and the contract every one of them keeps."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from shopseg.errors import ConfigError
from shopseg.recommend import RECOMMENDERS, build_interactions, make_recommender
from shopseg.recommend.base import POPULAR_IN_SEGMENT, POPULAR_IN_SHOP
from shopseg.shop import Shop

# Small models for a tiny shop: few factors, the hybrid with fixed weights (no validation split).
TINY_PARAMS = {
    "als": {"factors": 4, "regularization": 0.1, "iterations": 20, "use_signals": False},
    "bpr": {"factors": 8, "iterations": 200, "learning_rate": 0.05, "use_signals": False},
    "hybrid": {"weights": {"segment_popular": 0.5, "item_knn": 1.0, "als": 1.0, "content": 0.5}},
}
TINY_PARAMS["hybrid"]["component_params"] = {"als": TINY_PARAMS["als"]}


def interactions_of(shop: Shop):
    return build_interactions(
        shop.orders, events=shop.events, products=shop.products, customer_ids=shop.customers["customer_id"]
    )


def fitted(name: str, shop: Shop, segments: pd.Series | None = None, **params):
    options = {**TINY_PARAMS.get(name, {}), **params}
    return make_recommender(name, random_state=0, **options).fit(interactions_of(shop), segments=segments)


def top(frame: pd.DataFrame, customer: str) -> list[str]:
    return frame.loc[frame["customer_id"] == customer].sort_values("rank")["product_id"].tolist()


def test_item_knn_recommends_the_co_purchased_product_with_its_reason(co_purchase_shop):
    model = fitted("item_knn", co_purchase_shop)
    frame = model.recommend(["C900"], n=3)
    assert top(frame, "C900")[0] == "P02"
    assert frame.iloc[0]["reason"] == "bought with Alpine Hiking Boots"
    similar = model.similar_[model.interactions_.columns(["P01"])[0]].toarray().ravel()
    assert model.interactions_.product_ids[similar.argmax()] == "P02"


@pytest.mark.parametrize("name", ["als", "bpr"])
def test_factor_models_recommend_the_co_purchased_product(co_purchase_shop, name):
    model = fitted(name, co_purchase_shop)
    frame = model.recommend(["C900", "C901"], n=2)
    assert top(frame, "C900")[0] == "P02"
    assert frame.iloc[0]["reason"] == "because you bought Alpine Hiking Boots"
    assert set(frame.loc[frame["customer_id"] == "C901", "reason"]) == {POPULAR_IN_SHOP}  # only browsed: cold here
    scores, _, _ = model.scores_for(model.interactions_.rows(["C200"]), np.array([0]))
    columns = model.interactions_.columns(["P01", "P02", "P03", "P04"])
    assert scores[0, columns[2:]].min() > scores[0, columns[:2]].max()  # a beauty buyer scores beauty higher


def test_popular_is_the_best_seller_for_everybody(co_purchase_shop):
    frame = fitted("popular", co_purchase_shop).recommend(["C900", "C100"], n=1)
    assert top(frame, "C900") == ["P05"]  # bought by 20 of 25 customers
    assert set(frame["reason"]) == {POPULAR_IN_SHOP}
    assert top(frame, "C100") != ["P05"]  # C100 bought it already


def test_segment_popular_uses_the_segment_and_falls_back_to_the_shop(co_purchase_shop):
    segments = pd.Series({f"C2{i:02d}": "beauty" for i in range(12)} | {"C900": "beauty", "C777": "beauty"})
    frame = fitted("segment_popular", co_purchase_shop, segments).recommend(["C900", "C100", "C777"], n=1)
    assert top(frame, "C900") == ["P03"]  # the beauty segment's best seller (with P04, ties by id)
    assert frame.set_index("customer_id").loc["C900", "reason"] == POPULAR_IN_SEGMENT
    assert top(frame, "C100") == ["P03"]  # no segment: the shop's best sellers after P05, P01, P02 bought
    assert frame.set_index("customer_id").loc["C777", "reason"] == POPULAR_IN_SEGMENT  # unknown id, known segment


def test_content_serves_a_customer_who_only_browsed(co_purchase_shop):
    model = fitted("content", co_purchase_shop)
    frame = model.recommend(["C901"], n=3)
    products = top(frame, "C901")
    categories = model.interactions_.categories[model.interactions_.columns(products)]
    assert set(categories[:2]) == {"outdoor"}
    assert frame.iloc[0]["reason"] == "like what you viewed in outdoor"
    assert model.vectors_source_ == "tfidf"


def test_content_accepts_given_product_and_taste_vectors(co_purchase_shop):
    products = ["P01", "P02", "P03", "P04", "P05", "P06"]
    vectors = pd.DataFrame(np.eye(3)[[0, 0, 1, 1, 2, 0]] + 0.01, index=products)
    taste = pd.DataFrame([[0.0, 1.0, 0.0]], index=["C100"])
    model = make_recommender("content", product_vectors=vectors).fit(interactions_of(co_purchase_shop), taste=taste)
    assert model.vectors_source_ == "given"
    assert set(top(model.recommend(["C100"], n=2), "C100")) == {"P03", "P04"}
    with pytest.raises(ConfigError, match="dimensions"):
        make_recommender("content").fit(interactions_of(co_purchase_shop), taste=taste)


def test_hybrid_blends_and_explains_with_the_leading_component(co_purchase_shop):
    model = fitted("hybrid", co_purchase_shop)
    frame = model.recommend(["C900", "C901", "C902"], n=3)
    assert top(frame, "C900")[0] == "P02"
    assert frame.loc[frame["customer_id"] == "C900", "reason"].iloc[0] in {
        "bought with Alpine Hiking Boots",
        "because you bought Alpine Hiking Boots",
        "matches your taste in outdoor",
    }
    assert {"P01", "P02", "P06"} & set(top(frame, "C901"))  # only browsed outdoor: some outdoor in the top 3
    assert model.tuning_["tuned"] is False


def test_repeat_purchase_rule_and_flag(co_purchase_shop):
    data = interactions_of(co_purchase_shop)
    excluded = make_recommender("popular", repeat_categories=[]).fit(data).recommend(["C100"], n=6)
    assert "P05" not in set(excluded["product_id"]) and "P01" not in set(excluded["product_id"])
    allowed = make_recommender("popular", repeat_categories=["grocery"]).fit(data).recommend(["C100"], n=6)
    assert top(allowed, "C100")[0] == "P05" and "P01" not in set(allowed["product_id"])
    everything = make_recommender("popular").fit(data).recommend(["C100"], n=6, exclude_bought=False)
    assert len(everything) == 6


def test_the_data_rule_finds_categories_bought_again_on_other_days(co_purchase_shop):
    orders = co_purchase_shop.orders
    again = orders[orders["product_id"] == "P05"].assign(
        ts=lambda f: f["ts"] + pd.Timedelta(days=7), order_id=lambda f: f["order_id"] + "b"
    )
    data = build_interactions(pd.concat([orders, again]), products=co_purchase_shop.products)
    model = make_recommender("popular", random_state=0).fit(data)
    assert model.repeat_categories_ == frozenset()  # 20 pairs: fewer than REPEAT_MIN_PAIRS
    from shopseg.recommend import repeat_purchase_shares

    shares = repeat_purchase_shares(data)
    assert shares.loc["grocery", "share"] == 1.0 and shares.loc["outdoor", "share"] == 0.0
    from shopseg.recommend.interactions import repeat_categories

    assert repeat_categories(data, min_pairs=10) == frozenset({"grocery"})


def test_unknown_customers_and_empty_histories_get_cold_start(co_purchase_shop):
    frame = fitted("item_knn", co_purchase_shop).recommend(["C902", "NOBODY", "C900"], n=2)
    assert list(pd.unique(frame["customer_id"])) == ["C902", "NOBODY", "C900"]
    cold = frame[frame["customer_id"].isin(["C902", "NOBODY"])]
    assert set(cold["reason"]) == {POPULAR_IN_SHOP}
    assert top(frame, "C902")[0] == "P05"


def test_orders_naming_products_missing_from_the_catalogue(co_purchase_shop):
    orders = pd.concat(
        [co_purchase_shop.orders, co_purchase_shop.orders.tail(1).assign(product_id="GHOST", customer_id="C100")]
    )
    model = make_recommender("item_knn").fit(build_interactions(orders, products=co_purchase_shop.products))
    assert "GHOST" in set(model.interactions_.product_ids)
    assert model.interactions_.titles[model.interactions_.columns(["GHOST"])[0]] == "GHOST"
    assert len(model.recommend(["C100"], n=3)) == 3


def test_n_larger_than_the_catalogue_and_bad_arguments(co_purchase_shop):
    model = fitted("popular", co_purchase_shop)
    assert len(model.recommend(["C100"], n=50)) == 3  # six products, three bought
    with pytest.raises(ConfigError):
        model.recommend(["C100"], n=0)
    with pytest.raises(ConfigError):
        model.recommend("C100")
    with pytest.raises(ConfigError):
        make_recommender("nope")


def test_empty_interactions_never_crash():
    data = build_interactions(None, customer_ids=["A", "B"])
    for name in ("popular", "segment_popular", "item_knn", "content"):
        frame = make_recommender(name).fit(data).recommend(["A", "Z"], n=5)
        assert frame.empty and list(frame.columns) == ["customer_id", "rank", "product_id", "score", "reason"]


@pytest.mark.parametrize("name", sorted(RECOMMENDERS))
def test_every_recommender_keeps_the_contract(small_generated, name):
    shop, segments = small_generated
    data = build_interactions(shop.orders, events=shop.events, reviews=shop.reviews, products=shop.products)
    customers = [*data.customer_ids[:40], "UNKNOWN"]
    params = {"iterations": 10} if name in ("als", "bpr") else {}
    if name == "hybrid":
        params = {"max_validation_customers": 100, "rounds": 1, "grid": (0.0, 1.0, 2.0)}
    first = make_recommender(name, random_state=1, **params).fit(data, segments=segments)
    frame = first.recommend(customers, n=5)
    assert list(frame.columns) == ["customer_id", "rank", "product_id", "score", "reason"]
    ranks = frame.groupby("customer_id", sort=False)["rank"].apply(list)
    assert list(ranks.index) == customers and all(r == [1, 2, 3, 4, 5] for r in ranks)
    assert not frame.duplicated(["customer_id", "product_id"]).any()
    assert frame["reason"].map(lambda r: isinstance(r, str) and 0 < len(r) <= 100).all()
    assert frame.groupby("customer_id")["score"].apply(lambda x: x.is_monotonic_decreasing).all()
    known = frame[frame["customer_id"] != "UNKNOWN"]
    assert first.repeat_categories_ == frozenset()
    already = np.asarray(data.purchases[data.rows(known["customer_id"]), data.columns(known["product_id"])]).ravel()
    assert not already.any()
    again = make_recommender(name, random_state=1, **params).fit(data, segments=segments).recommend(customers, n=5)
    pd.testing.assert_frame_equal(frame, again)
