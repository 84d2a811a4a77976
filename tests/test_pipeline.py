"""End to end through the library: run folders, determinism, saved models, real CDNOW data."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pandas as pd
import pytest

import shopseg
from shopseg import Segmenter, load_shop
from shopseg.export.outputs import OUTPUT_FILES
from shopseg.pipeline import MODEL_VERSION
from shopseg.runner import run_segmentation


def test_real_cdnow_master_end_to_end(cdnow_dir: Path, tmp_path: Path) -> None:
    result = run_segmentation(tmp_path / "run", orders=cdnow_dir / "CDNOW_master.txt", seed=0)
    record = json.loads((tmp_path / "run" / "run.json").read_text())
    assert record["rows"]["rows_read"] == 69_659
    assert record["customers_segmented"] == 23_570
    assert record["inputs"][0]["format"] == "cdnow"
    assert len(record["inputs"][0]["sha256"]) == 64
    assert set(record["timings_seconds"]) >= {"read", "features", "cluster", "value", "validity", "profile", "write"}
    # Value stage on real data: CLV etc. per customer, and segments scored on the holdout against RFM.
    validity = {row["grouping"]: row for row in record["value"]["predictive_validity"]}
    assert set(validity) == {"segments", "rfm_kmeans", "rfm_score_sum"}
    assert all(0 < row["eta2_holdout_churn"] < 1 for row in validity.values())
    segments = pd.read_parquet(tmp_path / "run" / "segments.parquet")
    assert len(segments) == 23_570 and segments["customer_id"].is_unique
    assert segments[["clv", "p_alive", "churn_risk", "high_value_prob"]].notna().all().all()
    names = {p.name for p in result.segmenter.profiles_}
    assert len(names) == result.segmenter.clusterer_.n_clusters_ >= 3
    # Every segment's name and size agree with the assignments.
    assert segments.groupby("segment_name").size().to_dict() == {p.name: p.size for p in result.segmenter.profiles_}


def test_run_folder_has_every_output_and_a_queryable_store(formats_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    run_segmentation(out, orders=formats_dir / "online_retail.csv", k=2, seed=1, min_segment_size=1)
    for name in OUTPUT_FILES:
        assert (out / name).exists(), name
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")], "temporary folder left behind"
    connection = duckdb.connect(str(out / "shopseg.duckdb"), read_only=True)
    tables = {row[0] for row in connection.execute("SHOW TABLES").fetchall()}
    assert {"orders", "customers", "products", "features", "segments", "profiles", "quarantine"} <= tables
    n_segmented = connection.execute('SELECT count(*) FROM "segments"').fetchone()[0]
    assert n_segmented == 6
    connection.close()
    profiles = json.loads((out / "profiles.json").read_text())
    assert sum(p["size"] for p in profiles) == 6 and len(profiles) == 2


def test_same_inputs_and_seed_give_identical_segments(formats_dir: Path, tmp_path: Path) -> None:
    inputs = {"orders": formats_dir / "customer_table.csv"}
    run_segmentation(tmp_path / "a", **inputs, seed=3)
    run_segmentation(tmp_path / "b", **inputs, seed=3)
    first = (tmp_path / "a" / "segments.parquet").read_bytes()
    assert first == (tmp_path / "b" / "segments.parquet").read_bytes()


def test_saved_model_assigns_without_refit(formats_dir: Path, tmp_path: Path) -> None:
    shop = load_shop(customers=formats_dir / "customer_table.csv")
    model = Segmenter(k=3, random_state=0, min_segment_size=1).fit(shop)
    assert model.clusterer_.n_clusters_ == 3
    model.save(tmp_path / "model")
    text = (tmp_path / "model" / "model.json").read_text()
    assert json.loads(text)["model_version"] == MODEL_VERSION  # JSON, not pickle
    loaded = Segmenter.load(tmp_path)
    predicted = loaded.predict(model.features_.frame)
    assert (predicted.to_numpy() == model.labels_).all()
    assert loaded.segment_names_ == model.segment_names_


def test_customer_table_segments_on_its_attributes(formats_dir: Path) -> None:
    shop = load_shop(customers=formats_dir / "customer_table.csv")
    model = Segmenter(random_state=0).fit(shop)
    assert {"age", "buy_frequency", "average_cost"} <= set(model.scaler_.columns_)
    assert len(model.assignments()) == 40


def test_unfitted_model_says_so() -> None:
    from shopseg.errors import ShopsegError

    with pytest.raises(ShopsegError, match="not fitted"):
        Segmenter().assignments()


def small_shop(customers: int) -> shopseg.Shop:
    """``customers`` customers with two orders each and different spends (no text)."""
    ids = [f"C{i}" for i in range(customers) for _ in range(2)]
    frame = pd.DataFrame(
        {
            "customer_id": ids,
            "order_id": [f"O{i}" for i in range(len(ids))],
            "ts": pd.date_range("2024-01-01", periods=len(ids), freq="7D"),
            "amount": [10.0 + 7 * i for i in range(len(ids))],
        }
    )
    frame["is_return"] = False
    return shopseg.Shop(orders=frame)


@pytest.mark.parametrize("k", [0, 1, -3, 2.5, True])
def test_the_library_refuses_fewer_than_two_segments(k: object) -> None:
    from shopseg.errors import ConfigError

    with pytest.raises(ConfigError, match="at least 2"):
        Segmenter(k=k, use_text=False).fit(small_shop(10))


def test_the_library_refuses_fewer_than_two_customers_per_segment() -> None:
    from shopseg.errors import ShopsegError

    with pytest.raises(ShopsegError, match="Only 7 customers to segment; --k 4 needs at least 8"):
        Segmenter(k=4, use_text=False, value=False).fit(small_shop(7))
    with pytest.raises(ShopsegError, match="needs at least 4"):
        Segmenter(use_text=False, value=False).fit(small_shop(3))


def test_automatic_k_never_asks_for_more_than_half_the_customers() -> None:
    model = Segmenter(use_text=False, value=False, stability_refits=0, min_segment_size=1).fit(small_shop(5))
    assert model.clusterer_.n_clusters_ == 2  # k = 3..10 cut to 2..2 for five customers
    assert min(pd.Series(model.labels_).value_counts()) >= 2
