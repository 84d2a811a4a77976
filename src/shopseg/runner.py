"""One call from files to a finished run folder: what ``shopseg segment`` does.

``run_segmentation`` reads the inputs, fits a :class:`~shopseg.pipeline.Segmenter`,
writes every output atomically and returns the run record (also saved as ``run.json``).
"""

from __future__ import annotations

import platform
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from shopseg import __version__
from shopseg import schema as s
from shopseg.cluster import selection_summary
from shopseg.cluster.requirements import check_customer_count, check_k
from shopseg.embed.customer_vectors import TextProgress
from shopseg.errors import ShopsegError
from shopseg.export.outputs import write_outputs
from shopseg.export.recommendations import DP_NOTE
from shopseg.export.run_folder import prepare_output, write_atomically
from shopseg.features.window import DEFAULT_WINDOW_DAYS, as_of_reference, cut_at
from shopseg.ingest import load_shop
from shopseg.ingest.load import ROLES, require_customers
from shopseg.pipeline import Segmenter, StepCallback
from shopseg.recommend import RecommendationResult, check_recommender, recommend_step
from shopseg.recommend.als import implicit_available
from shopseg.recommend.fold_in import ALSSettings, FoldInALS
from shopseg.recommend.registry import DEFAULT_RECOMMENDER
from shopseg.shop import Shop
from shopseg.value import predictive_validity, run_summary


@dataclass
class RunResult:
    """What a run produced: the shop read, the fitted segmenter and the run record."""

    out_dir: Path
    shop: Shop
    segmenter: Segmenter
    record: dict[str, object]
    recommendations: RecommendationResult | None = None


def segment_validity(shop: Shop, segmenter: Segmenter) -> list[dict[str, object]] | dict[str, str]:
    """How well segments fitted on the calibration period explain the holdout (eta squared).

    The same configuration (same k) is refitted on orders before the holdout; its segments
    are scored on holdout spend and churn against RFM quintile groupings of the same size.
    """
    value = segmenter.value_
    calibration = shop.orders[shop.orders[s.TS] < value.split.holdout_start]
    if calibration.empty or value.outcomes is None:
        return {"skipped": "no calibration period"}
    if segmenter.clusterer_.n_clusters_ < 2:
        return {"skipped": "one segment: nothing to compare"}
    try:
        refit = _refit_on_calibration(shop, segmenter, calibration)
    except ShopsegError as error:  # e.g. too few customers before the holdout for this k
        return {"skipped": str(error)}
    labels = refit.assignments().set_index(s.CUSTOMER_ID)[s.SEGMENT_ID]
    table = predictive_validity(labels, value.outcomes, random_state=segmenter.random_state)
    return [
        {k: (round(v, 6) if isinstance(v, float) else v) for k, v in row.items()}
        for row in table.reset_index().to_dict("records")
    ]


def _refit_on_calibration(shop: Shop, segmenter: Segmenter, calibration: pd.DataFrame) -> Segmenter:
    """The same configuration (same k) fitted on the orders before the holdout."""
    value = segmenter.value_
    return Segmenter(
        window_days=segmenter.window_days,
        k=segmenter.clusterer_.n_clusters_,
        algorithm=segmenter.algorithm,
        random_state=segmenter.random_state,
        min_segment_size=segmenter.min_segment_size,
        block_weights=segmenter.block_weights,
        use_text=segmenter.use_text,
        text_model=segmenter.text_model,
        embed_dim=segmenter.embed_dim,
        reducer=segmenter.reducer,
        text_weights=segmenter.text_weights,
        embedding_cache=segmenter.embedding_cache,
        value=False,
        stability_refits=0,
        map_method=None,
    ).fit(Shop(orders=calibration, products=shop.products, reviews=_before(shop.reviews, value.split.holdout_start)))


def _before(table: pd.DataFrame | None, moment: pd.Timestamp) -> pd.DataFrame | None:
    """Rows of ``table`` (reviews, events) dated before ``moment``; None stays None."""
    if table is None or s.TS not in table:
        return table
    return table[table[s.TS] < moment]


