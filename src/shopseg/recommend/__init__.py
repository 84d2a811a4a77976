"""Recommendations per customer and per segment, item-affinity audiences, and their evaluation.

The stage's entry point::

    from shopseg.recommend import recommend_for_shop
    result = recommend_for_shop(shop, segments, n=10, model="hybrid")
    result.frame              # customer_id, rank, product_id, score, reason
    result.per_segment_top    # segment id -> best sellers with lift
    result.evaluation_dict()  # -> recommendations_eval.json

Or model by model (scikit-learn style)::

    data = build_interactions(shop.orders, events=shop.events, reviews=shop.reviews, products=shop.products)
    model = make_recommender("item_knn").fit(data, segments=segments)
    model.recommend(["C000001"], n=10)
    audience_for_item(model, "P00042", top=500)

Recommenders (``RECOMMENDERS``): popular, segment_popular, item_knn, als, bpr, content, hybrid.
"""

from shopseg.recommend.als import ALSRecommender, BPRRecommender
from shopseg.recommend.audience import audience_for_item
from shopseg.recommend.base import RECOMMENDATION_COLUMNS, Recommender
from shopseg.recommend.content import ContentRecommender, embedded_product_vectors, tfidf_product_vectors
from shopseg.recommend.evaluate import DEFAULT_MODELS, Evaluation, evaluate_recommenders
from shopseg.recommend.hybrid import HybridRecommender
from shopseg.recommend.interactions import (
    DEFAULT_SIGNAL_WEIGHTS,
    REPEAT_SHARE_THRESHOLD,
    Interactions,
    build_interactions,
    repeat_categories,
    repeat_purchase_shares,
)
from shopseg.recommend.item_knn import ItemKNNRecommender
from shopseg.recommend.metrics import ranking_metrics
from shopseg.recommend.persist import load_recommender, save_recommender
from shopseg.recommend.popular import PopularRecommender, SegmentPopularRecommender
from shopseg.recommend.registry import DEFAULT_RECOMMENDER, RECOMMENDERS, make_recommender
from shopseg.recommend.split import TimeSplit, time_split
from shopseg.recommend.stage import (
    RecommendationResult,
    recommend_for_shop,
    segment_top_products,
    shop_interactions,
    shop_until,
)
from shopseg.recommend.step import FALLBACK, check_recommender, recommend_step

__all__ = [
    "DEFAULT_MODELS",
    "DEFAULT_RECOMMENDER",
    "DEFAULT_SIGNAL_WEIGHTS",
    "FALLBACK",
    "RECOMMENDATION_COLUMNS",
    "RECOMMENDERS",
    "REPEAT_SHARE_THRESHOLD",
    "ALSRecommender",
    "BPRRecommender",
    "ContentRecommender",
    "Evaluation",
    "HybridRecommender",
    "Interactions",
    "ItemKNNRecommender",
    "PopularRecommender",
    "RecommendationResult",
    "Recommender",
    "SegmentPopularRecommender",
    "TimeSplit",
    "audience_for_item",
    "build_interactions",
    "check_recommender",
    "embedded_product_vectors",
    "evaluate_recommenders",
    "load_recommender",
    "make_recommender",
    "ranking_metrics",
    "recommend_for_shop",
    "recommend_step",
    "repeat_categories",
    "repeat_purchase_shares",
    "save_recommender",
    "segment_top_products",
    "shop_interactions",
    "shop_until",
    "tfidf_product_vectors",
    "time_split",
]
