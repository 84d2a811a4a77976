"""Privacy guards: pseudonymised ids everywhere, no small segments published, noisy aggregates."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from shopseg.generate import generate_shop, write_shop
from shopseg.profile.privacy import add_laplace_noise, merge_small_segments
from shopseg.runner import run_segmentation


@pytest.fixture(scope="module")
def shop_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("shop")
    paths = write_shop(generate_shop(400, seed=3), folder)
    # A ragged line whose raw text (with its customer id) would otherwise reach quarantine.csv.
    with paths["orders"].open("a") as handle:
        handle.write("C000001,O9999999,2024-01-01 10:00:00\n")
    return paths


def test_pseudonymised_run_leaks_no_original_id(shop_files: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "run"
    run_segmentation(
        out,
        orders=shop_files["orders"],
        customers=shop_files["customers"],
        products=shop_files["products"],
        reviews=shop_files["reviews"],
        pseudonymise_key="secret-key",
        value=False,
    )
    originals = set(pd.read_csv(shop_files["customers"], dtype=str)["customer_id"])
    emails = set(pd.read_csv(shop_files["customers"], dtype=str)["email"])
    files = [p for p in out.rglob("*") if p.is_file() and p.suffix != ".duckdb"]
    assert {p.name for p in files} >= {"segments.csv", "segments.parquet", "profiles.json", "quarantine.csv"}
    for path in files:
        data = path.read_bytes().decode("utf-8", errors="ignore")
        if path.suffix == ".parquet":
            data = pd.read_parquet(path).to_csv()
        leaked = [i for i in originals | emails if i in data]
        assert not leaked, f"{path.name} holds {leaked[:3]}"
    connection = duckdb.connect(str(out / "shopseg.duckdb"), read_only=True)
    for (table,) in connection.execute("SHOW TABLES").fetchall():
        text = connection.execute(f'SELECT * FROM "{table}"').df().to_csv()
        assert not [i for i in originals | emails if i in text], table
    connection.close()
    segments = pd.read_parquet(out / "segments.parquet")
    assert segments["customer_id"].str.fullmatch(r"c_[0-9a-f]{16}").all()


def test_no_segment_below_the_minimum_size_is_published(shop_files: dict[str, Path], tmp_path: Path) -> None:
    result = run_segmentation(tmp_path / "run", orders=shop_files["orders"], k=10, min_segment_size=60, value=False)
    profiles = json.loads((tmp_path / "run" / "profiles.json").read_text())
    assert min(p["size"] for p in profiles) >= 60
    segments = pd.read_parquet(tmp_path / "run" / "segments.parquet")
    assert segments["segment_id"].value_counts().min() >= 60
    assert result.segmenter.clusterer_.n_clusters_ == 10 > len(profiles)
    # New customers land in published segments only.
    assert set(result.segmenter.predict(result.segmenter.features_.frame)) <= {p["segment_id"] for p in profiles}


def test_merge_small_segments_maps_to_nearest_large_segment() -> None:
    matrix = np.array([[0.0], [0.1], [0.2], [10.0], [10.1], [10.2], [10.3], [9.0]])
    labels = np.array([0, 0, 0, 1, 1, 1, 1, 2])
    merged = merge_small_segments(matrix, labels, min_size=2)
    assert merged.mapping == {1: 0, 2: 0, 0: 1}  # segment 2 (one customer at 9.0) joins segment 1; ids by size
    reason = "fewer than 2 customers (--min-segment-size 2)"
    assert merged.merges == [{"segment": 2, "size": 1, "into": 0, "distance": 1.15, "reason": reason}]
    assert merged.notes == [
        "found segment 2 (1 customers) merged into segment 0, the nearest larger one: "
        "fewer than 2 customers (--min-segment-size 2)"
    ]
    assert merge_small_segments(matrix, labels, min_size=1).merges == []


def test_laplace_noise_changes_aggregates_and_withholds_ids() -> None:
    features = pd.DataFrame({"spend": np.linspace(0, 100, 1000)})
    profiles = [
        {
            "size": 500,
            "share": 0.5,
            "means": {"spend": 25.0},
            "medians": {"spend": 25.0},
            "distinguishing": [],
            "representatives": ["a"],
        },
        {
            "size": 500,
            "share": 0.5,
            "means": {"spend": 75.0},
            "medians": {"spend": 75.0},
            "distinguishing": [],
            "representatives": ["b"],
        },
    ]
    noisy = add_laplace_noise(profiles, features, epsilon=0.5, random_state=1)
    assert [p["size"] for p in noisy] != [500, 500] or noisy[0]["means"] != profiles[0]["means"]
    assert all(p["representatives"] == [] for p in noisy)
    assert sum(p["share"] for p in noisy) == pytest.approx(1.0, abs=1e-5)
    assert abs(noisy[0]["means"]["spend"] - 25.0) < 5  # scale (99 - 1) / 500 / 0.5 ~ 0.4