def recommend_customers(
    shop: Shop,
    segmenter: Segmenter,
    recommender: str | None,
    n: int,
    timings: dict[str, float],
    on_step: StepCallback | None = None,
) -> RecommendationResult | None:
    """The recommend step on a segmented shop (None when ``recommender`` is None).

    Segments are the fitted ones; for the evaluation cuts the fitted model's ``predict`` places
    customers from their history before the cut (see :mod:`shopseg.recommend.step`). When the
    text stage embedded product texts, the content recommender uses those MiniLM vectors
    (already computed, so free) instead of TF-IDF.
    """
    if recommender is None:
        return None
    if on_step:
        on_step("recommend", "start")
    started = time.perf_counter()
    segments = segmenter.assignments().set_index(s.CUSTOMER_ID)[s.SEGMENT_ID]
    text = segmenter.text_.vectors if segmenter.text_ is not None else None
    result = recommend_step(
        shop,
        segments,
        predict_segments=segmenter.predict,
        model=recommender,
        n=n,
        random_state=segmenter.random_state,
        product_vectors=text.product_vectors() if text is not None else None,
    )
    result.fold_in = fold_in_model(shop, segmenter.random_state, result.report)
    timings["recommend"] = round(time.perf_counter() - started, 4)
    if on_step:
        on_step("recommend", "end")
    return result


def fold_in_model(shop: Shop, seed: int, report: dict[str, object]) -> FoldInALS | None:
    """ALS factors that recommend to customers the run has never seen (the API's ``/assign``), or None.

    Fitted on every purchase line; skipped, with a note, without ``implicit`` or purchases.
    """
    if not implicit_available() or shop.orders is None or s.PRODUCT_ID not in shop.orders.columns:
        return None
    try:
        started = time.perf_counter()
        model = FoldInALS(ALSSettings(seed=int(seed))).fit(shop.orders)
    except ShopsegError as error:
        report.setdefault("notes", []).append(f"no recommendations for new customers: {error}")
        return None
    report["fold_in"] = {"products": len(model.product_ids_), "seconds": round(time.perf_counter() - started, 3)}
    return model


def recommend_record(record: dict[str, object], result: RecommendationResult | None, private: bool = False) -> None:
    """Add the ``recommend`` section to the run record, and the step's notes (fallbacks, skips) to its notes."""
    if result is None:
        record["recommend"] = {"skipped": "turned off (--no-recommend)"}
        return
    evaluation = result.evaluation
    record["recommend"] = {
        **result.report,
        "evaluation": {"file": "recommendations_eval.json", "best_model": evaluation.best() if evaluation else None},
    }
    notes = [*result.report.get("notes", []), *([DP_NOTE] if private and result.per_segment_top else [])]
    record["notes"] = [*record.get("notes", []), *(f"recommend: {n}" for n in notes)]


def merge_record(segmenter: Segmenter) -> list[dict[str, object]]:
    """The segments folded into larger ones, each with the name of the segment it joined."""
    names = segmenter.segment_names_
    return [{**merge, "into_name": names.get(int(merge["into"]), "")} for merge in segmenter.merges_]


def run_record(
    shop: Shop, segmenter: Segmenter, config: dict[str, object], timings: dict[str, float]
) -> dict[str, object]:
    """The manifest saved as run.json."""
    clusterer = segmenter.clusterer_
    return {
        "shopseg_version": __version__,
        "python": platform.python_version(),
        "config": config,
        "seed": segmenter.random_state,
        "inputs": [f.as_dict() for f in shop.files],
        "rows": shop.totals(),
        "customers_segmented": len(segmenter.labels_),
        "notes": shop.notes + clusterer.notes_ + segmenter.notes_,
        "reference_ts": segmenter.features_.reference_ts,
        "as_of": config.get("as_of"),
        "feature_window": window_record(segmenter.window_days),
        "features": {
            "all": list(segmenter.features_.frame.columns),
            "segmentation": segmenter.scaler_.columns_,
            "groups": segmenter.features_.groups,
            "habit_selection": habits.as_dict() if (habits := segmenter.features_.habit_selection) else None,
        },
        "model": {
            "algorithm": segmenter.algorithm,
            "k_chosen": clusterer.n_clusters_,
            "k_requested": segmenter.k,
            "selection": "fixed by --k" if segmenter.k else (clusterer.selection_rule_ or "automatic"),
            "criterion": clusterer.criterion_,
            "silhouette_by_k": clusterer.scores_ if clusterer.criterion_ in (None, "silhouette") else {},
            "scores_by_k": clusterer.scores_,
            **selection_summary(clusterer, segmenter.k),
            "merges": merge_record(segmenter),
            "segments_published": len(segmenter.profiles_),
            "engine": getattr(clusterer, "engine_", None),
            "map": segmenter.map_method if segmenter.map_ is not None else None,
        },
        "stability": (
            {**segmenter.stability_.summary, "segments": segmenter.stability_.table.to_dict("records")}
            if segmenter.stability_ is not None
            else None
        ),
        "segments": [
            {"segment_id": p["segment_id"], "name": p["name"], "size": p["size"], "share": p["share"]}
            for p in segmenter.published_profiles()
        ],
        "naming": {
            "llm": segmenter.naming_report_ or None,
            "per_segment": {str(p.segment_id): p.naming for p in segmenter.profiles_},
        },
        "privacy": {
            "min_segment_size": segmenter.min_segment_size,
            "dp_epsilon": segmenter.dp_epsilon,
            "pseudonymised": bool(config.get("pseudonymised")),
        },
        "value": run_summary(segmenter.value_.report) if segmenter.value_ is not None else {"available": False},
        "text": segmenter.text_.report if segmenter.text_ is not None else {"used": False, "reason": "turned off"},
        "timings_seconds": timings,
    }


