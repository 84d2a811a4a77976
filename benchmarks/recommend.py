"""Benchmark of the recommendation stage on generated shops: quality and speed of every recommender.

    python benchmarks/recommend.py [--quick] [--segments kmeans|truth] [--text-model NAME] [--json FILE]

For each shop size (10,000 customers; also 100,000 unless ``--quick``) and each of three seeds:

1. ``generate_shop(n, seed)`` gives the canonical tables (returns marked by their status, as
   ingestion would); the interactions are its purchases, views, carts and reviews.
2. Segments: ``kmeans`` (default) -- K-Means (k = 8) on each customer's category shares of
   purchases, views and carts, refitted on the data before each cut (the test cut, the
   hybrid's validation cut; all data for the final fit): a realistic stand-in for the
   pipeline's segments that never leaks a scored period; ``truth`` -- the planted segments
   (static, but an oracle no real shop has).
3. :func:`shopseg.recommend.evaluate_recommenders` on the time split (last 30 days as test):
   Recall@10, NDCG@10, MAP@10, coverage and novelty of every recommender, warm and cold-start.
4. Speed on all the data: each model's fit time and the time to recommend 10 products to
   *every* customer (acceptance: under 60 s for 100,000 customers).

Printed: the evaluation table (mean over seeds, NDCG per seed), the timing table, and whether
the hybrid beats popular, segment_popular and ALS on mean NDCG@10 (the acceptance test).
``--text-model NAME`` also evaluates ``content`` and ``hybrid`` with sentence embeddings of
the products from :mod:`shopseg.embed` (e.g. ``minilm-int8``; slow on two cores).
"""

from __future__ import annotations

import argparse
import functools
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp
from rich.console import Console
from rich.table import Table
from sklearn.cluster import KMeans

from shopseg import schema as s
from shopseg.generate import generate_shop
from shopseg.recommend import (
    Interactions,
    embedded_product_vectors,
    evaluate_recommenders,
    make_recommender,
    shop_interactions,
    time_split,
)
from shopseg.recommend.base import Segments
from shopseg.shop import Shop

MODELS = ("popular", "segment_popular", "item_knn", "als", "bpr", "content", "hybrid")
SEEDS = (0, 1, 2)
METRICS = ("recall@10", "ndcg@10", "map@10", "coverage", "novelty", "cold_recall@10", "cold_ndcg@10")
console = Console(width=160)


def generated(n_customers: int, seed: int) -> tuple[Shop, pd.Series]:
    """A generated shop as canonical tables, and its planted segment per customer."""
    shop = generate_shop(n_customers, seed)
    orders = shop.orders.assign(**{s.IS_RETURN: shop.orders[s.STATUS].eq("returned")})
    tables = Shop(orders=orders, products=shop.products, events=shop.events, reviews=shop.reviews)
    return tables, shop.truth.set_index(s.CUSTOMER_ID)["segment"]


def category_share_segments(data: Interactions, k: int = 8, seed: int = 0) -> pd.Series:
    """K-Means segments on each customer's category shares of purchases and browsing (customers with any)."""
    _, codes = np.unique(data.categories.astype(str), return_inverse=True)
    onehot = sp.csr_matrix((np.ones(data.n_products), (np.arange(data.n_products), codes)))
    shares = np.asarray((data.matrix @ onehot).todense())
    total = shares.sum(axis=1)
    active = total > 0
    shares = shares[active] / total[active, None]
    labels = KMeans(n_clusters=k, n_init=4, random_state=seed).fit_predict(shares)
    return pd.Series(labels, index=data.customer_ids[active], name="segment_id")


def speed(data: Interactions, segments: Segments, models: dict[str, dict]) -> dict[str, dict[str, float]]:
    """Fit on all data, then recommend 10 to every customer; seconds per model."""
    timings = {}
    for name, params in models.items():
        started = time.perf_counter()
        model = make_recommender(params.get("model", name), **params.get("params", {})).fit(data, segments=segments)
        fitted = time.perf_counter()
        frame = model.recommend(data.customer_ids, n=10)
        done = time.perf_counter()
        timings[name] = {"fit_s": fitted - started, "recommend_all_s": done - fitted, "rows": len(frame)}
    return timings


