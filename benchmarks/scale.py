"""How the single-machine pipeline scales: wall time and peak memory per stage, against the seeds' approach.

    python benchmarks/scale.py [--sizes 100000 1000000] [--text [--text-model fast]] [--recommend]
                               [--format csv|parquet] [--activity 2.2] [--engines local chunked spark]
                               [--assign] [--baseline-max 2000000] [--work DIR]

For each shop size:

1. a generated shop is written block by block (:func:`shopseg.generate.write_shop_chunked`,
   bounded memory): orders with descriptions, products, reviews; ``--activity 2.2`` gives the
   density of a busy marketplace (about 20 order lines and 1.3 reviews per customer instead
   of 10 and 0.5). A shop already in ``--work`` (``shop-<size>/``) is reused;
2. ``shopseg segment`` runs on it in a child process, once per engine of ``--engines``
   (``local``: everything in memory; ``chunked``: DuckDB splits the files, fit on a sample of
   200,000, everybody placed 200,000 at a time; ``spark``: fit on the same sample, everybody
   placed on Spark in local mode) (its peak memory is its own, read with
   ``getrusage`` in a fresh wrapper process); the stage timings come from its ``run.json``.
   By default without text and recommendations (``--text``, ``--recommend`` add them) and
   with 5 stability refits, so the table shows the core stages;
3. the seeds' approach runs on the same orders file in another child process (up to
   ``--baseline-max`` customers; beyond, it would not fit in memory), measured
   in the same run as the baseline: pandas ``read_csv`` (``read_parquet``) + ``groupby`` for recency,
   frequency and monetary value, ``StandardScaler``, ``PCA(2)``, scikit-learn ``KMeans(8)``.

4. with ``--assign``, ``shopseg assign`` places the whole shop with the run's model (no refit)
   on the local engine and on Spark in local mode (all cores), each in its own child; their
   agreement is printed (peak memory: the largest Python process; the JVM that Spark starts
   may not be counted).

Printed: one row per size and engine with every stage, the total, seconds per 1,000
customers (flat = linear cost), peak memory, and the ratio of shopseg's total to the
baseline's. Sizes where a child runs out of memory or time are reported as such.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
from rich.console import Console
from rich.table import Table

from shopseg.generate import write_shop_chunked

console = Console(width=240)

#: Runs ``argv`` as a child and prints its wall seconds and peak RSS (MB) as JSON: a fresh
#: wrapper per measurement, so RUSAGE_CHILDREN covers exactly one child.
WRAPPER = """
import json, resource, subprocess, sys, time
started = time.perf_counter()
code = subprocess.run(sys.argv[1:]).returncode
peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
print(json.dumps({"seconds": time.perf_counter() - started, "peak_mb": peak, "returncode": code}))
"""

#: The seeds' method on the orders file (pandas + scikit-learn, all in memory).
BASELINE = """
import sys, time
import pandas as pd
from sklearn.cluster import KMeans
from sklearn.decomposition import PCA
from sklearn.preprocessing import StandardScaler
started = time.perf_counter()
columns = ["customer_id", "order_id", "ts", "amount"]
if sys.argv[1].endswith(".parquet"):
    orders = pd.read_parquet(sys.argv[1], columns=columns)
else:
    orders = pd.read_csv(sys.argv[1], usecols=columns, parse_dates=["ts"])
now = orders["ts"].max()
rfm = orders.groupby("customer_id").agg(
    last=("ts", "max"), frequency=("order_id", "nunique"), monetary=("amount", "sum")
)
rfm["recency"] = (now - rfm.pop("last")).dt.days
values = StandardScaler().fit_transform(rfm[["recency", "frequency", "monetary"]])
labels = KMeans(8, n_init=10, random_state=0).fit_predict(PCA(2, random_state=0).fit_transform(values))
print(f"baseline: {len(rfm):,} customers in {time.perf_counter() - started:.1f} s", file=sys.stderr)
"""


def measured(argv: list[str], timeout: float) -> dict[str, float]:
    """Wall seconds, peak MB and return code of ``argv`` run in a fresh wrapper process."""
    try:
        done = subprocess.run(
            [sys.executable, "-c", WRAPPER, *argv], capture_output=True, text=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired:
        return {"seconds": float("nan"), "peak_mb": float("nan"), "returncode": -1, "error": "timed out"}
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if not lines:
        return {"seconds": float("nan"), "peak_mb": float("nan"), "returncode": -1, "error": done.stderr[-500:]}
    result = json.loads(lines[-1])
    if result["returncode"] != 0:
        result["error"] = done.stderr[-500:]
    return result


def run_size(n: int, work: Path, args: argparse.Namespace) -> list[dict[str, object]]:
    shop_dir, out_dir = work / f"shop-{n}", work / f"run-{n}"
    started = time.perf_counter()
    existing = {name: shop_dir / f"{name}.{args.format}" for name in ("orders", "products", "reviews")}
    if all(path.exists() for path in existing.values()):
        paths, generate_seconds = existing, float("nan")
        console.print(f"{n:,} customers: reusing the shop in {shop_dir}")
    else:
        paths = write_shop_chunked(n, shop_dir, seed=0, file_format=args.format, activity=args.activity)
        generate_seconds = time.perf_counter() - started
    size_mb = paths["orders"].stat().st_size / 1e6
    console.print(f"{n:,} customers generated in {generate_seconds:.0f} s ({size_mb:,.0f} MB of orders)")
    segment = [
        sys.executable, "-c", "from shopseg.cli.app import run; run()", "segment",
        "--orders", str(paths["orders"]), "--products", str(paths["products"]), "--reviews", str(paths["reviews"]),
        "--stability-refits", "5",
    ]  # fmt: skip
    if not args.text:
        segment.append("--no-text")
    elif args.text_model:
        segment += ["--text-model", args.text_model]
    if not args.recommend:
        segment.append("--no-recommend")
    rows = []
    for engine in args.engines:
        run_dir = out_dir if engine == "local" else work / f"run-{engine}-{n}"
        result = measured([*segment, "--engine", engine, "--out", str(run_dir)], args.timeout)
        stages = {}
        if result["returncode"] == 0:
            record = json.loads((run_dir / "run.json").read_text())
            stages = record["timings_seconds"]
            if engine != "local":
                stages.setdefault("place", record["engine"]["seconds"])
                console.print(
                    f"{n:,}: segment --engine {engine} fitted on {record['engine']['fitted_on']:,} customers, "
                    f"placed {record['engine']['placed']:,}, agreement with the fit "
                    f"{record['engine']['agreement_with_fit']:.2%}"
                )
            rows_read = record["rows"]["rows_read"]
            console.print(f"{n:,}: {engine} read {rows_read:,} rows ({_lines(record)})")
        rows.append({"size": n, "engine": engine, **result, "stages": stages})
        if engine == "local" and args.assign and result["returncode"] == 0:
            rows.extend(assign_engines(n, paths, out_dir, work, args))
    if n <= args.baseline_max:
        base = measured([sys.executable, "-c", BASELINE, str(paths["orders"])], args.timeout)
        rows.append({"size": n, "engine": "seeds", **base, "stages": {}})
    if rows:
        rows[0]["generate_s"] = generate_seconds
    return rows


def _lines(record: dict) -> str:
    """ "orders 20,123,456, reviews 1,234,567" from a run record's inputs."""
    return ", ".join(f"{f['role']} {f['rows_read']:,}" for f in record["inputs"])


