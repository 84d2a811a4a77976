"""Benchmark of the value stage: published fits, holdout accuracy, planted segments, and speed vs lifetimes.

    python benchmarks/value.py [--quick] [--baseline-limit SECONDS]

(a) CDNOW_sample (2,357 customers, calibration 1997-01-01..1997-09-30, weeks): BG/NBD,
    MBG/NBD and Pareto/NBD against the published parameters and lifetimes' fitters.
(b) CDNOW_master (23,570 customers, same split, days): ``customer_value`` with the holdout
    from 1997-10-01: every candidate's holdout MAE and total error, the model chosen, the
    coverage of the 90% order intervals, and churn AUC / Brier of the model's P(no order),
    the classifier and the baselines.
(c) The generator's demo-size shop (5,000 customers, seed 0): median churn_risk of the planted
    ``vip_loyal`` (last order 1-30 days before the end) and ``lapsed_big_spenders`` customers.
(d) Fit time and holdout MAE, shopseg vs lifetimes (and pymc-marketing's MAP fit when it is
    installed), on CDNOW_master's calibration summary (23,570 customers) and on it replicated
    100 times (2,357,000 customers), each baseline in a subprocess killed after
    ``--baseline-limit`` seconds (default 300). Measured in the same run, so the ratios compare
    like with like.

``--quick`` skips the 2.3M row. The CDNOW files come from the ``lifetimes`` wheel's data folder.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from rich.console import Console
from rich.table import Table

from shopseg import load_shop
from shopseg.generate import generate_shop
from shopseg.value import TRANSACTION_MODELS, calibration_summary, customer_value

HOLDOUT_START = pd.Timestamp("1997-10-01")
CALIBRATION_END = HOLDOUT_START - pd.Timedelta(days=1)
HOLDOUT_DAYS = 273  # 39 weeks: 1997-10-01 .. 1998-06-30
console = Console(width=130)
PUBLISHED = {
    "bgnbd": {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426},
    "pareto_nbd": {"r": 0.5534, "alpha": 10.5781, "s": 0.6061, "beta": 11.6565},
}
LIFETIMES = {"bgnbd": "BetaGeoFitter", "mbgnbd": "ModifiedBetaGeoFitter", "pareto_nbd": "ParetoNBDFitter"}
PYMC = {"bgnbd": "BetaGeoModel", "mbgnbd": "ModifiedBetaGeoModel", "pareto_nbd": "ParetoNBDModel"}


def cdnow_folder() -> Path:
    spec = importlib.util.find_spec("lifetimes")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("The CDNOW data come with the 'lifetimes' wheel: pip install lifetimes")
    return Path(next(iter(spec.submodule_search_locations))) / "datasets"


def fmt(value: float | None, digits: int = 3) -> str:
    return "-" if value is None or (isinstance(value, float) and np.isnan(value)) else f"{value:.{digits}f}"


# --- (a) -------------------------------------------------------------------------------
def replication(folder: Path) -> None:
    summary = calibration_summary(
        load_shop(folder / "CDNOW_sample.txt").orders, calibration_end=CALIBRATION_END, time_unit_days=7
    )
    x, t_x, T = (summary[c].to_numpy(dtype="float64") for c in ("frequency", "recency", "T"))
    table = Table(title=f"(a) CDNOW_sample: {len(summary):,} customers, calibration to {CALIBRATION_END.date()}, weeks")
    for column in ("model", "parameter", "published", "shopseg", "std. error", "lifetimes"):
        table.add_column(column, justify="left" if column in ("model", "parameter") else "right")
    for name, cls in TRANSACTION_MODELS.items():
        model = cls().fit(x, t_x, T)
        theirs = _lifetimes_params(name, x, t_x, T)
        for parameter, value in model.params_.items():
            table.add_row(
                cls.label,
                parameter,
                fmt(PUBLISHED.get(name, {}).get(parameter), 4),
                f"{value:.4f}",
                f"{model.standard_errors_[parameter]:.4f}",
                fmt(theirs.get(parameter), 4),
            )
        table.add_row(cls.label, "log-likelihood", "", f"{model.log_likelihood_:.2f}", "", "")
    console.print(table)


def _lifetimes_params(name: str, x, t_x, T) -> dict[str, float]:
    try:
        import lifetimes

        return dict(getattr(lifetimes, LIFETIMES[name])().fit(x, t_x, T).params_)
    except Exception as error:  # lifetimes is unmaintained: it may not import on new numpy/pandas
        console.print(f"  lifetimes {LIFETIMES[name]} unavailable: {error}")
        return {}


# --- (b) -------------------------------------------------------------------------------
def master(folder: Path) -> pd.DataFrame:
    started = time.perf_counter()
    orders = load_shop(folder / "CDNOW_master.txt").orders
    read = time.perf_counter() - started
    started = time.perf_counter()
    result = customer_value(orders, holdout_start=HOLDOUT_START, holdout_days=HOLDOUT_DAYS, random_state=0)
    elapsed = time.perf_counter() - started
    report = result.report
    console.print(
        f"(b) CDNOW_master: {report['customers']:,} customers, calibration to {CALIBRATION_END.date()}, holdout "
        f"{report['calibration']['holdout_days']} days; read {read:.1f} s, customer_value {elapsed:.1f} s."
    )
    table = Table(title="(b) Transaction models on the 39-week holdout (fitted on the calibration period)")
    for column in ("model", "converged", "MAE / customer", "total error", "BIC", "fit s", "chosen"):
        table.add_column(column, justify="left" if column == "model" else "right")
    for row in report["model_selection"]["candidates"]:
        table.add_row(
            row["label"],
            str(row["converged"]),
            fmt(row.get("mae_per_customer"), 4),
            f"{100 * row['total_error']:+.1f} %" if row.get("total_error") is not None else "-",
            fmt(row.get("bic"), 1),
            fmt(row.get("fit_seconds"), 2),
            "<-" if row["chosen"] else "",
        )
    console.print(table)
    check = report["holdout_check"]
    console.print(
        f"  chosen {check['model']}: interval coverage of holdout orders {check['interval_coverage']:.3f} "
        f"(90% intervals); predicted {check['predicted_purchases']:,.0f} vs actual {check['actual_purchases']:,.0f}; "
        f"churn_risk from {report['churn']['source']} ({report['churn']['reason']})."
    )
    metrics = Table(
        title=f"(b) Holdout prediction on held-out customers (30 %), next {report['prediction_window_days']} days"
    )
    for column in ("target", "model", "AUC", "PR-AUC", "Brier", "prevalence"):
        metrics.add_column(column, justify="left" if column in ("target", "model") else "right")
    for row in report["holdout_metrics"]:
        metrics.add_row(
            row["target"], row["model"], fmt(row["auc"]), fmt(row["pr_auc"]), fmt(row["brier"]), fmt(row["prevalence"])
        )
    console.print(metrics)
    for warning in report["warnings"]:
        console.print(f"  warning: {warning}")
    dates = result.frame["next_order_date_estimate"]
    console.print(
        f"  next_order_date_estimate: {dates.notna().mean():.1%} of customers have one (all within "
        f"{report['horizon_days']} days of {report['history']['last_day'][:10]}); latest {dates.max().date()}."
    )
    return orders


# --- (c) -------------------------------------------------------------------------------
def planted() -> None:
    shop = generate_shop(5000, seed=0)
    started = time.perf_counter()
    result = customer_value(shop.orders, random_state=0)
    elapsed = time.perf_counter() - started
    truth = shop.truth.set_index("customer_id")["segment"]
    frame = result.frame.join(truth)
    table = Table(title=f"(c) Generator demo shop (5,000 customers, seed 0): customer_value {elapsed:.1f} s")
    for column in ("planted segment", "customers", "median churn_risk", "median p_alive", "median CLV"):
        table.add_column(column, justify="left" if column == "planted segment" else "right")
    for segment, rows in frame.groupby("segment"):
        table.add_row(
            str(segment),
            f"{len(rows):,}",
            f"{rows['churn_risk'].median():.3f}",
            f"{rows['p_alive'].median():.3f}",
            f"{rows['clv'].median():,.2f}",
        )
    console.print(table)
    console.print(
        f"  model {result.report['transaction_model']['label']}, churn_risk from {result.report['churn']['source']}."
    )


# --- (d) -------------------------------------------------------------------------------
BASELINE = """
import json, sys, time, numpy as np
data = np.load(sys.argv[1])
x, t_x, T, actual = data["x"], data["t_x"], data["T"], data["actual"]
library, name = sys.argv[2], sys.argv[3]
started = time.perf_counter()
if library == "lifetimes":
    import lifetimes
    fitter = getattr(lifetimes, name)().fit(x, t_x, T)
    seconds = time.perf_counter() - started
    predicted = fitter.conditional_expected_number_of_purchases_up_to_time(float(sys.argv[4]), x, t_x, T)