def cold_start_check(data: Interactions) -> dict:
    """Test buyers who had only browsed or reviewed before the cut: do content recommendations match
    the categories they went on to buy, compared with the shop's best sellers? Plus one example."""
    split = time_split(data)
    rows = split.cold_rows()
    rows = rows[np.diff(split.train.signals.indptr)[rows] > 0]
    ids = data.customer_ids[rows]
    test = split.test[rows].tocoo()
    bought = pd.DataFrame({s.CUSTOMER_ID: ids[test.row], s.CATEGORY: data.categories[test.col]}).drop_duplicates()
    result: dict = {"customers": len(rows)}
    for name in ("popular", "content"):
        frame = make_recommender(name).fit(split.train).recommend(ids, n=10)
        frame[s.CATEGORY] = data.categories[data.columns(frame[s.PRODUCT_ID])]
        matched = frame.merge(bought.assign(hit=True), on=[s.CUSTOMER_ID, s.CATEGORY], how="left")
        result[f"{name}_category_match"] = float(matched["hit"].fillna(False).astype(bool).mean())
        if name == "content" and len(ids):
            first = ids[0]
            history = split.train.signals[rows[0]].tocoo()
            result["example"] = {
                s.CUSTOMER_ID: first,
                "browsed": sorted({f"{data.titles[c]} ({data.categories[c]})" for c in history.col})[:4],
                "recommended": [
                    f"{data.titles[data.columns([p])[0]]} -- {r}"
                    for p, r in frame.loc[frame[s.CUSTOMER_ID] == first, [s.PRODUCT_ID, "reason"]].head(3).to_numpy()
                ],
                "then_bought": sorted(bought.loc[bought[s.CUSTOMER_ID] == first, s.CATEGORY]),
            }
    return result


def run_shop(n_customers: int, seed: int, segments_kind: str, text_model: str | None) -> dict:
    started = time.perf_counter()
    shop, truth = generated(n_customers, seed)
    data = shop_interactions(shop)
    build_seconds = time.perf_counter() - started
    if segments_kind == "truth":
        segments = truth
    else:  # the segments as a monthly K-Means run would have known them at each cut: no leak

        @functools.cache
        def segments(cut: pd.Timestamp | None) -> pd.Series:
            known = data if cut is None or cut >= data.reference_ts else data.until(cut)
            return category_share_segments(known, seed=seed)

    cut = time_split(data).cut
    if callable(segments):  # segment the shop at the cuts before timing any model (cached)
        segments(cut), segments(data.reference_ts)
    models = {name: make_recommender(name, random_state=seed) for name in MODELS}
    extra: dict[str, dict] = {}
    if text_model:
        vectors = embedded_product_vectors(shop.products, encoder=text_model)
        models["content+emb"] = make_recommender("content", product_vectors=vectors, random_state=seed)
        hybrid_params = {"component_params": {"content": {"product_vectors": vectors}}, "random_state": seed}
        models["hybrid+emb"] = make_recommender("hybrid", **hybrid_params)
        extra["hybrid+emb"] = {"model": "hybrid", "params": hybrid_params}
    evaluation = evaluate_recommenders(data, models, segments=segments)
    timing_models = {name: {"params": {"random_state": seed}} for name in MODELS} | extra
    timings = speed(data, segments, timing_models)
    return {
        "cold_start": cold_start_check(data),
        "customers": n_customers,
        "seed": seed,
        "interactions_seconds": build_seconds,
        "purchases": int(data.purchases.nnz),
        "signals": int(data.signals.nnz),
        "products": data.n_products,
        "evaluation": evaluation.as_dict(),
        "table": evaluation.table,
        "timings": timings,
    }


