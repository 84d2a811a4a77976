"""Demand for a saved run folder: read what the demand stage needs, run it (the CLI's and the API's entry).

A run folder holds everything the forecast needs: the segment of every customer
(segments.parquet, or all_segments.parquet for a sampled run), the order lines and the product
catalogue (shopseg.duckdb), and the value stage's fitted transaction model with its covariance
(value.json ``transaction_model``: enough to predict expected orders and their distribution
over any horizon; the calibration windows refit the same model on earlier data). Nothing new
needs saving in the run.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd

from shopseg import schema as s
from shopseg.demand import BacktestResult, DemandForecast, backtest_demand, check_horizon, forecast_demand
from shopseg.demand.lines import UnitLines, unit_lines
from shopseg.errors import ShopsegError
from shopseg.run_data import ALL_SEGMENTS, read_store_table
from shopseg.value.transaction import TransactionModel, model_from_dict


@dataclass
class DemandInputs:
    """A run's purchase lines (with segments and categories), its transaction model and segment names."""

    lines: UnitLines
    model: TransactionModel
    segment_names: dict[int, str]


def segment_labels(run_dir: Path) -> pd.DataFrame:
    """customer_id, segment_id, segment_name of every customer of the run (all_segments for a sampled run)."""
    columns = [s.CUSTOMER_ID, s.SEGMENT_ID, s.SEGMENT_NAME]
    everybody = run_dir / ALL_SEGMENTS
    if everybody.exists():
        files = str(everybody / "*.parquet") if everybody.is_dir() else str(everybody)
        connection = duckdb.connect()
        try:
            names = ", ".join(f'"{c}"' for c in columns)
            return connection.execute(f"SELECT {names} FROM read_parquet($files)", {"files": files}).df()
        finally:
            connection.close()
    return pd.read_parquet(run_dir / "segments.parquet", columns=columns)


def load_demand_inputs(run_dir: str | Path) -> DemandInputs:
    """Read a run folder for the demand stage (ShopsegError saying what is missing and how to get it)."""
    run_dir = Path(run_dir)
    if not (run_dir / "segments.parquet").exists():
        raise ShopsegError(
            f"{run_dir}: not a shopseg run folder (segments.parquet missing). Point --run to the --out folder of "
            "'shopseg segment' or 'shopseg demo'."
        )
    value_path = run_dir / "value.json"
    value = json.loads(value_path.read_text()) if value_path.exists() else {}
    if not value.get("available") or not value.get("transaction_model"):
        reason = " ".join(value.get("notes", [])) if value else "value.json is missing (run made with --no-value?)."
        raise ShopsegError(
            f"{run_dir}: the run has no fitted value model, which demand needs for each customer's expected orders. "
            f"{reason} Rerun 'shopseg segment' without --no-value on an order history of at least 90 days."
        )
    orders = read_store_table(run_dir, "orders")
    if orders is None:
        raise ShopsegError(f"{run_dir}: shopseg.duckdb with the run's orders is missing; rerun 'shopseg segment'.")
    products = read_store_table(run_dir, "products")
    categories = (
        products.set_index(s.PRODUCT_ID)[s.CATEGORY]
        if products is not None and s.CATEGORY in products.columns
        else None
    )
    labels = segment_labels(run_dir)
    names = dict(zip(labels[s.SEGMENT_ID].astype(int), labels[s.SEGMENT_NAME].astype(str), strict=True))
    lines = unit_lines(orders, labels.set_index(s.CUSTOMER_ID)[s.SEGMENT_ID], categories)
    return DemandInputs(lines=lines, model=model_from_dict(value["transaction_model"]), segment_names=names)


def run_demand(
    inputs: DemandInputs, horizon_days: object, *, backtest: bool = False, seed: int = 0
) -> tuple[DemandForecast, BacktestResult | None]:
    """The forecast from the run's last purchase day, and with ``backtest`` the back-test one horizon earlier.

    ``horizon_days`` is checked (:func:`~shopseg.demand.check_horizon`) against the history.
    """
    horizon = check_horizon(horizon_days, inputs.lines.history_days)
    forecast = forecast_demand(inputs.lines, inputs.model.name, horizon_days=horizon, model=inputs.model, seed=seed)
    forecast.report["segment_names"] = {str(k): v for k, v in inputs.segment_names.items()}
    result = None
    if backtest:
        result = backtest_demand(inputs.lines, inputs.model.name, horizon_days=horizon, seed=seed)
        forecast.report["backtest"] = result.report
    return forecast, result
