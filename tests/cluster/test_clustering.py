"""Scaling and K-Means: robust to outliers, deterministic, k chosen from the data."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from shopseg.cluster import AutoKMeans, BlockScaler, RobustLogScaler


def blobs(n_per: int = 200, centers: int = 4, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    means = np.array([[0, 0], [8, 0], [0, 8], [8, 8], [4, 16]])[:centers]
    return np.vstack([rng.normal(m, 0.6, size=(n_per, 2)) for m in means])


def test_scaler_logs_heavy_tails_drops_constants_and_round_trips() -> None:
    rng = np.random.default_rng(1)
    frame = pd.DataFrame(
        {"spend": rng.lognormal(3, 1.5, 1000), "share": rng.uniform(0, 1, 1000), "constant": np.ones(1000)}
    )
    scaler = RobustLogScaler().fit(frame)
    assert scaler.columns_ == ["spend", "share"]
    assert scaler.log_ == [True, False]
    matrix = scaler.transform(frame)
    assert matrix.shape == (1000, 2)
    assert np.abs(matrix).max() <= scaler.clip
    assert np.median(matrix[:, 0]) == pytest.approx(0, abs=1e-9)
    again = RobustLogScaler.from_dict(scaler.to_dict()).transform(frame)
    np.testing.assert_array_equal(matrix, again)


def test_block_scaler_shrinks_habit_shares_of_customers_with_few_orders() -> None:
    frame = pd.DataFrame(
        {
            "frequency": [1.0, 1.0, 20.0, 20.0],
            "hour_share_night": [1.0, 0.0, 1.0, 0.0],
            "hour_share_day": [0.0, 1.0, 0.0, 1.0],
        }
    )
    blocks = {"behaviour": ["frequency"], "habits": ["hour_share_night", "hour_share_day"]}
    scaler = BlockScaler(blocks=blocks).fit(frame)
    habits = scaler.transform(frame)[:, 1:]
    one_order, many_orders = np.abs(habits[0]).sum(), np.abs(habits[2]).sum()
    assert one_order == pytest.approx(many_orders * (1 / 3) / (20 / 22))  # 1/(1+2) against 20/(20+2)
    again = BlockScaler.from_dict(json.loads(json.dumps(scaler.to_dict()))).transform(frame)
    np.testing.assert_array_equal(scaler.transform(frame), again)
    # a scaler saved before the shrinkage existed loads and transforms as it did then
    old = scaler.to_dict()
    del old["share_shrinkage"], old["evidence_column"]
    unshrunk = BlockScaler.from_dict(old).transform(frame)[:, 1:]
    assert np.abs(unshrunk[0]).sum() == pytest.approx(np.abs(unshrunk[2]).sum())
    plain = BlockScaler(blocks=blocks, share_shrinkage={}).fit(frame).transform(frame)[:, 1:]
    assert np.abs(plain[0]).sum() == pytest.approx(np.abs(plain[2]).sum())


def test_auto_k_finds_planted_clusters() -> None:
    model = AutoKMeans(random_state=0).fit(blobs(centers=4))
    assert model.n_clusters_ == 4
    assert set(model.scores_) == set(range(3, 11))
    # Segment 0 is the largest; all are equal here, so sizes are 200 each.
    assert np.bincount(model.labels_).tolist() == [200, 200, 200, 200]


def test_same_seed_same_labels() -> None:
    data = blobs(centers=5, seed=3)
    first = AutoKMeans(random_state=7).fit(data).labels_
    second = AutoKMeans(random_state=7).fit(data).labels_
    np.testing.assert_array_equal(first, second)


def test_fixed_k_and_predict_matches_labels() -> None:
    data = blobs(centers=3)
    model = AutoKMeans(k=3, random_state=0).fit(data)
    assert model.n_clusters_ == 3 and model.scores_ == {}
    np.testing.assert_array_equal(model.predict(data), model.labels_)


def test_degenerate_inputs_give_one_segment() -> None:
    identical = np.ones((50, 3))
    model = AutoKMeans().fit(identical)
    assert model.n_clusters_ == 1 and set(model.labels_) == {0}
    one = AutoKMeans().fit(np.array([[1.0, 2.0]]))
    assert model.notes_ and one.n_clusters_ == 1


def test_k_larger_than_distinct_customers_is_capped() -> None:
    data = np.array([[0.0], [0.0], [1.0], [1.0], [5.0]])
    model = AutoKMeans(k=4).fit(data)
    assert model.n_clusters_ == 3
    assert any("distinct" in note for note in model.notes_)
