"""Segment quality with and without text, on generated shops with planted segments.

    python benchmarks/segment_quality.py [--quick] [--sizes 5000 50000] [--seeds 0 1 2] [--demo-tables]

Each shop comes from :func:`shopseg.generate.generate_shop` and is given to shopseg the way
a shop without a catalogue would be: ``orders.csv`` with a ``description`` on every line
(the product's title; no product table, no categories, no customer table, no events) and
``reviews.csv``, read with :func:`shopseg.load_shop`. ``--demo-tables`` gives it all five
tables instead, as ``shopseg demo`` does (products with categories and descriptions,
customers, events). Adjusted Rand index (ARI) against the planted segments, K = the number of
planted segments for every method:

(a) ``baseline``  -- the seeds' method: StandardScaler on recency, frequency, monetary total
    and mean, PCA(2), K-Means;
(b) ``behaviour`` -- :class:`shopseg.Segmenter` as it is (behaviour features only);
(c) ``text``      -- text vectors only (taste + voice) through :func:`shopseg.represent.fuse`;
(d) ``fused``     -- behaviour matrix of (b) + text vectors, fused as the pipeline fuses them
    (one block per feature group, PCA), K-Means;
(d') ``fused autoencoder`` -- (d) with the other reducer (``--reducer`` picks the first);
(d'') ``fused-fast`` -- (d) with the ``fast`` static encoder.

``taste ARI`` is the ARI among the customers of the taste-only planted segments (outdoor,
beauty, home cooks: identical behaviour by construction), i.e. whether a method tells them
apart. Mean and spread (standard deviation) over the seeds. ``--auto-k`` also reports (d)
with K chosen as the pipeline chooses it (``AutoKMeans``' default rule) and the K it chose.
Embeddings go through a DuckDB cache (``--cache``), so a re-run embeds nothing; ``--no-cache``
measures cold embedding. ``--window-days N`` sets the activity window the features and text
read (default 0: the whole history, as a plain run; 365: what ``--as-of`` runs read), to
measure what the window does to segment quality.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
import pandas as pd
from rich.console import Console
from rich.table import Table
from sklearn.cluster import KMeans
from sklearn.decomposition import PCA
from sklearn.metrics import adjusted_rand_score
from sklearn.preprocessing import StandardScaler

from shopseg import Segmenter, load_shop
from shopseg import schema as s
from shopseg.cluster import AutoKMeans
from shopseg.embed import EmbeddingCache, cache_folder, customer_text_vectors, get_encoder
from shopseg.features.window import DEFAULT_WINDOW_DAYS, current_activity
from shopseg.generate import PLANTED_SEGMENTS, generate_shop, write_shop
from shopseg.represent import Fuser

console = Console(width=140)
TASTE_SEGMENTS = ("outdoor_enthusiasts", "beauty_lovers", "home_cooks")
BASELINE_COLUMNS = ("recency_days", "frequency", "monetary_total", "monetary_mean")
K = len(PLANTED_SEGMENTS)


def shop_without_catalogue(n_customers: int, seed: int, folder: Path):
    """Generate a shop, write orders (with descriptions) + reviews only, read them back; also the truth."""
    generated = generate_shop(n_customers, seed)
    titles = generated.products.set_index(s.PRODUCT_ID)[s.TITLE]
    orders = generated.orders.copy()
    orders[s.DESCRIPTION] = orders[s.PRODUCT_ID].map(titles)
    orders.to_csv(folder / "orders.csv", index=False)
    generated.reviews.to_csv(folder / "reviews.csv", index=False)
    shop = load_shop(orders=folder / "orders.csv", reviews=folder / "reviews.csv")
    truth = generated.truth.set_index(s.CUSTOMER_ID)["segment"]
    return shop, truth


def scores(truth: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    """(ARI over everybody, ARI among the taste-only planted segments)."""
    taste = np.isin(truth, TASTE_SEGMENTS)
    return adjusted_rand_score(truth, labels), adjusted_rand_score(truth[taste], labels[taste])


def baseline(frame: pd.DataFrame, seed: int) -> np.ndarray:
    """The seeds' method: StandardScaler on a few customer columns, PCA(2), K-Means."""
    values = StandardScaler().fit_transform(frame[list(BASELINE_COLUMNS)].to_numpy())
    reduced = PCA(2, random_state=seed).fit_transform(values)
    return KMeans(K, n_init=10, random_state=seed).fit_predict(reduced)


