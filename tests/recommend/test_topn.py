"""The exact top-n of products not yet bought, from factor models' scores."""

from __future__ import annotations

import numpy as np

from shopseg.recommend import topn
from shopseg.recommend.topn import ranks, top_unbought


def test_bought_products_are_left_out_and_the_rest_come_best_first() -> None:
    rng = np.random.default_rng(0)
    customers, items = rng.normal(size=(5, 3)).astype(np.float32), rng.normal(size=(20, 3)).astype(np.float32)
    bought = [np.array([0, 3]), np.array([], dtype=np.int64), np.arange(18), np.arange(20), np.array([7])]
    rows, columns, scores = top_unbought(customers, bought, items, n=4)

    for row in range(5):
        expected = customers[row] @ items.T
        candidates = [c for c in np.argsort(-expected, kind="stable") if c not in set(bought[row])][:4]
        assert columns[rows == row].tolist() == candidates
        np.testing.assert_allclose(scores[rows == row], expected[candidates], rtol=1e-6)
    assert (rows == 2).sum() == 2  # only two products left unbought
    assert (rows == 3).sum() == 0  # bought everything


def test_equal_scores_are_broken_by_the_lower_product_column_and_batches_do_not_matter(monkeypatch) -> None:
    customers = np.ones((7, 2), dtype=np.float32)
    items = np.ones((6, 2), dtype=np.float32)  # every product scores the same
    bought = [np.array([1])] * 7
    rows, columns, _ = top_unbought(customers, bought, items, n=3)
    assert columns.reshape(7, 3).tolist() == [[0, 2, 3]] * 7
    monkeypatch.setattr(topn, "SCORE_ROWS", 2)  # several blocks inside one batch
    rows_small, columns_small, _ = top_unbought(customers, bought, items, n=3)
    assert rows_small.tolist() == rows.tolist() and columns_small.tolist() == columns.tolist()


def test_ranks_count_within_each_customer() -> None:
    assert ranks(np.array([0, 0, 0, 2, 2, 5])).tolist() == [1, 2, 3, 1, 2, 1]
    assert ranks(np.array([], dtype=np.int64)).tolist() == []