else:
    import pandas as pd
    from pymc_marketing import clv
    frame = pd.DataFrame({"customer_id": np.arange(len(x)), "frequency": x, "recency": t_x, "T": T})
    model = getattr(clv, name)(data=frame)
    model.fit(method="map")
    seconds = time.perf_counter() - started
    predicted = np.asarray(model.expected_purchases(future_t=float(sys.argv[4])).mean(("chain", "draw")))
print(json.dumps({"seconds": seconds, "mae": float(np.mean(np.abs(np.asarray(predicted) - actual)))}))
"""


def _baseline(library: str, name: str, arrays: Path, window: float, limit: float) -> dict[str, object]:
    try:
        run = subprocess.run(
            [sys.executable, "-c", BASELINE, str(arrays), library, name, str(window)],
            capture_output=True,
            text=True,
            timeout=limit,
        )
    except subprocess.TimeoutExpired:
        return {"seconds": None, "note": f"> {limit:.0f} s (stopped)"}
    if run.returncode != 0:
        return {"seconds": None, "note": run.stderr.strip().splitlines()[-1][:60] if run.stderr.strip() else "failed"}
    return json.loads(run.stdout.strip().splitlines()[-1])


def speed(orders: pd.DataFrame, quick: bool, limit: float, scratch: Path) -> None:
    summary = calibration_summary(orders, calibration_end=CALIBRATION_END, holdout_days=HOLDOUT_DAYS)
    base = {c: summary[c].to_numpy(dtype="float64") for c in ("frequency", "recency", "T", "frequency_holdout")}
    pymc = importlib.util.find_spec("pymc_marketing") is not None
    table = Table(
        title=f"(d) Fit time (s) and holdout MAE, calibration summaries in days; baselines stopped at {limit:.0f} s"
    )
    for column in (
        "customers",
        "model",
        "shopseg s",
        "shopseg MAE",
        "lifetimes s",
        "lifetimes MAE",
        "ratio",
        "pymc-marketing MAP s",
        "pymc MAE",
    ):
        table.add_column(column, justify="left" if column == "model" else "right")
    for copies in (1,) if quick else (1, 100):
        x, t_x, T, actual = (np.tile(base[c], copies) for c in ("frequency", "recency", "T", "frequency_holdout"))
        arrays = scratch / f"summary-{copies}.npz"
        np.savez(arrays, x=x, t_x=t_x, T=T, actual=actual)
        for name, cls in TRANSACTION_MODELS.items():
            started = time.perf_counter()
            model = cls().fit(x, t_x, T)
            ours = time.perf_counter() - started
            mae = float(np.mean(np.abs(model.conditional_expected_purchases(float(HOLDOUT_DAYS), x, t_x, T) - actual)))
            theirs = _baseline("lifetimes", LIFETIMES[name], arrays, HOLDOUT_DAYS, limit)
            bayes = _baseline("pymc", PYMC[name], arrays, HOLDOUT_DAYS, limit) if pymc else {"note": "not installed"}
            ratio = f"{theirs['seconds'] / ours:.1f}x" if theirs.get("seconds") else "-"
            table.add_row(
                f"{len(x):,}",
                cls.label,
                f"{ours:.2f}",
                f"{mae:.4f}",
                fmt(theirs.get("seconds"), 2) if theirs.get("seconds") else str(theirs.get("note")),
                fmt(theirs.get("mae"), 4),
                ratio,
                fmt(bayes.get("seconds"), 2) if bayes.get("seconds") else str(bayes.get("note")),
                fmt(bayes.get("mae"), 4),
            )
            console.print(f"  ... {cls.label} at {len(x):,}: shopseg {ours:.2f} s, lifetimes {theirs}")
    console.print(table)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="skip the 2.3M-customer row")
    parser.add_argument("--baseline-limit", type=float, default=300.0, help="seconds before a baseline is stopped")
    parser.add_argument("--scratch", type=Path, default=Path("/tmp/shopseg-value-benchmark"))
    args = parser.parse_args()
    args.scratch.mkdir(parents=True, exist_ok=True)
    folder = cdnow_folder()
    started = time.perf_counter()
    replication(folder)
    orders = master(folder)
    planted()
    speed(orders, args.quick, args.baseline_limit, args.scratch)
    console.print(f"Total {time.perf_counter() - started:.0f} s.")


if __name__ == "__main__":
    main()
