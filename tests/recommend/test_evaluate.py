"""Ranking metrics against a hand-computed example, the time split, and the evaluation table."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from shopseg.recommend import build_interactions, evaluate_recommenders, ranking_metrics, time_split
from shopseg.recommend.metrics import coverage, novelty
from shopseg.recommend.split import holdout_days


def test_metrics_on_a_hand_computed_example():
    # customer 0 bought products 1 and 3; customer 1 bought product 0; customer 2 bought 4 products
    relevant = sp.csr_matrix(
        np.array(
            [
                [0, 1, 0, 1, 0, 0],
                [1, 0, 0, 0, 0, 0],
                [1, 1, 1, 1, 0, 0],
            ]
        )
    )
    items = np.array(
        [
            [1, 2, 3],  # hits at ranks 1 and 3
            [2, 5, -1],  # no hit, one empty slot
            [4, 0, 1],  # hits at ranks 2 and 3; 4 relevant, k = 3
        ]
    )
    got = ranking_metrics(items, relevant)
    d1, d2, d3 = 1.0, 1 / math.log2(3), 1 / math.log2(4)
    np.testing.assert_allclose(got["recall"], [1.0, 0.0, 0.5])
    np.testing.assert_allclose(got["ndcg"], [(d1 + d3) / (d1 + d2), 0.0, (d2 + d3) / (d1 + d2 + d3)])
    # AP@3: (P@1 + P@3) / min(2, 3); customer 2: (P@2 + P@3) / min(4, 3)
    np.testing.assert_allclose(got["ap"], [(1 + 2 / 3) / 2, 0.0, (1 / 2 + 2 / 3) / 3])
    assert coverage(items, 10) == pytest.approx(6 / 10)  # products 0, 1, 2, 3, 4, 5
    buyers = np.array([4, 2, 1, 0, 8, 1])
    shown = items[items >= 0]
    expected = np.mean(-np.log2(np.maximum(buyers[shown], 1) / 8))
    assert novelty(items, buyers, 8) == pytest.approx(expected)


def lines(rows: list[tuple[str, str, str]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["customer_id", "product_id", "ts"])
    return frame.assign(order_id=frame["customer_id"] + frame["ts"], ts=pd.to_datetime(frame["ts"]), is_return=False)


def test_time_split_keeps_rows_and_cuts_every_signal():
    orders = lines([("A", "X", "2024-01-01"), ("A", "Y", "2024-03-20"), ("B", "X", "2024-03-25")])
    events = pd.DataFrame(
        {"customer_id": ["B"], "ts": pd.to_datetime(["2024-03-24"]), "event_type": ["view"], "product_id": ["Y"]}
    )
    data = build_interactions(orders, events=events)
    assert holdout_days(data) == pytest.approx(8.4)  # 10 % of 84 days, shorter than 30
    split = time_split(data, test_days=10)
    assert split.train.shape == data.shape
    assert split.train.purchases.nnz == 1 and split.train.signals.nnz == 0  # the view was after the cut
    assert split.test.nnz == 2
    assert list(split.warm_rows()) == [0] and list(split.cold_rows()) == [1]


def test_evaluation_table_counts_cold_customers_separately(small_generated):
    shop, segments = small_generated
    data = build_interactions(shop.orders, events=shop.events, reviews=shop.reviews, products=shop.products)
    evaluation = evaluate_recommenders(data, ["popular", "segment_popular", "item_knn"], segments=segments)
    table = evaluation.table
    assert list(table.index) == ["popular", "segment_popular", "item_knn"]
    split = evaluation.split
    assert table["customers"].eq(split["warm_customers"]).all()
    assert table["cold_customers"].eq(split["cold_customers"]).all()
    assert split["warm_customers"] + split["cold_customers"] == split["test_customers"] > 0
    assert table["ndcg@10"].between(0, 1).all() and table["coverage"].between(0, 1).all()
    assert table.loc["popular", "coverage"] < table.loc["item_knn", "coverage"]
    document = json.loads(json.dumps(evaluation.as_dict(), allow_nan=False))
    assert document["best_model"] in table.index and len(document["metrics"]) == 3
