"""Choice of k: the documented rule on hand-made tables, and the table select_k builds."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest
from sklearn.cluster import KMeans

from shopseg.cluster.selection import (
    CRITERIA,
    SILHOUETTE_SE,
    Trial,
    choose_k,
    describe_rule,
    inertia,
    partition_scores,
    select_k,
)
from shopseg.errors import ShopsegError

MakeBlobs = Callable[..., tuple[np.ndarray, np.ndarray]]


def table(**columns: list[float]) -> pd.DataFrame:
    frame = pd.DataFrame({"k": [3, 4, 5, 6, 7]})
    for name in CRITERIA:
        frame[name] = columns.get(name, [np.nan] * 5)
    return frame


def test_silhouette_rule_takes_the_smallest_k_within_tolerance() -> None:
    scores = table(silhouette=[0.10, 0.150, 0.158, 0.160, 0.120])
    assert choose_k(scores, "silhouette", tolerance=0.0) == 6  # plain maximum
    assert choose_k(scores, "silhouette", tolerance=0.03) == 5  # 0.158 >= 0.97 * 0.160
    assert choose_k(scores, "silhouette", tolerance=0.07) == 4


def test_default_silhouette_rule_is_one_standard_error_of_the_best() -> None:
    scores = table(silhouette=[0.10, 0.150, 0.158, 0.160, 0.120])
    scores[SILHOUETTE_SE] = [0.003, 0.003, 0.003, 0.003, 0.003]
    assert choose_k(scores) == 5  # 0.158 >= 0.160 - 0.003; 0.150 is not
    scores[SILHOUETTE_SE] = [0.003, 0.003, 0.003, 0.001, 0.003]
    assert choose_k(scores) == 6  # the best k's own standard error decides: 0.158 < 0.159
    assert "one standard error" in describe_rule("silhouette", "1se")
    # Without a standard error in the table (an older table), 3% of the best instead.
    assert choose_k(scores.drop(columns=[SILHOUETTE_SE])) == 5
    assert "3%" in describe_rule("davies_bouldin", "1se")
    with pytest.raises(ShopsegError, match="Unknown tolerance"):
        choose_k(scores, tolerance="2se")


def test_other_criteria() -> None:
    scores = table(
        davies_bouldin=[2.0, 1.5, 1.2, 1.19, 1.6],
        calinski_harabasz=[300, 290, 250, 240, 230],
        bic=[-10, -30, -50, -45, -20],
        inertia=[1000, 600, 350, 320, 300],
    )
    assert choose_k(scores, "davies_bouldin", tolerance=0.0) == 6
    assert choose_k(scores, "davies_bouldin", tolerance=0.03) == 5
    assert choose_k(scores, "calinski_harabasz") == 3
    assert choose_k(scores, "bic") == 5
    assert choose_k(scores, "inertia") == 5  # the elbow
    assert "3%" in describe_rule("silhouette", 0.03) and "BIC" in describe_rule("bic", 0.03)


def test_unknown_or_unmeasured_criterion_is_an_error() -> None:
    with pytest.raises(ShopsegError, match="Unknown criterion"):
        choose_k(table(), "gap")
    with pytest.raises(ShopsegError, match="could not be measured"):
        choose_k(table(), "bic")


def test_inertia_matches_scikit_learn(make_blobs: MakeBlobs) -> None:
    matrix, _ = make_blobs()
    model = KMeans(4, n_init=2, random_state=0).fit(matrix)
    assert inertia(matrix, model.labels_) == pytest.approx(model.inertia_, rel=1e-6)


def test_scores_of_one_segment_are_undefined(make_blobs: MakeBlobs) -> None:
    matrix, _ = make_blobs()
    scores = partition_scores(matrix, np.zeros(len(matrix), dtype=int))
    assert np.isnan(scores["silhouette"]) and np.isnan(scores["davies_bouldin"])
    noise_only = partition_scores(matrix, np.full(len(matrix), -1))
    assert np.isnan(noise_only["inertia"])


def test_select_k_builds_one_row_per_k_on_a_sample(make_blobs: MakeBlobs) -> None:
    matrix, _ = make_blobs(n_per=100, centres=4)
    seen_rows = []

    def trial(sample: np.ndarray, k: int) -> Trial:
        seen_rows.append(len(sample))
        return Trial(labels=KMeans(k, n_init=2, random_state=0).fit_predict(sample))

    selection, rows = select_k(matrix, trial, [2, 3, 4, 5, 6], sample_size=200, silhouette_size=100)
    assert seen_rows == [200] * 5 and len(rows) == 200 and np.all(np.diff(rows) > 0)
    assert list(selection.table.columns) == ["k", *CRITERIA, SILHOUETTE_SE, "chosen"]
    assert (selection.table[SILHOUETTE_SE] > 0).all()
    assert selection.k == 4 and selection.table["chosen"].sum() == 1
    assert selection.table["bic"].isna().all()
    assert set(selection.scores()) == {2, 3, 4, 5, 6}
