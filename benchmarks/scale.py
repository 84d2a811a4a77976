"""How the single-machine pipeline scales: wall time and peak memory per stage, against the seeds' approach.

    python benchmarks/scale.py [--sizes 100000 1000000] [--text [--text-model fast]] [--recommend]
                               [--format csv|parquet] [--assign] [--spark-segment] [--work DIR]

For each shop size:

1. a generated shop is written block by block (:func:`shopseg.generate.write_shop_chunked`,
   bounded memory): orders with descriptions, products, reviews;
2. ``shopseg segment`` runs on it in a child process (its peak memory is its own, read with
   ``getrusage`` in a fresh wrapper process); the stage timings come from its ``run.json``.
   By default without text and recommendations (``--text``, ``--recommend`` add them) and
   with 5 stability refits, so the table shows the core stages;
3. the seeds' approach runs on the same orders file in another child process, measured
   in the same run as the baseline: pandas ``read_csv`` (``read_parquet``) + ``groupby`` for recency,
   frequency and monetary value, ``StandardScaler``, ``PCA(2)``, scikit-learn ``KMeans(8)``.

4. with ``--assign``, ``shopseg assign`` places the whole shop with the run's model (no refit)
   on the local engine and on Spark in local mode (all cores), each in its own child; their
   agreement is printed (peak memory: the largest Python process; the JVM that Spark starts
   may not be counted);
5. with ``--spark-segment``, ``shopseg segment --engine spark`` runs on the same files (fit on a
   sample of 200,000 customers, everybody placed on Spark in local mode).

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

console = Console(width=160)

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
    paths = write_shop_chunked(n, shop_dir, seed=0, file_format=args.format)
    generate_seconds = time.perf_counter() - started
    size_mb = paths["orders"].stat().st_size / 1e6
    console.print(f"{n:,} customers generated in {generate_seconds:.0f} s ({size_mb:,.0f} MB of orders)")
    segment = [
        sys.executable, "-c", "from shopseg.cli.app import run; run()", "segment",
        "--orders", str(paths["orders"]), "--products", str(paths["products"]), "--reviews", str(paths["reviews"]),
        "--out", str(out_dir), "--stability-refits", "5",
    ]  # fmt: skip
    if not args.text:
        segment.append("--no-text")
    elif args.text_model:
        segment += ["--text-model", args.text_model]
    if not args.recommend:
        segment.append("--no-recommend")
    ours = measured(segment, args.timeout)
    stages = {}
    if (out_dir / "run.json").exists() and ours["returncode"] == 0:
        stages = json.loads((out_dir / "run.json").read_text())["timings_seconds"]
    base = measured([sys.executable, "-c", BASELINE, str(paths["orders"])], args.timeout)
    rows = [
        {"size": n, "engine": "shopseg segment", **ours, "stages": stages, "generate_s": generate_seconds},
        {"size": n, "engine": "seeds: pandas + sklearn", **base, "stages": {}},
    ]
    if args.assign and ours["returncode"] == 0:
        rows.extend(assign_engines(n, paths, out_dir, work, args))
    if args.spark_segment:
        spark_dir = work / f"run-spark-{n}"
        command = [*segment, "--engine", "spark"]
        command[command.index("--out") + 1] = str(spark_dir)
        result = measured(command, args.timeout)
        stages = {}
        if result["returncode"] == 0:
            record = json.loads((spark_dir / "run.json").read_text())
            stages = record["timings_seconds"]
            stages["place (spark)"] = record["engine"]["seconds"]
            console.print(f"{n:,}: segment --engine spark fitted on {record['engine']['fitted_on']:,} customers")
        rows.append({"size": n, "engine": "segment --engine spark", **result, "stages": stages})
    return rows


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
        "--spark-segment", action="store_true", help="also time segment --engine spark (local mode, all cores)"
    )
    parser.add_argument("--work", type=Path, help="folder for shops and runs (default: a temporary folder)")
    parser.add_argument("--timeout", type=float, default=3600.0, help="seconds allowed per child process")
    parser.add_argument("--json", type=Path, help="write every number to this file")
    args = parser.parse_args()

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
