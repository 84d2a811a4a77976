"""The recommendation outputs of a run folder (written when the recommend step ran).

========================== ===========================================================================
recommendations.parquet    customer_id, rank, product_id, score, reason: ``n`` rows per customer
recommendations_eval.json  every recommender on a time split: Recall/NDCG/MAP@10, coverage, novelty
model/recommend/           the fitted recommender (JSON + npz, no pickle), for ``shopseg audience --item``
profiles.json              ``best_sellers`` on each segment: product_id, title, category, buyers, share, lift
shopseg.duckdb             tables ``recommendations`` and ``segment_top_products``
========================== ===========================================================================

Customer ids are the run's: pseudonyms when the run was pseudonymised (ids are replaced at
ingestion, before any stage sees them). With ``--dp-epsilon`` the best-seller lists are not
published: they are ranked on exact counts of a segment's buyers, which the noise added to the
other aggregates would not cover.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from shopseg import schema as s
from shopseg.export.finite import write_json
from shopseg.recommend import RecommendationResult, save_recommender

BEST_SELLERS = "best_sellers"
RECOMMENDATIONS_FILE = "recommendations.parquet"
EVALUATION_FILE = "recommendations_eval.json"
MODEL_FOLDER = Path("model") / "recommend"
#: ALS factors for new customers (``POST /assign``): fold_in.json + fold_in.safetensors.
FOLD_IN_FOLDER = Path("model") / "fold_in"
SEGMENT_TOP_COLUMNS = (
    s.SEGMENT_ID,
    s.SEGMENT_NAME,
    "rank",
    s.PRODUCT_ID,
    s.TITLE,
    s.CATEGORY,
    "buyers",
    "share",
    "lift",
)
DP_NOTE = (
    "Per-segment best sellers are not published with --dp-epsilon: they are ranked on exact buyer counts, "
    "which the Laplace noise does not cover."
)


def published_best_sellers(result: RecommendationResult, private: bool) -> dict[Any, list[dict[str, Any]]]:
    """Segment id -> best sellers as they may be published (none under differential privacy)."""
    return {} if private else result.per_segment_top


def with_best_sellers(profiles: list[dict[str, Any]], best: dict[Any, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """Copies of the profile dicts with ``best_sellers`` added (an empty list for a segment without one)."""
    return [{**profile, BEST_SELLERS: best.get(profile[s.SEGMENT_ID], [])} for profile in profiles]


def segment_top_table(best: dict[Any, list[dict[str, Any]]], names: dict[Any, str]) -> pd.DataFrame:
    """One row per (segment, product): the ``segment_top_products`` table of the store."""
    rows = [
        {s.SEGMENT_ID: segment, s.SEGMENT_NAME: names.get(segment, str(segment)), "rank": rank, **product}
        for segment, products in best.items()
        for rank, product in enumerate(products, start=1)
    ]
    table = pd.DataFrame(rows, columns=list(SEGMENT_TOP_COLUMNS))
    return table.astype(
        {
            s.SEGMENT_ID: "int64",
            s.SEGMENT_NAME: "string",
            "rank": "int64",
            s.PRODUCT_ID: "string",
            s.TITLE: "string",
            s.CATEGORY: "string",
            "buyers": "int64",
            "share": "float64",
            "lift": "float64",
        }
    )


def recommendation_tables(
    result: RecommendationResult, best: dict[Any, list[dict[str, Any]]], names: dict[Any, str]
) -> dict[str, pd.DataFrame]:
    """The store's ``recommendations`` and ``segment_top_products`` tables."""
    frame = result.frame.astype({s.CUSTOMER_ID: "string", s.PRODUCT_ID: "string", "reason": "string"})
    return {"recommendations": frame, "segment_top_products": segment_top_table(best, names)}


def write_recommendations(folder: Path, result: RecommendationResult) -> None:
    """recommendations.parquet, recommendations_eval.json, model/recommend/ and model/fold_in/ into ``folder``."""
    result.frame.to_parquet(folder / RECOMMENDATIONS_FILE, index=False)
    evaluation = {"model": result.report.get("model"), **result.evaluation_dict()}
    write_json(folder / EVALUATION_FILE, evaluation)
    if result.model is not None:
        save_recommender(result.model, folder / MODEL_FOLDER)
    if result.fold_in is not None:
        result.fold_in.save(folder / FOLD_IN_FOLDER)
