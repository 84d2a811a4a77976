"""``shopseg update``: every customer placed on a saved run as of new data, drift measured, ids kept."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pandas as pd
import pytest

from shopseg.cli.app import run
from shopseg.errors import ShopsegError
from shopseg.generate import write_shop
from shopseg.generate.periods import PeriodPlan, generate_shop_periods
from shopseg.ingest import load_shop
from shopseg.update import update_run

FAST = ["--no-text", "--no-recommend", "--stability-refits", "0", "--map-method", "none", "--k", "5"]


@pytest.fixture(scope="module")
def first_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, pd.DataFrame]:
    """A two-period shop, its first period segmented (--as-of), and the second period's rows as new files."""
    folder = tmp_path_factory.mktemp("update")
    shop = folder / "shop"
    write_shop(generate_shop_periods(600, seed=5, plan=PeriodPlan(count=2)), shop)
    periods = pd.read_csv(shop / "periods.csv")
    new = folder / "new"
    new.mkdir()
    for table in ("orders", "reviews"):
        rows = pd.read_csv(shop / f"{table}.csv")
        rows[rows["ts"] >= periods["end"][0]].to_csv(new / f"{table}.csv", index=False)
    out = folder / "first"
    args = ["--orders", shop / "orders.csv", "--products", shop / "products.csv", "--reviews", shop / "reviews.csv"]
    sys_argv = ["shopseg", "segment", *map(str, args), *FAST, "--as-of", periods["as_of"][0], "--out", str(out)]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(sys, "argv", sys_argv)
        with pytest.raises(SystemExit) as exit_:
            run()
    assert exit_.value.code == 0
    return out, new, periods


def test_update_places_everybody_on_the_saved_model_and_writes_a_run(first_run, tmp_path: Path) -> None:
    out, new, periods = first_run
    result = update_run(out, load_shop(orders=new / "orders.csv", reviews=new / "reviews.csv"), tmp_path / "second")
    folder = tmp_path / "second"
    for name in ("segments.parquet", "features.parquet", "run.json", "model", "shopseg.duckdb", "transitions.csv"):
        assert (folder / name).exists(), name
    record = json.loads((folder / "run.json").read_text())
    update = record["update"]
    assert update["customers_placed"] == 600 and update["customers_new"] == 0
    assert record["reference_ts"].startswith(periods["end"][1])
    assert record["feature_window"]["days"] == 365  # the model's window, kept
    # the aging of a shop without new customers is drift: tenure shifts by a year, so the model is warm-started
    assert update["refitted"] and "tenure_days" in update["reason"]
    before = pd.read_parquet(out / "segments.parquet").set_index("customer_id")
    after = pd.read_parquet(folder / "segments.parquet").set_index("customer_id")
    names_before = dict(zip(before["segment_id"], before["segment_name"], strict=True))
    names_after = dict(zip(after["segment_id"], after["segment_name"], strict=True))
    assert all(names_after[k] == names_before[k] for k in names_after)  # ids and names kept
    transitions = pd.read_csv(folder / "transitions.csv").set_index("customer_id")
    assert (transitions["segment_to"] == after["segment_id"].reindex(transitions.index)).all()
    assert update["customers_changed_segment"] == int((transitions["segment_from"] != transitions["segment_to"]).sum())
    drift = json.loads((folder / "drift.json").read_text())
    assert drift["features"][0]["feature"] in ("tenure_days", "recency_days")
    # the updated run can be updated again (its store holds every row)
    assert len(pd.read_parquet(folder / "features.parquet")) == 600
    assert result.record["update"]["from_run"] == str(out)


def test_update_without_refit_keeps_the_centroids_and_sticky_placement_moves_fewer(first_run, tmp_path: Path) -> None:
    out, new, _ = first_run
    shop = load_shop(orders=new / "orders.csv", reviews=new / "reviews.csv")
    quiet = {"psi_threshold": 100, "auc_threshold": 1.0, "embedding_drift": False, "value": False}
    plain = update_run(out, shop, tmp_path / "plain", switch_margin=0.0, **quiet)
    assert not plain.record["update"]["refitted"]
    saved = json.loads((out / "model" / "clusterer.json").read_text())
    kept = json.loads((tmp_path / "plain" / "model" / "clusterer.json").read_text())
    assert saved["centroids"] == kept["centroids"]
    sticky = update_run(out, shop, tmp_path / "sticky", switch_margin=1.0, **quiet)
    moved = plain.record["update"]["customers_changed_segment"]
    assert sticky.record["update"]["customers_changed_segment"] < moved


def test_update_refuses_data_older_than_the_run(first_run, tmp_path: Path) -> None:
    out, new, _ = first_run
    shop = load_shop(orders=new / "orders.csv")
    with pytest.raises(ShopsegError, match="before the run's own date"):
        update_run(out, shop, tmp_path / "old", as_of="2022-01-01")
