"""Demand for a saved run folder: read what the demand stage needs, run it (the CLI's and the API's entry).

A run folder holds everything the forecast needs: the segment of every customer
(segments.parquet, or all_segments.parquet for a sampled run), the order lines and the product
catalogue (shopseg.duckdb), and the value stage's fitted transaction model with its covariance
(value.json ``transaction_model``: enough to predict expected orders and their distribution
over any horizon; the calibration windows refit the same model on earlier data), and the
fitted segmentation model (model/) with the input tables in the store: whenever demand looks
at a window that starts before the run's last day, customers are placed on that model as of
the window's start (:class:`RunPlacer`, see :mod:`shopseg.demand.membership`), never given
the segments the whole history put them in. Nothing new needs saving in the run.
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
from shopseg.demand.membership import Membership
from shopseg.errors import ShopsegError
from shopseg.run_data import ALL_SEGMENTS, read_store_table
from shopseg.value.transaction import TransactionModel, model_from_dict

STORE = "shopseg.duckdb"


@dataclass
class DemandInputs:
    """A run's purchase lines (with segments and categories), its transaction model, segment names and
    ``membership``: each customer's segment as of a day (placed on the run's model)."""

    lines: UnitLines
    model: TransactionModel
    segment_names: dict[int, str]
    membership: Membership


class RunPlacer:
    """Segment per customer as of the end of a day, from a run's saved model (no refit); loaded on first use.

    The run's input tables (its store) are cut at the next midnight
    (:func:`~shopseg.features.window.cut_at`) and placed with ``Segmenter.predict`` as of that
    time: features with the model's share priors and activity window, text vectors through the
    embedding cache with the model's encoder (loaded once). The model and the store are read
    once, whatever the number of days.
    """

    def __init__(self, run_dir: Path) -> None:
        self.run_dir = run_dir
        self._model = None
        self._shop = None

    def _load(self):
        """The model and the input tables (ShopsegError when either cannot be read)."""
        if self._model is None:
            from shopseg.pipeline import Segmenter
            from shopseg.store import read_store_shop

            try:
                self._shop = read_store_shop(self.run_dir / STORE)
                self._model = Segmenter.load(self.run_dir)
            except (OSError, ValueError, KeyError, duckdb.Error) as error:
                raise ShopsegError(f"{self.run_dir}: the saved model or store could not be read ({error})") from error
        return self._model, self._shop

    def __call__(self, day: pd.Timestamp) -> pd.Series:
        from shopseg.features.window import as_of_reference, cut_at

        model, shop = self._load()
        reference = as_of_reference(day)
        label = str(pd.Timestamp(day).date())
        return model.predict(cut_at(shop, reference, label), reference_ts=reference)


def run_membership(run_dir: Path, labels: pd.DataFrame, last_day: pd.Timestamp) -> Membership:
    """Each customer's segment as of a day: the run's labels on the run's own day, placed on its model otherwise.

    Falls back to the run's labels for every day (with the reason, for demand.json and the
    screen) when the folder has no loadable model or no store: the run's final segments then
    stand in for earlier windows too.
    """
    from shopseg.assign import saved_reference_ts

    series = labels.set_index(s.CUSTOMER_ID)[s.SEGMENT_ID]
    try:
        reference = saved_reference_ts(run_dir)
    except ShopsegError:
        return Membership.fixed(series, f"{run_dir} has no saved model (model/model.json)")
    if not (run_dir / STORE).is_file():
        return Membership.fixed(series, f"{run_dir} has no {STORE} with the input tables to place customers")
    labels_day = reference - pd.Timedelta(days=1) if reference is not None else last_day
    return Membership(series, labels_day, RunPlacer(run_dir))


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
    return DemandInputs(
        lines=lines,
        model=model_from_dict(value["transaction_model"]),
        segment_names=names,
        membership=run_membership(run_dir, labels, lines.last_day),
    )


def run_demand(
    inputs: DemandInputs, horizon_days: object, *, backtest: bool = False, seed: int = 0
) -> tuple[DemandForecast, BacktestResult | None]:
    """The forecast from the run's last purchase day, and with ``backtest`` the back-test one horizon earlier.

    ``horizon_days`` is checked (:func:`~shopseg.demand.check_horizon`) against the history.
    """
    horizon = check_horizon(horizon_days, inputs.lines.history_days)
    membership = inputs.membership
    forecast = forecast_demand(
        inputs.lines, inputs.model.name, horizon_days=horizon, model=inputs.model, seed=seed, membership=membership
    )
    forecast.report["segment_names"] = {str(k): v for k, v in inputs.segment_names.items()}
    result = None
    if backtest:
        result = backtest_demand(
            inputs.lines, inputs.model.name, horizon_days=horizon, seed=seed, membership=membership
        )
        forecast.report["backtest"] = result.report
    return forecast, result
