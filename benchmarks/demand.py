"""Benchmark of the demand stage: a back-test against the seasonal naive and moving averages.

    python benchmarks/demand.py [--customers 20000] [--seed 0] [--horizon-days 90]
                                [--shop ongoing|default] [--segments run|truth] [--no-text]

One command, everything measured in the same run:

1. generate a shop: ``ongoing`` (default; :func:`shopseg.generate.ongoing.generate_ongoing_shop`,
   overlapping cohorts so demand goes on past the history; ``--customers`` are generated,
   about 58% of them buy in the two years kept) or ``default`` (``generate_shop``: a single
   cohort whose demand falls in its last 90 days and would stop after them);
2. segment it with the whole pipeline (``shopseg segment``: value stage included, no
   recommendations) into a run folder, or with ``--segments truth`` take the planted segments
   and fit the value stage's chosen model directly (faster);
3. back-test (:func:`shopseg.demand.backtest_demand`): everything refitted on the data up to
   the last day minus the horizon -- with a run folder, every window's customers placed on
   the run's saved model as of the window's start (the cut-off included), as ``shopseg demand
   --backtest`` does; planted segments are fixed --, the next horizon forecast, and scored with
   WAPE and MASE at
   every level for shopseg (reconciled, base, bottom-up), the seasonal naive (previous
   window) and the moving averages of the last 2 and 4 windows; the ratios to the baselines;
   the share of series inside their 90% intervals.

The acceptance lines at the end check: product-level WAPE <= 0.8 x the seasonal naive's and
below every moving average's; interval coverage between 0.85 and 0.95 at the product and
segment/product levels.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from shopseg.demand import Membership, backtest_demand
from shopseg.demand.hierarchy import LEVELS
from shopseg.demand.lines import unit_lines
from shopseg.demand_run import load_demand_inputs
from shopseg.generate import generate_shop, write_shop
from shopseg.generate.ongoing import generate_ongoing_shop

console = Console(width=140)
NAIVE = "seasonal_naive"


def segmented_lines(args: argparse.Namespace, work: Path):
    """(unit lines, transaction model name, membership, how the segments were made) for the generated shop.

    The membership of a run folder places customers from ``work`` lazily: back-test before ``work`` goes.
    """
    shop = (generate_ongoing_shop if args.shop == "ongoing" else generate_shop)(args.customers, seed=args.seed)
    if args.segments == "truth":
        from shopseg.value import customer_value

        orders = shop.orders.assign(is_return=shop.orders["status"] == "returned")
        value = customer_value(orders, holdout_days=args.horizon_days, random_state=args.seed)
        codes = shop.truth.set_index("customer_id")["segment"].astype("category").cat.codes
        lines = unit_lines(orders, codes, shop.products.set_index("product_id")["category"])
        membership = Membership.fixed(codes, "the planted segments: the generator keeps them for good")
        return lines, value.models["transaction"].name, membership, "planted segments"
    from shopseg.runner import run_segmentation

    files = write_shop(shop, work / "shop")
    started = time.perf_counter()
    run_segmentation(
        work / "run",
        orders=files["orders"],
        customers=files["customers"],
        products=files["products"],
        reviews=files["reviews"],
        seed=args.seed,
        recommender=None,
        use_text=not args.no_text,
    )
    inputs = load_demand_inputs(work / "run")
    segments = inputs.lines.table["segment_id"].nunique()
    how = f"shopseg segment ({segments} segments, {time.perf_counter() - started:.0f} s)"
    return inputs.lines, inputs.model.name, inputs.membership, how


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--horizon-days", type=int, default=90)
    parser.add_argument("--shop", choices=("ongoing", "default"), default="ongoing")
    parser.add_argument("--segments", choices=("run", "truth"), default="run")
    parser.add_argument("--no-text", action="store_true", help="segment on behaviour only (faster)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="shopseg-demand-") as folder:
        lines, model, membership, how = segmented_lines(args, Path(folder))
        started = time.perf_counter()
        result = backtest_demand(lines, model, horizon_days=args.horizon_days, seed=args.seed, membership=membership)
        seconds = time.perf_counter() - started
    report = result.report
    console.print(
        f"{args.shop} shop, {args.customers:,} customers generated (seed {args.seed}), "
        f"{lines.table['customer_id'].nunique():,} with purchases; segments: {how}; transaction model {model}; "
        f"cut-off {report['cutoff']}, next {args.horizon_days} days: {report['actual_units']:,.0f} units bought, "
        f"{report['forecast_units']:,.0f} forecast; back-test {seconds:.1f} s"
    )
    metrics = result.metrics
    methods = list(dict.fromkeys(metrics["method"]))
    baselines = [m for m in methods if m == NAIVE or m.startswith("moving_average")]
    table = Table(title="WAPE (MASE) per level; ratio = shopseg WAPE / baseline WAPE")
    table.add_column("level")
    for method in methods:
        table.add_column(method, justify="right")
    for baseline in baselines:
        table.add_column(f"ratio vs {baseline}", justify="right")
    table.add_column("coverage", justify="right")
    indexed = metrics.set_index(["level", "method"])
    for level in LEVELS:
        cells = [f"{indexed.loc[(level, m), 'wape']:.3f} ({indexed.loc[(level, m), 'mase']:.2f})" for m in methods]
        ratios = [f"{result.ratio(level, 'shopseg', b):.3f}" for b in baselines]
        table.add_row(level, *cells, *ratios, f"{result.coverage[level]:.3f}")
    console.print(table)
    product = indexed.xs("product", level="level")["wape"]
    checks = {
        "product WAPE <= 0.8 x seasonal naive": product["shopseg"] <= 0.8 * product[NAIVE],
        "product WAPE below every moving average": all(
            product["shopseg"] < product[b] for b in baselines if b != NAIVE
        ),
        "coverage 0.85-0.95 at product level": 0.85 <= result.coverage["product"] <= 0.95,
        "coverage 0.85-0.95 at segment/product level": 0.85 <= result.coverage["segment/product"] <= 0.95,
    }
    for check, holds in checks.items():
        console.print(f"  {'HOLDS' if holds else 'NOT MET'}: {check}")
    choice = result.forecast.report["purchase_days"]["model_choice"]
    console.print(f"  demand's transaction model: {choice['chosen']} (rolling errors {choice['errors']})")
    calibration = result.forecast.report["purchase_days"]["calibration"]
    console.print(f"  calibration windows {calibration['windows']}, shop ratio {calibration['shop_ratio']:.3f}")
    placed = report["segments_from"]
    console.print(
        f"  segments: cut-off: {placed['cutoff']}; customers first seen after it: "
        f"{placed['customers_first_seen_after_the_cutoff']}; calibration windows: "
        f"{'; '.join(dict.fromkeys(placed['calibration_windows'].values()))}"
    )
    baskets = result.forecast.report["units_per_purchase_day_measured"]["by_segment"]
    console.print(
        "  units per purchase day (known customers / newcomers ahead; history): "
        + ", ".join(
            f"{g}: {b['known_customers']:.2f} / {b['newcomers']:.2f}; {b['history']:.2f}" for g, b in baskets.items()
        )
    )
    console.print(f"  seasonality: {result.forecast.report['seasonality']}")


if __name__ == "__main__":
    main()
