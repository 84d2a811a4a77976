"""Benchmark of the clustering suite on generated shops with planted segments.

    python benchmarks/clustering.py --quick [--threads 1] [--out results.json]

(a) Every registered algorithm (automatic k) at 10k and 100k customers (1M in full mode):
    adjusted Rand index against the planted segments, k found, share unassigned, wall time.
    The matrix is built as the pipeline builds it: ``build_features(shop)`` then
    ``BlockScaler(blocks=..., weights=DEFAULT_BLOCK_WEIGHTS)``. At 10k each algorithm is also
    run at the planted k (8).
(b) K-Means engines (scikit-learn Lloyd, MiniBatchKMeans, faiss when installed) on overlapping
    Gaussian blobs at 100k, 300k and 1M x 32 (10M x 32 in full mode when memory allows), all started
    from the same k-means++ centres (k=8) and given the same iteration budget (20; tol=0).
    Time, inertia, ratios against Lloyd measured in the same run, memory (each engine runs in
    its own process: its peak RSS, and the peak beyond the RSS after loading the data). The engine the
    rule picks (fastest whose inertia is within 1% of the best) is printed per size.
(c) Automatic k over 10 seeds of 3,000-customer shops: what the default rule and the other
    criteria pick (hits = planted 8), for three K-Means random states, with the pipeline's
    block weights and with equal block weights; BIC of the Gaussian mixture alongside.
(d) Assignment without refit: 10% of a 5,000-customer shop held out, the model fitted on
    the rest and saved, the held-out customers placed by ``assign_customers``; the same
    customers' segments when refitting with them included (segment ids matched by the
    Hungarian method on the common customers). Acceptance: >= 95% agree. Today's
    ``Segmenter.save`` keeps only centroids (nearest-centroid placement for every algorithm),
    so the placement by the fitted clusterer itself is reported beside it.
(e) Stability (clusterboot) of the automatic K-Means segments at 10k and 100k customers:
    time of 20 bootstrap refits (refits with the model's n_init, and with n_init=2), ARI of the
    refits against the fit, mean Jaccard per segment, segments flagged unstable.

Machine note: numbers depend on the cores available; ``--threads`` pins BLAS/OpenMP (and
faiss) threads, so a busy shared machine gives comparable ratios if not absolute times.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.optimize import linear_sum_assignment
from sklearn.datasets import make_blobs
from sklearn.metrics import adjusted_rand_score
from threadpoolctl import threadpool_limits

from shopseg import Shop, load_shop
from shopseg import schema as s
from shopseg.assign import assign_customers
from shopseg.cluster import ALGORITHMS, AutoKMeans, BlockScaler, GaussianMixtureClusterer, assess_stability
from shopseg.cluster.kmeans_engines import ENGINES, faiss_available, kmeans_plusplus_init, run_kmeans
from shopseg.cluster.selection import choose_k
from shopseg.features import build_features
from shopseg.generate import generate_shop, write_shop_chunked
from shopseg.pipeline import DEFAULT_BLOCK_WEIGHTS, Segmenter

PLANTED_K = 8


def markdown(frame: pd.DataFrame) -> str:
    """A DataFrame as a GitHub markdown table (no extra dependency)."""
    text = frame.astype(object).where(frame.notna(), "-").astype(str)
    lines = ["| " + " | ".join(map(str, frame.columns)) + " |", "|" + "---|" * len(frame.columns)]
    lines += ["| " + " | ".join(row) + " |" for row in text.to_numpy()]
    return "\n".join(lines)


# --- generated shops as the pipeline sees them ------------------------------------------------
def shop_from_generated(n_customers: int, seed: int) -> tuple[Shop, pd.Series]:
    """A :class:`Shop` typed as ``load_shop`` types it (without writing CSVs), and the truth.

    Mirrors ingestion: identical lines dropped, ``is_return`` from status / negative amounts,
    the e-mail (PII) column removed, integer columns as floats.
    """
    generated = generate_shop(n_customers, seed=seed)
    orders = generated.orders.drop_duplicates().reset_index(drop=True)
    orders[s.QUANTITY] = orders[s.QUANTITY].astype("float64")
    status = orders[s.STATUS].astype("string").str.lower().isin(s.RETURN_STATUSES).fillna(False)
    orders[s.IS_RETURN] = ((orders[s.AMOUNT] < 0) | (orders[s.QUANTITY] < 0) | status).astype(bool)
    customers = generated.customers.drop(columns=["email"]).astype({s.AGE: "float64"})
    reviews = generated.reviews.astype({s.RATING: "float64"})
    shop = Shop(
        orders=orders,
        customers=customers,
        products=generated.products,
        reviews=reviews,
        events=generated.events.drop_duplicates().reset_index(drop=True),
    )
    truth = generated.truth.set_index(s.CUSTOMER_ID)["segment"]
    return shop, truth


def shop_from_files(n_customers: int, seed: int, folder: Path) -> tuple[Shop, pd.Series]:
    """For millions of customers: generate in blocks to CSV and read with ``load_shop``."""
    paths = write_shop_chunked(n_customers, folder, seed=seed)
    shop = load_shop(**{role: paths[role] for role in ("orders", "customers", "products", "reviews", "events")})
    truth = pd.read_csv(paths["truth"], dtype=str).set_index(s.CUSTOMER_ID)["segment"]
    return shop, truth


def pipeline_matrix(shop: Shop, weights: dict[str, float] | None = None) -> tuple[np.ndarray, pd.Index]:
    features = build_features(shop)
    weights = DEFAULT_BLOCK_WEIGHTS if weights is None else weights
    scaler = BlockScaler(blocks=features.segmentation_blocks, weights=weights)
    return scaler.fit_transform(features.frame), features.frame.index


# --- (a) algorithms ---------------------------------------------------------------------------
def algorithms_section(sizes: list[int]) -> pd.DataFrame:
    rows = []
    for size in sizes:
        started = time.perf_counter()
        if size > 200_000:
            with tempfile.TemporaryDirectory() as folder:
                shop, truth = shop_from_files(size, 0, Path(folder))
        else:
            shop, truth = shop_from_generated(size, 0)
        matrix, index = pipeline_matrix(shop)
        del shop
        planted = truth.reindex(index).to_numpy()
        print(f"  {size:,} customers: shop + features + scaling {time.perf_counter() - started:.1f}s", flush=True)
        ks = [None, PLANTED_K] if size <= 10_000 else [None]
        for name, algorithm in ALGORITHMS.items():
            for k in ks:
                if k is not None and name == "hdbscan":
                    continue
                started = time.perf_counter()
                model = algorithm(k=k, random_state=0).fit(matrix)
                seconds = time.perf_counter() - started
                rows.append(
                    {
                        "customers": size,
                        "algorithm": name,
                        "k asked": "auto" if k is None else k,
                        "k found": model.n_clusters_,
                        "ARI": round(adjusted_rand_score(planted, model.labels_), 3),
                        "unassigned": round(float((model.labels_ < 0).mean()), 3),
                        "seconds": round(seconds, 1),
                    }
                )
                print(f"    {rows[-1]}", flush=True)
    return pd.DataFrame(rows)


# --- (b) K-Means engines ----------------------------------------------------------------------
def _memory_mb(field: str) -> float:
    """A memory figure of this process from /proc/self/status (VmRSS, VmHWM), in MB."""
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return float("nan")


def engine_child(data_path: str, init_path: str, engine: str, iterations: int, threads: int, repeats: int) -> None:
    """Run one engine in this process and print a JSON line (called through ``--engine-child``).

    Time is the fastest of ``repeats`` runs (the machine is shared: the minimum is the least
    disturbed). Memory: the high-water mark is reset after loading the data (Linux
    ``clear_refs``), so ``extra_mb`` is what fitting added on top of the data.
    """
    matrix = np.load(data_path)
    init = np.load(init_path)
    data_rss = _memory_mb("VmRSS")
    if engine == "faiss":
        import faiss

        faiss.omp_set_num_threads(threads)
    times = []
    with threadpool_limits(limits=threads):
        for _ in range(repeats):
            Path("/proc/self/clear_refs").write_text("5")  # reset VmHWM to the current RSS
            started = time.perf_counter()
            result = run_kmeans(matrix, len(init), engine=engine, init=init, max_iter=iterations, tol=0.0)
            times.append(time.perf_counter() - started)
            peak = _memory_mb("VmHWM")
    # Inertia recomputed in float64 for every engine, so all are measured the same way.
    inertia = sum(
        float(((matrix[i : i + 100_000] - result.centroids[result.labels[i : i + 100_000]]) ** 2).sum(dtype="float64"))
        for i in range(0, len(matrix), 100_000)
    )
    line = {
        "seconds": min(times),
        "inertia": inertia,
        "n_iter": result.n_iter,
        "extra_mb": peak - data_rss,
        "peak_mb": peak,
    }
    print(json.dumps(line))


def engines_section(
    sizes: list[int], iterations: int, threads: int, repeats: int = 3, engines: tuple[str, ...] = ENGINES
) -> pd.DataFrame:
    rows = []
    engines = tuple(e for e in engines if e != "faiss" or faiss_available())
    for size in sizes:
        with tempfile.TemporaryDirectory() as folder:
            matrix, _ = make_blobs(
                size, n_features=32, centers=PLANTED_K, cluster_std=6.0, center_box=(-5, 5), random_state=0
            )
            matrix = matrix.astype("float32")
            data_path, init_path = Path(folder) / "data.npy", Path(folder) / "init.npy"
            np.save(data_path, matrix)
            started = time.perf_counter()
            with threadpool_limits(limits=threads):
                init = kmeans_plusplus_init(matrix, PLANTED_K, random_state=0)
            init_seconds = time.perf_counter() - started
            np.save(init_path, init)
            del matrix
            results = {}
            for engine in engines:
                command = [sys.executable, __file__, "--engine-child", str(data_path), str(init_path), engine]
                command += [str(iterations), str(threads), str(repeats)]
                output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
                results[engine] = json.loads(output.strip().splitlines()[-1])
        best = min(r["inertia"] for r in results.values())
        lloyd = results.get("lloyd", next(iter(results.values())))
        within = {e: r for e, r in results.items() if r["inertia"] <= best * 1.01}
        pick = min(within, key=lambda e: within[e]["seconds"])
        for engine, r in results.items():
            rows.append(
                {
                    "rows x dims": f"{size:,} x 32",
                    "engine": engine,
                    "seconds": round(r["seconds"], 2),
                    "time / Lloyd": round(r["seconds"] / lloyd["seconds"], 2),
                    "inertia / best": round(r["inertia"] / best, 5),
                    "inertia / Lloyd": round(r["inertia"] / lloyd["inertia"], 5),
                    "iterations": r["n_iter"],
                    "peak RSS MB": round(r["peak_mb"]),
                    "fit extra MB": round(r["extra_mb"], 1),
                    "k-means++ s": round(init_seconds, 2),
                    "rule picks": "<-" if engine == pick else "",
                }
            )
        print(markdown(pd.DataFrame([row for row in rows if row["rows x dims"] == f"{size:,} x 32"])), flush=True)
    return pd.DataFrame(rows)


# --- (c) automatic k --------------------------------------------------------------------------
def auto_k_section(n_customers: int, seeds: range, random_states: tuple[int, ...]) -> tuple[pd.DataFrame, pd.DataFrame]:
    rows = []
    for seed in seeds:
        shop, truth = shop_from_generated(n_customers, seed)
        for scaling, weights in (("pipeline", None), ("equal", {})):
            matrix, index = pipeline_matrix(shop, weights)
            planted = truth.reindex(index).to_numpy()
            for state in random_states:
                model = AutoKMeans(random_state=state).fit(matrix)
                table = model.selection_
                row = {"seed": seed, "scaling": scaling, "random_state": state, "rule (default)": model.n_clusters_}
                row["max silhouette"] = choose_k(table, "silhouette", 0.0)
                row["davies_bouldin"] = choose_k(table, "davies_bouldin", 0.0)
                row["calinski_harabasz"] = choose_k(table, "calinski_harabasz", 0.0)
                row["elbow"] = choose_k(table, "inertia")
                row["ARI (default)"] = round(adjusted_rand_score(planted, model.labels_), 3)
                if state == random_states[0]:
                    mixture = GaussianMixtureClusterer(random_state=state).fit(matrix)
                    row["gmm BIC"] = mixture.n_clusters_
                rows.append(row)
        print(f"  seed {seed}: {[r['rule (default)'] for r in rows if r['seed'] == seed]}", flush=True)
    picks = pd.DataFrame(rows)
    criteria = ["rule (default)", "max silhouette", "davies_bouldin", "calinski_harabasz", "elbow", "gmm BIC"]
    hits = []
    for (scaling, state), group in picks.groupby(["scaling", "random_state"], sort=False):
        hit = {"scaling": scaling, "random_state": state}
        for criterion in criteria:
            values = group[criterion].dropna()
            hit[criterion] = f"{int((values == PLANTED_K).sum())}/{len(values)}" if len(values) else "-"
        hit["mean ARI (default)"] = round(group["ARI (default)"].mean(), 3)
        hits.append(hit)
    return picks, pd.DataFrame(hits)


# --- (e) stability ----------------------------------------------------------------------------
def stability_section(sizes: list[int]) -> pd.DataFrame:
    rows = []
    for size in sizes:
        shop, _ = shop_from_generated(size, 0)
        matrix, _ = pipeline_matrix(shop)
        del shop
        model = AutoKMeans(random_state=0).fit(matrix)
        for refit_params in ({}, {"n_init": 2}):
            started = time.perf_counter()
            report = assess_stability(model, matrix, refit_params=refit_params, random_state=0)
            rows.append(
                {
                    "customers": size,
                    "k": model.n_clusters_,
                    "refits": report.summary["n_refits"],
                    "rows per refit": report.summary["rows_per_refit"],
                    "refit n_init": refit_params.get("n_init", model.n_init),
                    "seconds": round(time.perf_counter() - started, 1),
                    "ARI refit vs fit": report.summary["ari_mean"],
                    "Jaccard per segment": " ".join(f"{j:.2f}" for j in report.table["jaccard_mean"]),
                    "unstable (< 0.6)": report.summary["unstable_segments"],
                }
            )
            print(f"    {rows[-1]}", flush=True)
    return pd.DataFrame(rows)


# --- (d) assignment without refit -------------------------------------------------------------
def subset(shop: Shop, customers: set[str]) -> Shop:
    tables = {
        name: (frame[frame[s.CUSTOMER_ID].isin(customers)].reset_index(drop=True) if s.CUSTOMER_ID in frame else frame)
        for name, frame in shop.tables().items()
    }
    return Shop(**tables)


def assign_section(n_customers: int, holdout: float, algorithms: list[str]) -> pd.DataFrame:
    shop, _ = shop_from_generated(n_customers, 0)
    ids = np.array(shop.customer_ids())
    rng = np.random.default_rng(0)
    held = set(rng.choice(ids, size=round(holdout * len(ids)), replace=False))
    kept = set(ids) - held
    train, new = subset(shop, kept), subset(shop, held)
    rows = []
    for algorithm in algorithms:
        with tempfile.TemporaryDirectory() as folder:
            fitted = Segmenter(algorithm=algorithm, random_state=0, value=False).fit(train)
            fitted.save(Path(folder) / "model")
            started = time.perf_counter()
            assigned = assign_customers(folder, new).set_index(s.CUSTOMER_ID)[s.SEGMENT_ID]
            seconds = time.perf_counter() - started
            # The fitted clusterer itself (what a saved model gives once model/ keeps it whole).
            in_memory = fitted.predict(new)
            in_memory.index = in_memory.index.astype(str)
        refit = Segmenter(algorithm=algorithm, random_state=0, value=False).fit(shop)
        refit_ids = pd.Series(refit.labels_, index=refit.features_.frame.index.astype(str))
        first_ids = pd.Series(fitted.labels_, index=fitted.features_.frame.index.astype(str))
        common = first_ids.index
        # Match refit segment ids to the first fit's on the customers both fits saw.
        table = pd.crosstab(refit_ids[common], first_ids[common])
        rows_idx, cols_idx = linear_sum_assignment(-table.to_numpy())
        mapping = dict(zip(table.index[rows_idx], table.columns[cols_idx], strict=True))
        matched = refit_ids.map(mapping)
        agree_new = float((matched[assigned.index] == assigned).mean())
        agree_memory = float((matched[in_memory.index] == in_memory).mean())
        agree_common = float((matched[common] == first_ids).mean())
        rows.append(
            {
                "algorithm": algorithm,
                "k (fit on 90%)": int(first_ids.max()) + 1,
                "k (refit on all)": int(refit_ids.max()) + 1,
                "held out": len(assigned),
                "same segment (held out, saved model today)": round(agree_new, 4),
                "same segment (held out, whole clusterer)": round(agree_memory, 4),
                "same segment (fitted customers)": round(agree_common, 4),
                "assign seconds": round(seconds, 2),
            }
        )
        print(f"    {rows[-1]}", flush=True)
    return pd.DataFrame(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="10k/100k customers, engines at 100k and 1M rows")
    parser.add_argument("--threads", type=int, default=1, help="BLAS/OpenMP/faiss threads (default 1)")
    parser.add_argument("--sections", default="abcde", help="which sections to run, e.g. 'bc'")
    parser.add_argument("--out", type=Path, help="write every table as JSON here")
    parser.add_argument("--engines", default=",".join(ENGINES), help="engines for (b), e.g. 'lloyd,faiss'")
    parser.add_argument("--engine-sizes", help="row counts for (b), e.g. '10000000' (default by mode)")
    parser.add_argument("--repeats", type=int, default=3, help="runs per engine in (b); the fastest counts")
    parser.add_argument("--engine-child", nargs=6, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.engine_child:
        data_path, init_path, engine, iterations, threads, repeats = args.engine_child
        engine_child(data_path, init_path, engine, int(iterations), int(threads), int(repeats))
        return
    os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))
    results: dict[str, object] = {"threads": args.threads, "quick": args.quick, "cpus": os.cpu_count()}
    with threadpool_limits(limits=args.threads):
        if "a" in args.sections:
            print("\n## (a) algorithms on generated shops (ARI against planted segments)", flush=True)
            sizes = [10_000, 100_000] if args.quick else [10_000, 100_000, 1_000_000]
            table = algorithms_section(sizes)
            print(markdown(table))
            best = table[table["k asked"] == "auto"].sort_values("ARI").groupby("customers").tail(1)
            print("\nBest algorithm per size (automatic k):\n" + markdown(best))
            results["algorithms"] = table.to_dict(orient="records")
        if "b" in args.sections:
            print("\n## (b) K-Means engines (same k-means++ init, 20 iterations)", flush=True)
            sizes = [100_000, 300_000, 1_000_000] if args.quick else [100_000, 300_000, 1_000_000, 10_000_000]
            if args.engine_sizes:
                sizes = [int(size) for size in args.engine_sizes.split(",")]
            if max(sizes) >= 10_000_000 and memory_available_gb() < 12:
                sizes = [size for size in sizes if size < 10_000_000]
                print("  (10M x 32 skipped: less than 12 GB of memory available)")
            engines = tuple(args.engines.split(","))
            table = engines_section(sizes, 20, args.threads, args.repeats, engines)
            results["engines"] = table.to_dict(orient="records")
        if "c" in args.sections:
            print("\n## (c) automatic k over 10 seeds (3,000 customers, planted k = 8)", flush=True)
            picks, hits = auto_k_section(3000, range(10), (0, 1, 2))
            print(markdown(hits))
            results["auto_k"] = {"picks": picks.to_dict(orient="records"), "hits": hits.to_dict(orient="records")}
        if "d" in args.sections:
            print("\n## (d) assignment of held-out customers without refit (5,000 customers, 10% held out)", flush=True)
            table = assign_section(5000, 0.1, ["kmeans", "gmm", "ward"])
            print(markdown(table))
            results["assign"] = table.to_dict(orient="records")
        if "e" in args.sections:
            print("\n## (e) stability of K-Means segments (20 bootstrap refits of <= 20,000 rows)", flush=True)
            table = stability_section([10_000, 100_000])
            print(markdown(table))
            results["stability"] = table.to_dict(orient="records")
    if args.out:
        args.out.write_text(json.dumps(results, indent=2, default=str))


def memory_available_gb() -> float:
    with open("/proc/meminfo") as handle:
        for line in handle:
            if line.startswith("MemAvailable"):
                return int(line.split()[1]) / 1024**2
    return 0.0


if __name__ == "__main__":
    main()