def assign_engines(n: int, paths: dict[str, Path], run_dir: Path, work: Path, args: argparse.Namespace) -> list[dict]:
    """``shopseg assign`` of the whole shop with the run's model, on the local engine and on Spark (local mode)."""
    rows, segments = [], {}
    for engine in ("local", "spark"):
        out = work / f"assign-{engine}-{n}"
        command = [
            sys.executable, "-c", "from shopseg.cli.app import run; run()", "assign", "--model", str(run_dir),
            "--orders", str(paths["orders"]), "--products", str(paths["products"]), "--reviews", str(paths["reviews"]),
            "--engine", engine, "--out", str(out),
        ]  # fmt: skip
        result = measured(command, args.timeout)
        if result["returncode"] == 0:
            segments[engine] = pd.read_parquet(out / "assignments.parquet").set_index("customer_id")["segment_id"]
        rows.append({"size": n, "engine": f"assign --engine {engine}", **result, "stages": {}})
    if len(segments) == 2:
        same = float((segments["spark"].reindex(segments["local"].index) == segments["local"]).mean())
        rows[-1]["agreement"] = same
        console.print(f"{n:,}: Spark and local assign agree on {same:.2%} of customers")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--text", action="store_true", help="embed and fuse text (default: behaviour only)")
    parser.add_argument("--text-model", help="encoder for --text (default: the pipeline's, int8 MiniLM)")
    parser.add_argument("--recommend", action="store_true", help="include the recommendation step")
    parser.add_argument("--format", choices=["csv", "parquet"], default="csv", help="file format of the generated shop")
    parser.add_argument("--assign", action="store_true", help="also time assign on the local and the Spark engine")
    parser.add_argument(
        "--engines", nargs="+", choices=["local", "chunked", "spark"], default=["local"], help="segment engines to time"
    )
    parser.add_argument(
        "--spark-segment", action="store_true", help="also time segment --engine spark (same as adding it to --engines)"
    )
    parser.add_argument("--activity", type=float, default=1.0, help="generator density (2.2: ~20 lines per customer)")
    parser.add_argument(
        "--baseline-max", type=int, default=2_000_000, help="largest shop the seeds' in-memory approach is run on"
    )
    parser.add_argument("--work", type=Path, help="folder for shops and runs (default: a temporary folder)")
    parser.add_argument("--timeout", type=float, default=3600.0, help="seconds allowed per child process")
    parser.add_argument("--json", type=Path, help="write every number to this file")
    args = parser.parse_args()
    if args.spark_segment and "spark" not in args.engines:
        args.engines.append("spark")

    rows: list[dict[str, object]] = []
    with tempfile.TemporaryDirectory() as tmp:
        work = args.work or Path(tmp)
        for n in args.sizes:
            rows.extend(run_size(n, work, args))
    stage_names = list(dict.fromkeys(name for row in rows for name in row["stages"]))
    table = Table(title="Single machine: seconds per stage, total, per 1,000 customers, peak memory")
    for column in ("size", "engine", *stage_names, "total s", "s / 1k", "peak MB", "vs seeds"):
        table.add_column(column, justify="left" if column == "engine" else "right")
    baseline = {row["size"]: row["seconds"] for row in rows if row["engine"].startswith("seeds")}
    for row in rows:
        seconds = row["seconds"]
        ratio = seconds / baseline[row["size"]] if baseline.get(row["size"]) else float("nan")
        table.add_row(
            f"{row['size']:,}",
            row["engine"] + (f" ({row['error'][:40]}...)" if row.get("error") else ""),
            *(f"{row['stages'].get(name, float('nan')):.1f}" if row["stages"] else "" for name in stage_names),
            f"{seconds:.1f}",
            f"{1000 * seconds / row['size']:.3f}",
            f"{row['peak_mb']:,.0f}",
            f"{ratio:.1f}x",
        )
    console.print(table)
    text = f"on ({args.text_model or 'default encoder'})" if args.text else "off"
    console.print(f"text {text}, recommendations {'on' if args.recommend else 'off'}")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2, default=str))


if __name__ == "__main__":
    main()