def cluster(vectors: np.ndarray, seed: int, k: int | None = K) -> np.ndarray:
    return AutoKMeans(k=k, random_state=seed).fit(vectors).labels_


def shop_as_demo(n_customers: int, seed: int, folder: Path):
    """Generate a shop and read all five tables back, as ``shopseg demo`` does; also the truth."""
    generated = generate_shop(n_customers, seed)
    paths = write_shop(generated, folder)
    shop = load_shop(**{role: paths[role] for role in ("orders", "customers", "products", "reviews", "events")})
    return shop, generated.truth.set_index(s.CUSTOMER_ID)["segment"]


def run_one(n: int, seed: int, args: argparse.Namespace, cache: EmbeddingCache | None) -> dict[str, object]:
    """Every method on one generated shop: {method: (ari, taste ari)} plus timings and reports."""
    result: dict[str, object] = {}
    with tempfile.TemporaryDirectory() as tmp:
        read = shop_as_demo if args.demo_tables else shop_without_catalogue
        shop, truth_by_id = read(n, seed, Path(tmp))
    started = time.perf_counter()
    window = args.window_days or None
    segmenter = Segmenter(k=K, random_state=seed, value=False, use_text=False, window_days=window).fit(shop)
    result["seconds behaviour"] = time.perf_counter() - started
    frame = segmenter.features_.frame
    ids = frame.index
    truth = truth_by_id.reindex(ids).to_numpy()
    behaviour = segmenter.scaler_.transform(frame)
    shop = current_activity(shop, segmenter.features_.reference_ts, window)  # text reads the same window
    layout = {name: len(columns) for name, columns in segmenter.scaler_.block_columns_.items()}
    result["baseline"] = scores(truth, baseline(frame, seed))
    result["behaviour"] = scores(truth, segmenter.labels_)

    for label, encoder_name in (("", args.encoder), ("-fast", args.fast_encoder)):
        if not encoder_name:
            continue
        started = time.perf_counter()
        text = customer_text_vectors(shop, ids, encoder=get_encoder(encoder_name), cache=cache)
        result[f"seconds embed{label}"] = time.perf_counter() - started
        result[f"report{label}"] = text.report
        options = {
            "dim": args.dim,
            "reducer": args.reducer,
            "random_state": seed,
            "weights": args.weights,
            "standardise": not args.no_standardise,
            "shrinkage": args.shrinkage,
            "feature_blocks": layout,
        }
        if not label:
            vectors = Fuser(**options).fit_transform(None, text.blocks, text.evidence)
            result["text"] = scores(truth, cluster(vectors, seed))
        started = time.perf_counter()
        fuser = Fuser(**options).fit(behaviour, text.blocks, text.evidence)
        vectors = fuser.transform(behaviour, text.blocks, text.evidence)
        result[f"seconds fuse{label}"] = time.perf_counter() - started
        result[f"fused{label}"] = scores(truth, cluster(vectors, seed))
        if args.auto_k and not label:
            automatic = AutoKMeans(k=None, random_state=seed).fit(vectors)
            result["fused auto-k"] = scores(truth, automatic.labels_)
            result["auto k"] = automatic.n_clusters_
        if not label:  # the other reducer, for comparison
            other = "autoencoder" if args.reducer == "pca" else "pca"
            vectors = Fuser(**{**options, "reducer": other}).fit_transform(behaviour, text.blocks, text.evidence)
            result[f"fused {other}"] = scores(truth, cluster(vectors, seed))
    return result


