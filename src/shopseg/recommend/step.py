"""The recommendation step of a run (``shopseg segment``): the stage with a run's policies around it.

:func:`recommend_step` calls :func:`~shopseg.recommend.stage.recommend_for_shop` for a shop
that has just been segmented and adds what a run needs and a library call does not:

* **segments over time** -- ``predict_segments`` (the fitted segment model's ``predict``) is
  applied to the shop as it was before each evaluation cut (:func:`shop_until`). Why: segments
  fitted on the whole history know what customers bought in the test period, and the
  evaluation and the hybrid's weight tuning would then overrate the segment prior. The
  segment *model* is not refitted per cut (that would cost a full segmentation per cut): its
  centres come from the whole history, only membership is recomputed from the past. Features
  are measured at the model's reference time, so every customer's recency is longer by the
  length of the test period; it shifts all customers alike.
* **no extra package needed** -- ``als`` and ``bpr`` need ``implicit``; without it the step
  uses :data:`FALLBACK` and says so in the report's notes (the hybrid drops its ALS
  component by itself).
* **a sample for large shops** -- above :data:`EVALUATION_CUSTOMERS` customers the evaluation
  (and its segment placement at each cut) runs on a seeded sample of them
  (:func:`evaluation_sample`); the chosen model is still fitted on, and recommends to, everybody.
  At 100,000 customers the evaluation took 59 s of the step's 95 s.
* **never fails a run** -- a shop without product ids, or with too little history to
  evaluate or fit, gives an empty result whose notes say why (``report["skipped"]``).

Pure like every stage: tables in, a :class:`~shopseg.recommend.stage.RecommendationResult` out.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from shopseg.errors import ConfigError, ShopsegError
from shopseg.recommend.als import NEEDS_IMPLICIT, implicit_available
from shopseg.recommend.base import empty_recommendations
from shopseg.recommend.registry import DEFAULT_RECOMMENDER, RECOMMENDERS
from shopseg.recommend.stage import RecommendationResult, recommend_for_shop, shop_until
from shopseg.shop import Shop

#: Used instead of a recommender that needs ``implicit`` when it is not installed: the
#: collaborative filter that needs no extra package.
FALLBACK = "item_knn"
#: Recommendations per customer in a run.
DEFAULT_N = 10
#: Customers the evaluation runs on at most (a seeded sample of larger shops).
EVALUATION_CUSTOMERS = 50_000

PredictSegments = Callable[[Shop], pd.Series]


def check_recommender(name: str, n: int = DEFAULT_N) -> str:
    """``name`` when the registry knows it and ``n`` is positive; a :class:`ConfigError` otherwise."""
    if name not in RECOMMENDERS:
        raise ConfigError(f"Unknown recommender '{name}'. Known: {', '.join(RECOMMENDERS)}.")
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ConfigError(f"The number of recommendations per customer must be a whole number >= 1, got {n!r}.")
    return name


def available_recommender(name: str) -> tuple[str, list[str]]:
    """The recommender to fit for ``name`` on this installation, and a note when it differs."""
    check_recommender(name)
    if name in NEEDS_IMPLICIT and not implicit_available():
        return FALLBACK, [
            f"Recommender '{name}' needs the 'implicit' package, which is not installed: used '{FALLBACK}' "
            f"(co-purchase collaborative filtering) instead. pip install 'implicit>=0.7.2' to use '{name}'."
        ]
    return name, []


def segments_before(shop: Shop, predict_segments: PredictSegments) -> Callable[[pd.Timestamp], pd.Series | None]:
    """``cut -> predict_segments(shop before cut)``; None when nobody had history before the cut."""

    def at(cut: pd.Timestamp) -> pd.Series | None:
        past = shop_until(shop, cut)
        if past.orders is None or past.orders.empty:
            return None
        try:
            return predict_segments(past)
        except ShopsegError:
            return None

    return at


def evaluation_sample(shop: Shop, size: int, random_state: int) -> Shop | None:
    """A seeded sample of ``size`` of the shop's customers (all their rows), None when the shop is not larger.

    Why: the evaluation fits every candidate model and places every customer in segments at
    each cut, a cost that grows with the shop, while its metrics (averages over test customers)
    are as good from 50,000 customers as from millions. The final model is fitted on everybody.
    """
    customers = shop.customer_ids()
    if size < 1 or len(customers) <= size:
        return None
    chosen = np.random.default_rng(random_state).choice(len(customers), size=size, replace=False)
    return shop.of_customers(customers[np.sort(chosen)])


def skipped_result(reason: str, notes: list[str], model: str | None = None) -> RecommendationResult:
    """An empty result whose report says why nothing was recommended."""
    report: dict[str, Any] = {
        "model": model,
        "skipped": reason,
        "evaluation_skipped": reason,
        "notes": [*notes, reason],
    }
    return RecommendationResult(empty_recommendations(), {}, None, None, report)


def recommend_step(
    shop: Shop,
    segments: pd.Series | None,
    *,
    predict_segments: PredictSegments | None = None,
    model: str = DEFAULT_RECOMMENDER,
    n: int = DEFAULT_N,
    random_state: int = 0,
    evaluation_customers: int = EVALUATION_CUSTOMERS,
    **options: Any,
) -> RecommendationResult:
    """Recommend ``n`` products per customer with ``model``; see the module docstring.

    ``evaluation_customers``: above this many customers, the evaluation runs on a seeded
    sample of them (:func:`evaluation_sample`).

    ``segments``: segment id per customer (index customer_id). ``predict_segments``: a function
    from a shop to such a Series (the fitted segmenter's ``predict``), for the evaluation cuts.
    ``options`` go to :func:`recommend_for_shop` (``evaluate``, ``test_days``, ``model_params`` ...).
    """
    check_recommender(model, n)
    chosen, notes = available_recommender(model)
    evaluation_shop = evaluation_sample(shop, evaluation_customers, random_state)
    if evaluation_shop is not None:
        notes.append(
            f"Evaluated on a seeded sample of {evaluation_customers:,} of the shop's {len(shop.customer_ids()):,} "
            "customers (every customer gets recommendations)."
        )
    segments_at = segments_before(evaluation_shop or shop, predict_segments) if predict_segments is not None else None
    try:
        result = recommend_for_shop(
            shop,
            segments,
            segments_at=segments_at,
            n=n,
            random_state=random_state,
            model=chosen,
            evaluation_shop=evaluation_shop,
            **options,
        )
    except ShopsegError as error:
        return skipped_result(f"Recommendations skipped: {error}", notes, chosen)
    result.report["requested_model"] = model
    result.report["notes"][:0] = notes
    if result.model is None:  # e.g. no order line names a product: the stage's last note says why
        reason = result.report["notes"][-1] if result.report["notes"] else "there is nothing to recommend from."
        result.report["skipped"] = f"Recommendations skipped: {reason}"
    return result
