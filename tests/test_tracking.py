"""Segments over time end to end: --as-of runs of a two-period shop, tracked with ``shopseg track``."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pandas as pd
import pytest

from shopseg.cli.app import run
from shopseg.generate import write_shop
from shopseg.generate.periods import PeriodPlan, generate_shop_periods
from shopseg.tracking import TRACK_FILES, track_runs

FAST = ["--no-text", "--no-recommend", "--stability-refits", "0", "--no-value", "--map-method", "none", "--k", "5"]


def shopseg(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: object) -> str:
    """Run ``shopseg ARGS`` in-process; fail on a non-zero exit; return what it printed."""
    capsys.readouterr()
    monkeypatch.setattr(sys, "argv", ["shopseg", *map(str, args)])
    with pytest.raises(SystemExit) as exit_:
        run()
    captured = capsys.readouterr()
    assert exit_.value.code == 0, captured.out + captured.err
    return captured.out


@pytest.fixture(scope="module")
def periods_shop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("shop")
    write_shop(generate_shop_periods(700, seed=3, plan=PeriodPlan(count=2, migrate=0.25)), folder)
    return folder


def inputs(shop: Path) -> list[object]:
    return ["--orders", shop / "orders.csv", "--products", shop / "products.csv", "--reviews", shop / "reviews.csv"]


def test_as_of_runs_tracked_across_two_periods(
    periods_shop: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    periods = pd.read_csv(periods_shop / "periods.csv")
    first, second = tmp_path / "first", tmp_path / "second"
    shopseg(
        monkeypatch, capsys, "segment", *inputs(periods_shop), *FAST, "--as-of", periods["as_of"][0], "--out", first
    )
    shopseg(
        monkeypatch, capsys, "segment", *inputs(periods_shop), *FAST, "--as-of", periods["as_of"][1], "--out", second
    )
    record = json.loads((first / "run.json").read_text())
    assert record["as_of"] == periods["as_of"][0] and record["reference_ts"].startswith(periods["end"][0])
    assert record["feature_window"]["days"] == 365
    assert any("dated later left out" in note for note in record["notes"])
    out = shopseg(monkeypatch, capsys, "track", first, second, "--out", tmp_path / "track")
    assert "changed segment" in out
    assert {p.name for p in (tmp_path / "track").iterdir()} >= set(TRACK_FILES)

    transitions = pd.read_csv(tmp_path / "track" / "transitions.csv")
    assert list(transitions.columns) == ["run_from", "run_to", "customer_id", "segment_from", "segment_to"]
    assert transitions["customer_id"].is_unique and len(transitions) == 700
    migration = pd.read_csv(tmp_path / "track" / "migration.csv")
    assert migration["customers"].sum() == 700
    assert {"segment_from", "name_from", "segment_to", "name_to", "customers", "revenue", "clv"} <= set(migration)
    # revenue is what the customers spent between the two dates: all of period 2
    orders = pd.read_csv(periods_shop / "orders.csv", parse_dates=["ts"]).drop_duplicates()  # as shopseg reads it
    in_period = orders[(orders["ts"] >= periods["end"][0]) & (orders["ts"] < periods["end"][1])]
    assert migration["revenue"].sum() == pytest.approx(in_period["amount"].sum(), rel=1e-6)

    drift = json.loads((tmp_path / "track" / "drift.json").read_text())
    step = drift["steps"][0]
    assert drift["thresholds"]["psi"] == {"moderate": 0.1, "shifted": 0.25, "bins": 10}
    assert {f["feature"] for f in step["features"]} >= {"frequency", "monetary_total", "recency_days"}
    assert all(f["verdict"] in ("stable", "moderate", "shifted") for f in step["features"])
    assert 0.5 <= step["embedding"]["auc"] <= 1.0
    summary = json.loads((tmp_path / "track" / "track.json").read_text())
    assert summary["matching"]["match"] == 0.5 and summary["steps"][0]["method"] == "overlap"
    kinds = {event["kind"] for event in summary["steps"][0]["events"]}
    assert kinds <= {"survive", "split", "merge", "appear", "disappear"} and "survive" in kinds
    page = (tmp_path / "track" / "track.html").read_text()
    assert "Sankey" in page or "sankey" in page
    # tracked ids follow the customers: planted stayers keep their id far more often than planted movers
    truth = pd.read_csv(periods_shop / "truth_periods.csv", dtype={"customer_id": str})
    planted = truth.pivot(index="customer_id", columns="period", values="segment")
    moved = planted.iloc[:, 0] != planted.iloc[:, -1]
    tracked = transitions.astype({"customer_id": str}).set_index("customer_id")
    kept = tracked["segment_from"] == tracked["segment_to"]
    stayers, movers = kept[~moved.reindex(kept.index)].mean(), kept[moved.reindex(kept.index)].mean()
    assert stayers > movers + 0.15, (stayers, movers)


def test_two_samples_of_one_period_show_no_feature_drift(tmp_path: Path) -> None:
    from shopseg.generate import generate_shop
    from shopseg.ingest import load_shop
    from shopseg.runner import segment_shop

    runs = []
    for seed in (1, 2):
        folder = tmp_path / f"shop{seed}"
        paths = write_shop(generate_shop(1200, seed=seed), folder)
        shop = load_shop(orders=paths["orders"], products=paths["products"])
        out = tmp_path / f"run{seed}"
        segment_shop(shop, out, k=5, use_text=False, recommender=None, stability_refits=0, value=False, map_method=None)
        runs.append(out)
    result = track_runs(runs, tmp_path / "track", embedding_drift=True)
    step = result.drift["steps"][0]
    assert step["psi_max"] < 0.1, step["features"][:3]
    assert step["embedding"]["auc"] < 0.6


def test_track_refuses_runs_out_of_order_and_single_runs(periods_shop: Path, tmp_path: Path) -> None:
    from shopseg.errors import ShopsegError

    with pytest.raises(ShopsegError, match="at least two"):
        track_runs([tmp_path], None)
    with pytest.raises(ShopsegError, match="not a shopseg run folder"):
        track_runs([tmp_path, tmp_path], None)