def window_record(days: float | None) -> dict[str, object]:
    """run.json's ``feature_window``: how much of each customer's history the features read."""
    if days is None:
        return {"days": None, "rule": "whole history"}
    return {
        "days": days,
        "rule": f"every feature but recency_days and tenure_days (text included) reads the customer's activity "
        f"window: the {days:g} days before the reference time, or for a customer without a purchase in them "
        f"the {days:g} days before their last purchase; recency and tenure count the whole history",
    }


def run_segmentation(
    out_dir: str | Path,
    *,
    orders: str | Path | None = None,
    customers: str | Path | None = None,
    products: str | Path | None = None,
    reviews: str | Path | None = None,
    events: str | Path | None = None,
    format: str | None = None,
    mapping: dict[str, dict[str, str]] | None = None,
    date_format: str | None = None,
    pseudonymise_key: str | None = None,
    on_step: StepCallback | None = None,
    as_of: str | None = None,
    **options: Any,
) -> RunResult:
    """Read, segment and write a run folder; see the module docstring.

    ``as_of`` (a day, e.g. "2023-06-30") segments the shop as it was at the end of that day:
    rows dated later are left out (counted in run.json), features are measured from the
    next midnight and, unless ``window_days`` says otherwise, read each customer's activity
    window of :data:`~shopseg.features.window.DEFAULT_WINDOW_DAYS` (365) days. ``options`` are
    :func:`segment_shop`'s (k, seed, algorithm, text, recommender, window_days ...).
    """
    check_k(options.get("k"))  # a bad flag fails before anything is read or created
    out_dir = prepare_output(out_dir)  # fail before the work, not after
    check_run_options(options)
    started = time.perf_counter()
    if on_step:
        on_step("read", "start")
    shop = load_shop(
        orders,
        customers,
        products,
        reviews,
        events,
        format=format,
        mapping=mapping,
        date_format=date_format,
        pseudonymise_key=pseudonymise_key,
    )
    reference = None
    if as_of is not None:
        reference = as_of_reference(as_of)
        shop = cut_at(shop, reference, as_of)
        options.setdefault("window_days", DEFAULT_WINDOW_DAYS)
    require_customers(shop)
    check_customer_count(len(shop.customer_ids()), options.get("k"), _main_file(shop))
    read_seconds = round(time.perf_counter() - started, 4)
    if on_step:
        on_step("read", "end")
    inputs = {"format": format, "mapping": mapping, "date_format": date_format, "pseudonymised": bool(pseudonymise_key)}
    if as_of is not None:
        inputs["as_of"] = str(pd.Timestamp(as_of).date())
    return segment_shop(
        shop, out_dir, inputs=inputs, timings={"read": read_seconds}, on_step=on_step, reference_ts=reference, **options
    )


def _main_file(shop: Shop) -> str | None:
    """The file customers are counted from (orders, else the first given), for messages."""
    report = next((f for f in shop.files if f.role == "orders"), shop.files[0] if shop.files else None)
    return report.path if report is not None else None


def pop_input_paths(options: dict[str, Any], engine: str) -> dict[str, Path]:
    """Take the input files ({table: path}) out of a run's ``options``; an engine segments from orders.

    For the engines that read files themselves (chunked, Spark) before calling :func:`segment_shop`.
    """
    paths = {role: Path(options.pop(role)) for role in ROLES if options.get(role) is not None}
    for role in ROLES:
        options.pop(role, None)
    if "orders" not in paths:
        raise ShopsegError(f"--engine {engine} segments customers from their orders: give --orders.")
    return paths


def check_run_options(options: dict[str, Any]) -> None:
    """Refuse a bad recommender setting before any work (the rest is checked where it is used)."""
    recommender = options.get("recommender", DEFAULT_RECOMMENDER)
    if recommender is not None:
        check_recommender(recommender, options.get("recommend_n", 10))


