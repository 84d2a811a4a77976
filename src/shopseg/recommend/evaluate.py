"""Offline evaluation of recommenders on a time split, all in one table.

:func:`evaluate_recommenders` cuts the interactions at ``end - test_days``
(:func:`~shopseg.recommend.split.time_split`), fits every recommender on the past, asks it for
``k`` products for every customer who bought something in the test period, and scores the
lists against what they bought (:mod:`~shopseg.recommend.metrics`): Recall@k, NDCG@k, MAP@k
over *warm* customers (with purchases before the cut), the same for *cold-start* customers
(test buyers without earlier purchases; they may have browsed or reviewed) in separate
columns, and catalogue coverage and novelty over all the lists. Customers without a test
purchase are skipped. Fit and recommend times are recorded per model.

The relevant products are *all* products a customer bought in the test period, including
products bought before: a model that hides already-bought products pays for it where
customers re-buy (``test_pairs_already_bought`` in the split report says how much that is).

Leakage: fitting uses only actions before the cut (events included). ``segments`` may be a
function of the cut time (see :func:`~shopseg.recommend.base.resolve_segments`): each model
then sees the segments as they were at the cut. A Series computed on the whole history leaks
the test period into ``segment_popular`` and the hybrid's segment prior; ``taste`` vectors are
used as given, so pass ones computed before the cut (or none).
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from shopseg import schema as s
from shopseg.recommend.als import implicit_available
from shopseg.recommend.base import RANK, Recommender, Segments
from shopseg.recommend.interactions import Interactions
from shopseg.recommend.metrics import coverage, novelty, ranking_metrics
from shopseg.recommend.registry import make_recommender
from shopseg.recommend.split import TimeSplit, time_split

DEFAULT_MODELS = ("popular", "segment_popular", "item_knn", "als", "content", "hybrid")
K = 10


@dataclass
class Evaluation:
    """``table``: one row per model (index ``model``); ``split``: cut, end, days, customer counts;
    ``tuning``: the hybrid's weight search, when evaluated; ``notes``: anything left out."""

    table: pd.DataFrame
    split: dict[str, Any]
    k: int = K
    tuning: dict[str, Any] | None = None
    notes: list[str] = field(default_factory=list)

    def best(self, metric: str | None = None) -> str | None:
        """The model with the highest ``metric`` (default NDCG@k)."""
        column = metric or f"ndcg@{self.k}"
        if self.table.empty or column not in self.table or self.table[column].isna().all():
            return None  # no test customer to score on
        return str(self.table[column].idxmax())

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: what ``recommendations_eval.json`` holds."""
        rows = self.table.reset_index().to_dict("records")
        clean = [{k: _json_number(v) for k, v in row.items()} for row in rows]
        return {
            "k": self.k,
            "split": self.split,
            "metrics": clean,
            "best_model": self.best(),
            "hybrid_tuning": self.tuning,
            "notes": self.notes,
            "definitions": {
                "recall": "hits in top k / products bought in the test period",
                "ndcg": "binary-relevance NDCG at k",
                "map": "mean of AP@k, AP normalised by min(relevant, k)",
                "coverage": "distinct recommended products / catalogue",
                "novelty": "mean -log2(share of training buyers who bought the product)",
                "warm": "test buyers with a purchase before the cut; cold_*: without one",
            },
        }


def recommended_columns(
    recommendations: pd.DataFrame, customer_ids: pd.Index, data: Interactions, k: int
) -> np.ndarray:
    """The recommendation table as a (customers x k) array of product columns, -1 padded."""
    items = np.full((len(customer_ids), k), -1, dtype=np.int64)
    if recommendations.empty:
        return items
    position = customer_ids.get_indexer(recommendations[s.CUSTOMER_ID].astype(str))
    rank = recommendations[RANK].to_numpy() - 1
    column = data.product_ids.get_indexer(recommendations[s.PRODUCT_ID].astype(str))
    keep = (position >= 0) & (rank < k) & (column >= 0)
    items[position[keep], rank[keep]] = column[keep]
    return items


def split_report(split: TimeSplit) -> dict[str, Any]:
    """Counts that say what the test period holds."""
    test = split.test
    bought_before = test.multiply(split.train.purchases > 0)
    return {
        "cut": str(split.cut),
        "end": str(split.end),
        "test_days": round(split.days, 3),
        "test_customers": len(split.test_rows()),
        "warm_customers": len(split.warm_rows()),
        "cold_customers": len(split.cold_rows()),
        "test_pairs": int(test.nnz),
        "test_pairs_already_bought": round(bought_before.nnz / test.nnz, 4) if test.nnz else 0.0,
        "products": int(split.train.n_products),
    }


def evaluate_recommenders(
    interactions: Interactions,
    models: Sequence[str] | Mapping[str, Recommender] = DEFAULT_MODELS,
    *,
    segments: Segments = None,
    taste: pd.DataFrame | None = None,
    test_days: float | None = None,
    k: int = K,
    random_state: int = 0,
) -> Evaluation:
    """Fit each model on the past, score its top-k lists on the test period; see the module docstring.

    ``models``: registry names (built with ``random_state``) or {label: unfitted recommender}.
    """
    split = time_split(interactions, test_days)
    report = split_report(split)
    notes: list[str] = []
    if isinstance(models, Mapping):
        chosen = {label: model.clone() for label, model in models.items()}
    else:
        names = list(models)
        if not implicit_available():
            skipped = [n for n in names if n in ("als", "bpr")]
            names = [n for n in names if n not in skipped]
            if skipped:
                notes.append(f"'implicit' is not installed: {', '.join(skipped)} not evaluated.")
        chosen = {name: make_recommender(name, random_state=random_state) for name in names}
    warm_rows, cold_rows = split.warm_rows(), split.cold_rows()
    rows = np.concatenate([warm_rows, cold_rows])
    ids = pd.Index(interactions.customer_ids.to_numpy()[rows], dtype=object)
    buyers = split.train.buyers()
    active = int((np.diff(split.train.purchases.indptr) > 0).sum())
    records, tuning = [], None
    for label, model in chosen.items():
        started = time.perf_counter()
        model.fit(split.train, segments=segments, taste=taste)
        fit_seconds = time.perf_counter() - started
        started = time.perf_counter()
        recommendations = model.recommend(ids, n=k)
        recommend_seconds = time.perf_counter() - started
        items = recommended_columns(recommendations, ids, interactions, k)
        warm = ranking_metrics(items[: len(warm_rows)], split.test[warm_rows])
        cold = ranking_metrics(items[len(warm_rows) :], split.test[cold_rows])
        records.append(
            {
                "model": label,
                "customers": len(warm_rows),
                f"recall@{k}": _mean(warm["recall"]),
                f"ndcg@{k}": _mean(warm["ndcg"]),
                f"map@{k}": _mean(warm["ap"]),
                "coverage": coverage(items, interactions.n_products),
                "novelty": novelty(items, buyers, active),
                "cold_customers": len(cold_rows),
                f"cold_recall@{k}": _mean(cold["recall"]),
                f"cold_ndcg@{k}": _mean(cold["ndcg"]),
                "fit_seconds": round(fit_seconds, 3),
                "recommend_seconds": round(recommend_seconds, 3),
            }
        )
        if getattr(model, "tuning_", None) is not None:
            tuning = model.tuning_
        notes.extend(getattr(model, "notes_", []))
    table = pd.DataFrame(records).set_index("model") if records else pd.DataFrame()
    return Evaluation(table=table, split=report, k=k, tuning=tuning, notes=notes)


def _json_number(value: Any) -> Any:
    """Floats rounded for JSON; NaN (no customers) as null."""
    if isinstance(value, float):
        return None if np.isnan(value) else round(value, 6)
    return value


def _mean(values: np.ndarray) -> float:
    return float(values.mean()) if len(values) else float("nan")
