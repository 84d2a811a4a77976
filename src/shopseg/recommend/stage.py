"""The recommendation stage in one call, for the pipeline: evaluate, refit, recommend.

:func:`recommend_for_shop` builds the interactions of a :class:`~shopseg.shop.Shop` (purchases,
events, reviews, catalogue), evaluates the recommenders on a time split (the table of
``recommendations_eval.json``), refits the chosen model on *all* the data and returns the top
``n`` products for every customer the shop knows, the best sellers of every segment, the
evaluation and the fitted model (for audiences and saving).

``customer_vectors`` (e.g. the embed stage's taste block, computed from the whole history) are
used by the final model only, never in the evaluation, where they would leak the test period;
there the content model builds its taste vectors from the training interactions.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from shopseg import schema as s
from shopseg.errors import ShopsegError
from shopseg.recommend.als import NEEDS_IMPLICIT, implicit_available
from shopseg.recommend.base import Recommender, Segments, SegmentsAt, empty_recommendations, top_n
from shopseg.recommend.evaluate import DEFAULT_MODELS, Evaluation, evaluate_recommenders
from shopseg.recommend.fold_in import FoldInALS
from shopseg.recommend.interactions import Interactions, build_interactions
from shopseg.recommend.registry import RECOMMENDERS, make_recommender
from shopseg.shop import Shop

#: Products listed per segment in ``per_segment_top``.
SEGMENT_TOP = 10


@dataclass
class RecommendationResult:
    """``frame``: customer_id, rank, product_id, score, reason (n rows per customer);
    ``per_segment_top``: segment id -> best sellers (product_id, title, category, buyers,
    share, lift); ``evaluation``: the time-split table (None when skipped); ``model``: the
    recommender fitted on all data (None when nothing could be fitted); ``report``: model,
    parameters, hybrid weights, repeat categories, counts, timings and notes, for run.json;
    ``fold_in``: ALS factors that recommend to new customers from their order lines."""

    frame: pd.DataFrame
    per_segment_top: dict[Any, list[dict[str, Any]]]
    evaluation: Evaluation | None
    model: Recommender | None
    report: dict[str, Any] = field(default_factory=dict)
    #: ALS product factors for customers the model has never seen (``POST /assign``), when fitted.
    fold_in: FoldInALS | None = None

    def evaluation_dict(self) -> dict[str, Any]:
        """What ``recommendations_eval.json`` holds."""
        if self.evaluation is None:
            return {"skipped": self.report.get("evaluation_skipped", "not evaluated"), "notes": self.report["notes"]}
        return self.evaluation.as_dict()


def _plain(value: Any) -> Any:
    """numpy scalars as Python ones (JSON keys and values)."""
    return value.item() if isinstance(value, np.generic) else value


def segment_top_products(
    interactions: Interactions, segments: pd.Series | None, top: int = SEGMENT_TOP
) -> dict[Any, list[dict[str, Any]]]:
    """Best sellers per segment: distinct buyers in the segment, their share and the lift over the shop.

    ``lift`` = share of the segment's buyers who bought it / share of all buyers who did: above 1
    the segment over-buys the product. Vectorised: one sparse product (segments x customers)
    @ (customers x products).
    """
    if segments is None or len(segments) == 0 or interactions.n_products == 0:
        return {}
    segments = segments.dropna()
    segments = segments[~segments.index.astype(str).duplicated(keep="last")]
    labels = sorted(pd.unique(segments.to_numpy()), key=lambda v: (str(type(v)), v))
    codes = pd.Index(labels).get_indexer(segments.reindex(interactions.customer_ids).to_numpy())
    bought = interactions.purchases.copy()
    bought.data[:] = 1.0
    active = np.diff(bought.indptr) > 0
    member = codes >= 0
    indicator = sp.csr_matrix(
        (np.ones(int(member.sum())), (codes[member], np.flatnonzero(member))),
        shape=(len(labels), interactions.n_customers),
    )
    buyers = np.asarray((indicator @ bought).todense())
    sizes = indicator @ active.astype(np.float64)
    overall = np.asarray(bought.sum(axis=0)).ravel() / max(int(active.sum()), 1)
    best, counts = top_n(buyers + 1e-9 * overall, top)
    result: dict[Any, list[dict[str, Any]]] = {}
    for position, label in enumerate(labels):  # one small loop per segment, not per customer
        size = max(sizes[position], 1.0)
        chosen = best[position][counts[position] >= 1]
        share = buyers[position, chosen] / size
        result[_plain(label)] = [
            {
                s.PRODUCT_ID: str(interactions.product_ids[c]),
                s.TITLE: str(interactions.titles[c]),
                s.CATEGORY: str(interactions.categories[c]),
                "buyers": int(buyers[position, c]),
                "share": round(float(sh), 4),
                "lift": round(float(sh / overall[c]), 3) if overall[c] > 0 else None,
            }
            for c, sh in zip(chosen, share, strict=True)
        ]
    return result


def shop_interactions(shop: Shop, segments: pd.Series | None = None, **options: Any) -> Interactions:
    """Interactions of a shop: orders, events, reviews, catalogue; every known customer gets a row."""
    extra: list[Iterable[object]] = []
    if shop.customers is not None and s.CUSTOMER_ID in shop.customers:
        extra.append(shop.customers[s.CUSTOMER_ID].dropna().astype(str))
    if segments is not None:
        extra.append(segments.index.astype(str))
    customer_ids = pd.unique(pd.concat([pd.Series(list(e), dtype=object) for e in extra])) if extra else None
    return build_interactions(
        shop.orders,
        events=shop.events,
        reviews=shop.reviews,
        products=shop.products,
        customer_ids=customer_ids,
        **options,
    )


def _build(name: str, random_state: int, product_vectors: pd.DataFrame | None, **params: Any) -> Recommender:
    """A registry model, with ``product_vectors`` handed to the content model (also inside the hybrid)."""
    if product_vectors is not None and name == "content":
        params = {**params, "product_vectors": product_vectors}
    if product_vectors is not None and name == "hybrid":
        component_params = dict(params.get("component_params") or {})
        component_params["content"] = {**component_params.get("content", {}), "product_vectors": product_vectors}
        params = {**params, "component_params": component_params}
    return make_recommender(name, random_state=random_state, **params)


def shop_until(shop: Shop, cut: pd.Timestamp) -> Shop:
    """The shop as it was before ``cut``: orders, events and reviews with ``ts < cut`` (catalogue and
    customer table unchanged). For ``segments_at``: ``lambda cut: segmenter.predict(shop_until(shop, cut))``."""

    def before(table: pd.DataFrame | None) -> pd.DataFrame | None:
        if table is None or s.TS not in table:
            return table
        return table.loc[table[s.TS] < cut].reset_index(drop=True)

    return Shop(
        orders=before(shop.orders),
        customers=shop.customers,
        products=shop.products,
        reviews=before(shop.reviews),
        events=before(shop.events),
    )


def segments_over_time(
    segments: pd.Series | None, segments_at: SegmentsAt | None, reference_ts: pd.Timestamp | None
) -> Segments:
    """``segments`` for the whole history, ``segments_at(cut)`` for any earlier cut (None: always ``segments``)."""
    if segments_at is None:
        return segments

    known: dict[pd.Timestamp, pd.Series | None] = {}  # each cut is asked once (evaluation, tuning)

    def at(cut: pd.Timestamp | None) -> pd.Series | None:
        if cut is None or reference_ts is None or cut >= reference_ts:
            return segments
        if cut not in known:
            known[cut] = segments_at(cut)
        return known[cut]

    return at


def recommend_for_shop(
    shop: Shop,
    segments: pd.Series | None = None,
    *,
    segments_at: SegmentsAt | None = None,
    n: int = 10,
    random_state: int = 0,
    model: str = "hybrid",
    product_vectors: pd.DataFrame | None = None,
    customer_vectors: pd.DataFrame | None = None,
    evaluate: bool | Sequence[str] = True,
    test_days: float | None = None,
    repeat_categories: Iterable[str] | None = None,
    model_params: dict[str, Any] | None = None,
    evaluation_shop: Shop | None = None,
) -> RecommendationResult:
    """Evaluate on a time split, refit ``model`` on everything, recommend ``n`` per customer.

    ``segments``: segment id per customer (index customer_id), e.g. ``assignments().set_index(
    "customer_id")["segment_id"]``. ``segments_at``: optional function of a cut time returning
    the segments as known then (e.g. the fitted segmenter's ``predict`` on the shop before the
    cut); the evaluation and the hybrid's weight tuning use it so that segment membership does
    not leak the periods they are scored on. Without it they use ``segments`` (a small leak,
    noted in the report). ``product_vectors``: product embeddings (index product_id;
    None: TF-IDF); ``customer_vectors``: taste vectors in the same space (final model only).
    ``evaluate``: True (the default models plus ``model``), False, or a list of model names.
    ``repeat_categories``: categories whose products may be recommended again (None: data rule).
    ``evaluation_shop``: evaluate on this shop instead (e.g. :meth:`Shop.of_customers` with a
    sample of a large shop's customers; ``segments_at`` must then place that shop's customers).
    A shop without product ids gives an empty result with the reason in ``report["notes"]``.
    """
    if model not in RECOMMENDERS:
        raise ShopsegError(f"Unknown recommender '{model}'. Known: {', '.join(RECOMMENDERS)}.")
    started = time.perf_counter()
    timings: dict[str, float] = {}
    data = shop_interactions(shop, segments)
    timings["interactions"] = round(time.perf_counter() - started, 3)
    notes: list[str] = []
    report: dict[str, Any] = {
        "model": model,
        "n": n,
        "random_state": random_state,
        "customers": data.n_customers,
        "products": data.n_products,
        "content_vectors": "given" if product_vectors is not None else "tfidf",
        "customer_vectors": customer_vectors is not None,
        "notes": notes,
        "timings_seconds": timings,
    }
    if data.purchases.nnz == 0 and data.signals.nnz == 0:
        notes.append("No order line or event names a product: there is nothing to recommend from.")
        report["evaluation_skipped"] = notes[-1]
        return RecommendationResult(empty_recommendations(), {}, None, None, report)
    params = {"repeat_categories": repeat_categories, **(model_params or {})}
    evaluation_data = data
    if evaluation_shop is not None:
        step = time.perf_counter()
        sampled = evaluation_shop.customer_ids()
        known = segments[segments.index.astype(str).isin(sampled.astype(str))] if segments is not None else None
        evaluation_data = shop_interactions(evaluation_shop, known)  # rows for the sample only
        timings["evaluation_interactions"] = round(time.perf_counter() - step, 3)
        report["evaluation_customers"] = evaluation_data.n_customers
    over_time = segments_over_time(segments, segments_at, evaluation_data.reference_ts)
    if segments is not None and segments_at is None:
        notes.append(
            "Segments were computed on the whole history: the evaluation of segment_popular and the hybrid's "
            "weight tuning see segment membership informed by the test period (pass segments_at to avoid it)."
        )

    evaluation = None
    if evaluate:
        names = list(DEFAULT_MODELS) if evaluate is True else list(evaluate)
        if not implicit_available():  # the final model's own fit says so when it needs implicit
            dropped = [name for name in names if name in NEEDS_IMPLICIT and name != model]
            names = [name for name in names if name not in dropped]
            if dropped:
                notes.append(f"'implicit' is not installed: {', '.join(dropped)} not evaluated.")
        if model not in names:
            names.append(model)
        evaluated = {
            name: _build(name, random_state, product_vectors, repeat_categories=repeat_categories)
            for name in names
            if name != model
        }
        evaluated[model] = _build(model, random_state, product_vectors, **params)
        evaluated = {name: evaluated[name] for name in names}
        step = time.perf_counter()
        try:
            evaluation = evaluate_recommenders(evaluation_data, evaluated, segments=over_time, test_days=test_days)
        except ShopsegError as error:
            notes.append(f"Evaluation skipped: {error}")
            report["evaluation_skipped"] = str(error)
        timings["evaluate"] = round(time.perf_counter() - step, 3)

    step = time.perf_counter()
    final = _build(model, random_state, product_vectors, **params).fit(data, segments=segments, taste=customer_vectors)
    timings["fit"] = round(time.perf_counter() - step, 3)
    step = time.perf_counter()
    frame = final.recommend(data.customer_ids, n=n)
    timings["recommend"] = round(time.perf_counter() - step, 3)
    per_segment = segment_top_products(data, segments)
    timings["total"] = round(time.perf_counter() - started, 3)
    notes.extend(getattr(final, "notes_", []))
    report.update(
        recommendations=len(frame),
        repeat_categories=sorted(final.repeat_categories_),
        weights=getattr(final, "weights_", None),
        customers_without_purchases=int((np.diff(data.purchases.indptr) == 0).sum()),
        customers_without_history=int((np.diff((data.purchases + data.signals).tocsr().indptr) == 0).sum()),
    )
    return RecommendationResult(frame, per_segment, evaluation, final, report)