#: Adds to a run before it is written: gets the fitted segmenter and the run record (which it
#: may extend) and returns a writer of extra files into the run folder (or None).
RunExtension = Callable[[Segmenter, dict[str, object], RecommendationResult | None], Callable[[Path], None] | None]


def segment_shop(
    shop: Shop,
    out_dir: str | Path,
    *,
    k: int | None = None,
    seed: int = 0,
    min_segment_size: int = 50,
    dp_epsilon: float | None = None,
    llm: str | None = None,
    value: bool = True,
    algorithm: str = "kmeans",
    noise: str = "unassigned",
    map_method: str | None = "pca",
    stability_refits: int = 20,
    on_step: StepCallback | None = None,
    use_text: bool = True,
    text_model: str | None = None,
    embed_dim: int = 16,
    reducer: str = "pca",
    embedding_cache: str | Path | None = None,
    on_text_progress: TextProgress | None = None,
    sub_segments: bool = False,
    recommender: str | None = DEFAULT_RECOMMENDER,
    recommend_n: int = 10,
    reference_ts: pd.Timestamp | None = None,
    window_days: float | None = None,
    inputs: dict[str, object] | None = None,
    timings: dict[str, float] | None = None,
    extension: RunExtension | None = None,
) -> RunResult:
    """Segment a loaded shop and write the run folder (what :func:`run_segmentation` does after reading).

    ``inputs``: how the shop was read, for the record (format, mapping, date format,
    pseudonymised); ``timings``: stage seconds so far (e.g. reading); ``extension``: see
    :data:`RunExtension` (the Spark engine adds every customer's segment this way).
    ``reference_ts``: the "now" of the features (``--as-of``: the next midnight);
    ``window_days``: the features' activity window (None, the default: the whole history;
    see :mod:`shopseg.features.window`).
    """
    out_dir = prepare_output(out_dir)
    if recommender is not None:
        check_recommender(recommender, recommend_n)
    timings = dict(timings or {})
    inputs = {"format": None, "mapping": None, "date_format": None, "pseudonymised": False, **(inputs or {})}
    segmenter = Segmenter(
        k=k,
        random_state=seed,
        min_segment_size=min_segment_size,
        dp_epsilon=dp_epsilon,
        llm=llm,
        value=value,
        algorithm=algorithm,
        noise=noise,
        map_method=map_method,
        stability_refits=stability_refits,
        use_text=use_text,
        text_model=text_model,
        embed_dim=embed_dim,
        reducer=reducer,
        embedding_cache=embedding_cache,
        on_step=on_step,
        on_text_progress=on_text_progress,
        sub_segments=sub_segments,
        reference_ts=reference_ts,
        window_days=window_days,
    ).fit(shop)
    timings.update(segmenter.timings_)
    config = {
        **inputs,
        "k": k,
        "seed": seed,
        "min_segment_size": min_segment_size,
        "dp_epsilon": dp_epsilon,
        "llm": llm,
        "algorithm": algorithm,
        "noise": noise,
        "map": map_method,
        "stability_refits": stability_refits,
        "text": use_text,
        "text_model": text_model,
        "embed_dim": embed_dim,
        "reducer": reducer,
        "sub_segments": sub_segments,
        "recommender": recommender,
        "recommend_n": recommend_n,
        "window_days": window_days,
        "out": str(out_dir),
    }
    if segmenter.value_ is not None and segmenter.value_.available:
        if on_step:
            on_step("validity", "start")
        validity_started = time.perf_counter()
        segmenter.value_.report["predictive_validity"] = segment_validity(shop, segmenter)
        timings["validity"] = round(time.perf_counter() - validity_started, 4)
        if on_step:
            on_step("validity", "end")
    recommendations = recommend_customers(shop, segmenter, recommender, recommend_n, timings, on_step)
    record = run_record(shop, segmenter, config, timings)
    recommend_record(record, recommendations, private=bool(dp_epsilon))
    extra_writer = extension(segmenter, record, recommendations) if extension is not None else None
    if on_step:
        on_step("write", "start")
    write_started = time.perf_counter()
    timings["write"] = 0.0

    def write(folder: Path) -> None:
        write_outputs(folder, shop, segmenter, record, recommendations)
        if extra_writer is not None:
            extra_writer(folder)

    write_atomically(out_dir, write)
    timings["write"] = round(time.perf_counter() - write_started, 4)
    if on_step:
        on_step("write", "end")
    return RunResult(out_dir=out_dir, shop=shop, segmenter=segmenter, record=record, recommendations=recommendations)
