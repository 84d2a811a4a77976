"""``shopseg value`` through a throwaway Typer app (the lead registers it in cli/app.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import typer
from typer.testing import CliRunner

from shopseg import schema as s
from shopseg.cli.value_command import VALUE_FILES, value
from shopseg.errors import ShopsegError
from shopseg.export.run_folder import MANIFEST
from shopseg.value import HOLDOUT_COLUMNS, value_columns
from shopseg.value.simulate import simulate_orders


def app() -> typer.Typer:
    application = typer.Typer()
    application.command()(value)
    application.command("noop")(lambda: None)  # two commands, so 'value' is a subcommand as in shopseg
    return application


def write_orders(path: Path, customers: int, history_days: int) -> Path:
    orders = simulate_orders(customers, seed=2, history_days=history_days)
    orders[[s.CUSTOMER_ID, s.ORDER_ID, s.TS, s.AMOUNT]].to_csv(path, index=False)
    return path


def test_value_writes_parquet_and_json_and_prints_tables(tmp_path: Path) -> None:
    orders = write_orders(tmp_path / "orders.csv", 300, 400)
    out = tmp_path / "out"
    result = CliRunner().invoke(
        app(), ["value", "--orders", str(orders), "--out", str(out), "--holdout-days", "120", "--horizon-days", "180"]
    )
    assert result.exit_code == 0, result.output
    assert "Fitted models (whole history" in result.output and "Holdout metrics" in result.output
    # the holdout check is printed beside the parameters of the calibration fit it checks, not the whole history's
    assert "Holdout check:" in result.output and "fitted on the calibration period" in result.output
    assert "compared on the holdout" in result.output and "churn_risk:" in result.output
    assert sorted(p.name for p in out.iterdir() if p.name != MANIFEST) == sorted(VALUE_FILES)
    frame = pd.read_parquet(out / "value.parquet")
    assert list(frame.columns) == ["customer_id", *value_columns(180)]
    assert len(frame) == 300 and frame.drop(columns="next_order_date_estimate").notna().all().all()
    report = json.loads((out / "value.json").read_text())
    assert report["calibration"]["holdout_days"] == 120 and report["horizon_days"] == 180
    holdout = pd.read_csv(out / "holdout.csv")
    assert list(holdout.columns) == list(HOLDOUT_COLUMNS)
    assert (holdout["orders_p05"] <= holdout["orders_p95"]).all() and holdout["p_no_orders"].between(0, 1).all()
    assert holdout["actual_orders"].sum() == report["holdout_check"]["actual_purchases"]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")], "temporary folder left behind"


def test_short_history_is_a_clear_user_error(tmp_path: Path) -> None:
    orders = write_orders(tmp_path / "orders.csv", 50, 60)
    result = CliRunner().invoke(app(), ["value", "--orders", str(orders), "--out", str(tmp_path / "out")])
    assert isinstance(result.exception, ShopsegError)
    assert "needs at least 90 days" in str(result.exception)
    assert not (tmp_path / "out" / "value.parquet").exists()
