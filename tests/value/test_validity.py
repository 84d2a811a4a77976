"""Eta squared and RFM quintile scoring."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from shopseg.value.validity import eta_squared, ntile, predictive_validity, rfm_groups, rfm_scores


def test_eta_squared_by_hand() -> None:
    values = [1.0, 3.0, 10.0, 12.0]
    # grand mean 6.5; SS_total = 30.25 + 12.25 + 12.25 + 30.25 = 85; SS_between = 2 * 20.25 * 2 = 81
    assert eta_squared(values, ["a", "a", "b", "b"]) == pytest.approx(81 / 85)
    assert eta_squared(values, [0, 1, 2, 3]) == pytest.approx(1.0)
    assert eta_squared(values, [0, 0, 0, 0]) == 0.0
    assert eta_squared([5.0, 5.0, 5.0], [0, 1, 2]) == 0.0  # constant outcome: defined as 0


def test_ntile_is_balanced_and_deterministic_with_ties() -> None:
    values = pd.Series([1.0] * 7 + [2.0, 3.0, 4.0], index=[f"c{i}" for i in range(10)])
    tiles = ntile(values, 5)
    assert sorted(tiles.value_counts().tolist()) == [2, 2, 2, 2, 2]
    assert tiles.equals(ntile(values.sample(frac=1.0, random_state=1), 5).reindex(values.index))


def test_rfm_scores_and_groups() -> None:
    rng = np.random.default_rng(0)
    rfm = pd.DataFrame(
        {
            "recency_days": rng.uniform(0, 300, 100),
            "frequency": rng.integers(1, 9, 100),
            "monetary_total": rng.gamma(2, 50, 100),
        },
        index=[f"c{i:03d}" for i in range(100)],
    )
    scores = rfm_scores(rfm)
    assert scores.min().min() == 1 and scores.max().max() == 5
    most_recent = rfm["recency_days"].idxmin()
    assert scores.loc[most_recent, "r_score"] == 5
    assert rfm_groups(rfm, 4, method="kmeans").nunique() == 4
    assert rfm_groups(rfm, 4, method="sum").nunique() == 4


def test_predictive_validity_rewards_labels_that_separate_the_future() -> None:
    rng = np.random.default_rng(1)
    n = 400
    index = [f"c{i:03d}" for i in range(n)]
    truth = rng.integers(0, 4, n)
    outcomes = pd.DataFrame(
        {
            "recency_days": rng.uniform(0, 300, n),
            "frequency": rng.integers(1, 9, n),
            "monetary_total": rng.gamma(2, 50, n),
            "spend_holdout": truth * 100.0 + rng.normal(0, 5, n),
            "churn": truth == 0,
        },
        index=index,
    )
    table = predictive_validity(pd.Series(truth, index=index), outcomes)
    assert list(table.index) == ["segments", "rfm_kmeans", "rfm_score_sum"]
    assert (table["groups"] == 4).all()
    assert table.loc["segments", "eta2_holdout_spend"] > 0.95
    assert table.loc["segments", "eta2_holdout_churn"] == pytest.approx(1.0)
    assert table.loc["rfm_kmeans", "eta2_holdout_spend"] < 0.1  # RFM here is noise