def summary_table(results: dict[int, list[dict[str, object]]], seeds: list[int]) -> Table:
    table = Table(title=f"ARI against planted segments (K={K}), mean ± sd over seeds {seeds}")
    table.add_column("method")
    for n in results:
        table.add_column(f"{n:,} ARI", justify="right")
        table.add_column(f"{n:,} taste ARI", justify="right")
    methods = [m for m in results[next(iter(results))][0] if isinstance(results[next(iter(results))][0][m], tuple)]
    for method in methods:
        cells = []
        for runs in results.values():
            for position in (0, 1):
                values = np.array([run[method][position] for run in runs])
                cells.append(f"{values.mean():.3f} ± {values.std():.3f}")
        table.add_row(method, *cells)
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="5,000 customers, seeds 0 1 2, no fast encoder")
    parser.add_argument("--sizes", type=int, nargs="+", default=[5_000, 50_000])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--encoder", default="minilm-int8")
    parser.add_argument("--fast-encoder", default=None, help="default 'fast' ('' skips it; --quick skips it too)")
    parser.add_argument("--dim", type=int, default=16)
    parser.add_argument("--reducer", default="pca", choices=["pca", "autoencoder"])
    parser.add_argument("--shrinkage", type=float, default=2.0)
    parser.add_argument("--no-standardise", action="store_true")
    parser.add_argument("--weight", action="append", default=[], help="BLOCK=WEIGHT, e.g. taste=1.5 (repeatable)")
    parser.add_argument("--auto-k", action="store_true")
    parser.add_argument(
        "--window-days", type=float, default=0, help=f"0 (default): whole history; e.g. {DEFAULT_WINDOW_DAYS}"
    )
    parser.add_argument("--demo-tables", action="store_true", help="all five tables, as shopseg demo reads them")
    parser.add_argument("--cache", default=str(cache_folder() / "benchmark-embeddings.duckdb"))
    parser.add_argument("--no-cache", action="store_true")
    args = parser.parse_args()
    if args.fast_encoder is None:
        args.fast_encoder = "" if args.quick else "fast"
    if args.quick:
        args.sizes = [5_000]
    args.weights = {k: float(v) for k, v in (item.split("=", 1) for item in args.weight)} or None

    cache = None if args.no_cache else EmbeddingCache(args.cache)
    results: dict[int, list[dict[str, object]]] = defaultdict(list)
    for n in args.sizes:
        for seed in args.seeds:
            started = time.perf_counter()
            run = run_one(n, seed, args, cache)
            results[n].append(run)
            cells = ", ".join(f"{m} {v[0]:.3f}/{v[1]:.3f}" for m, v in run.items() if isinstance(v, tuple))
            chosen = f", auto k {run['auto k']}" if "auto k" in run else ""
            console.print(f"n={n:,} seed={seed}: {cells}{chosen}  ({time.perf_counter() - started:.0f} s)")
            for key in ("report", "report-fast"):
                if key in run:
                    sources = run[key]["sources"]
                    console.print(
                        f"   {key}: "
                        + "; ".join(
                            f"{what}: {r['texts']} texts, {r['distinct']} distinct, {r['cache_hits']} cached, "
                            f"{r['embedded']} embedded ({r['texts_per_second'] or '-'} texts/s)"
                            for what, r in sources.items()
                        )
                    )
    console.print(summary_table(results, args.seeds))
    for n, runs in results.items():
        if "auto k" in runs[0]:
            console.print(f"{n:,} customers: automatic k per seed {[run['auto k'] for run in runs]}")
    timing = Table(title="seconds per shop (mean)")
    timing.add_column("size")
    keys = sorted({k for runs in results.values() for run in runs for k in run if k.startswith("seconds")})
    for key in keys:
        timing.add_column(key.removeprefix("seconds "), justify="right")
    for n, runs in results.items():
        timing.add_row(f"{n:,}", *(f"{np.mean([run.get(k, np.nan) for run in runs]):.1f}" for k in keys))
    console.print(timing)
    console.print(
        f"{'all five tables (as shopseg demo)' if args.demo_tables else 'orders with descriptions + reviews'}; "
        f"encoder {args.encoder}, fast {args.fast_encoder or '-'}, dim {args.dim}, reducer {args.reducer}, "
        f"weights {args.weights or 'default'}, shrinkage {args.shrinkage}, standardise {not args.no_standardise}, "
        f"window {args.window_days or 'whole history'}"
    )
    if cache is not None:
        cache.close()


if __name__ == "__main__":
    main()
