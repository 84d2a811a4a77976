"""``shopseg demand`` from the command line: bad horizons exit 2 before any work; one run end to end."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from shopseg.demand_run import RunPlacer

Cli = Callable[..., tuple[int, str, str]]


@pytest.mark.parametrize(
    ("horizon", "message"),
    [
        ("0", "at least 1 day"),
        ("-30", "at least 1 day"),
        ("2.5", "whole number"),
        ("lots", "whole number"),
        ("100000", "at most 730 days"),
    ],
)
def test_bad_horizons_exit_2_with_a_message_before_reading_the_run(
    cli: Cli, tmp_path: Path, horizon: str, message: str
) -> None:
    code, out, err = cli("demand", "--run", tmp_path / "nowhere", "--horizon-days", horizon, "--out", tmp_path / "d")
    assert code == 2
    assert message in " ".join((out + err).split())
    assert not (tmp_path / "d").exists()


def test_a_folder_that_is_not_a_run_exits_2(cli: Cli, tmp_path: Path) -> None:
    code, out, err = cli("demand", "--run", tmp_path, "--horizon-days", "30", "--out", tmp_path / "d")
    assert code == 2
    assert "not a shopseg run folder" in " ".join((out + err).split())


@pytest.mark.slow
def test_generate_segment_demand_end_to_end(cli: Cli, tmp_path: Path) -> None:
    shop, run_dir, out = tmp_path / "shop", tmp_path / "run", tmp_path / "demand"
    assert cli("generate", "--customers", "600", "--seed", "3", "--out", shop)[0] == 0
    code, _, err = cli(
        "segment", "--orders", shop / "orders.csv", "--products", shop / "products.csv", "--no-text",
        "--no-recommend", "--k", "4", "--min-segment-size", "20", "--out", run_dir,
    )  # fmt: skip
    assert code == 0, err
    code, printed, err = cli("demand", "--run", run_dir, "--horizon-days", "60", "--out", out, "--backtest")
    assert code == 0, err
    assert "Back-test" in printed and "units expected" in " ".join(printed.split())
    table = pd.read_parquet(out / "demand.parquet")
    assert list(table.columns[:5]) == ["segment_id", "product_id", "expected_units", "p05", "p95"]
    assert (table["p05"] <= table["expected_units"]).all() and (table["p05"] <= table["p95"]).all()
    some = table["expected_units"] >= 1  # below one unit the 90% bound can be 0 (most outcomes sell nothing)
    assert (table.loc[some, "expected_units"] <= table.loc[some, "p95"]).all()
    assert pd.read_csv(out / "demand.csv")["expected_units"].sum() == pytest.approx(table["expected_units"].sum())
    segments = pd.read_parquet(run_dir / "segments.parquet")
    assert set(table["segment_id"]) <= set(segments["segment_id"])
    report = json.loads((out / "demand.json").read_text())
    assert report["horizon_days"] == 60 and report["backtest"]["cutoff"]
    assert report["expected_units_total"] == pytest.approx(table["expected_units"].sum())
    levels = pd.read_csv(out / "demand_levels.csv")
    assert set(levels["level"]) >= {"total", "segment", "product", "segment/product"}
    assert "Demand per segment" in (out / "demand.html").read_text()
    cutoff = report["backtest"]["cutoff"]
    assert report["backtest"]["segments_from"]["cutoff"] == f"placed on the run's model as of {cutoff}"
    windows = report["purchase_days"]["calibration"]["segments"]
    assert windows and all(said == f"placed on the run's model as of {day}" for day, said in windows.items())
    assert report["segments_as_of"].startswith("the run's segments (as of")  # the forecast from the run's own day
    assert "placed on the run's model as of the window's start" in " ".join(printed.split())
    placer = RunPlacer(run_dir)  # the run's model placing the shop as of a day
    labels = segments.set_index("customer_id")["segment_id"]
    again = placer(pd.Timestamp(report["as_of"]))  # as of the run's own day: the run's segments
    assert (again.reindex(labels.index.astype(str)) == labels.to_numpy()).mean() > 0.98
    orders = pd.read_csv(shop / "orders.csv", parse_dates=["ts"])
    first = orders.groupby(orders["customer_id"].astype(str))["ts"].min().dt.normalize()
    early = placer(pd.Timestamp(cutoff))
    assert set(early.index) == set(first.index[first <= pd.Timestamp(cutoff)]) & set(again.index)
    history = report["purchase_days"]["as_of"]
    code, out_text, err = cli("demand", "--run", run_dir, "--horizon-days", "700", "--out", tmp_path / "long")
    assert code == 2 and "longer than the order history supports" in " ".join((out_text + err).split()), history
    assert not (tmp_path / "long").exists()