def show(size: int, runs: list[dict], segments_kind: str) -> dict:
    tables = [run["table"] for run in runs]
    mean = pd.concat(tables).groupby(level=0, sort=False).mean(numeric_only=True)
    table = Table(
        title=f"{size:,} customers, {runs[0]['products']:,} products, segments: {segments_kind}; "
        f"mean of seeds {', '.join(str(r['seed']) for r in runs)} (last 30 days as test)"
    )
    for column in ("model", *METRICS, *(f"ndcg s{r['seed']}" for r in runs)):
        table.add_column(column, justify="left" if column == "model" else "right")
    for model, row in mean.iterrows():
        per_seed = [f"{t.loc[model, 'ndcg@10']:.4f}" for t in tables]
        table.add_row(model, *(f"{row[m]:.4f}" for m in METRICS), *per_seed)
    console.print(table)
    split = runs[0]["evaluation"]["split"]
    console.print(
        f"  seed {runs[0]['seed']}: {split['warm_customers']:,} warm and {split['cold_customers']:,} cold test "
        f"customers, {split['test_pairs']:,} test pairs ({split['test_pairs_already_bought']:.1%} bought before)"
    )
    for run in runs:
        tuning = run["evaluation"]["hybrid_tuning"] or {}
        console.print(
            f"  seed {run['seed']} hybrid weights: {tuning.get('weights')} (cold: {tuning.get('cold_weights')})"
        )

    timing = Table(title=f"{size:,} customers: fit on all data, recommend 10 to every customer (mean of seeds)")
    for column in ("model", "fit s", "recommend all s", "rows", "eval fit s", "eval recommend s"):
        timing.add_column(column, justify="left" if column == "model" else "right")
    for model in runs[0]["timings"]:
        fit = np.mean([r["timings"][model]["fit_s"] for r in runs])
        recommend = np.mean([r["timings"][model]["recommend_all_s"] for r in runs])
        rows = runs[0]["timings"][model]["rows"]
        eval_fit = mean.loc[model, "fit_seconds"] if model in mean.index else float("nan")
        eval_rec = mean.loc[model, "recommend_seconds"] if model in mean.index else float("nan")
        timing.add_row(model, f"{fit:.2f}", f"{recommend:.2f}", f"{rows:,}", f"{eval_fit:.2f}", f"{eval_rec:.2f}")
    console.print(timing)

    for run in runs:
        cold = run["cold_start"]
        console.print(
            f"  seed {run['seed']} cold start ({cold['customers']} test buyers who had only browsed/reviewed): "
            f"share of top-10 in a category they then bought -- content {cold['content_category_match']:.3f}, "
            f"popular {cold['popular_category_match']:.3f}"
        )
    if "example" in runs[0]["cold_start"]:
        console.print(f"  example: {runs[0]['cold_start']['example']}")
    hybrid = mean.loc["hybrid", "ndcg@10"]
    rivals = {m: mean.loc[m, "ndcg@10"] for m in ("popular", "segment_popular", "als")}
    verdict = all(hybrid > v for v in rivals.values())
    console.print(
        f"  acceptance: hybrid NDCG@10 {hybrid:.4f} vs "
        + ", ".join(f"{m} {v:.4f}" for m, v in rivals.items())
        + f" -> {'PASS' if verdict else 'FAIL'}"
    )
    worst = max(np.mean([r["timings"][m]["recommend_all_s"] for r in runs]) for m in runs[0]["timings"])
    console.print(f"  slowest recommend-all: {worst:.1f} s for {size:,} customers (budget 60 s)\n")
    return {
        "mean": mean.reset_index().to_dict("records"),
        "acceptance_ndcg": bool(verdict),
        "runs": [{k: v for k, v in r.items() if k != "table"} for r in runs],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="10,000 customers only")
    parser.add_argument("--sizes", type=int, nargs="*", help="shop sizes (default: 10000 100000; quick: 10000)")
    parser.add_argument("--seeds", type=int, nargs="*", default=list(SEEDS))
    parser.add_argument("--segments", choices=("kmeans", "truth"), default="kmeans")
    parser.add_argument("--text-model", help="also evaluate content/hybrid with these product embeddings")
    parser.add_argument("--json", type=Path, help="write every number to this JSON file")
    args = parser.parse_args()
    sizes = args.sizes or ([10_000] if args.quick else [10_000, 100_000])
    results = {}
    for size in sizes:
        runs = []
        for seed in args.seeds:
            started = time.perf_counter()
            runs.append(run_shop(size, seed, args.segments, args.text_model))
            console.print(f"[dim]{size:,} customers, seed {seed}: {time.perf_counter() - started:.0f} s[/dim]")
        results[str(size)] = show(size, runs, args.segments)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=str))


if __name__ == "__main__":
    main()
