"""MONIC transitions between two labelings of the same customers, and matching by segment profiles."""

from __future__ import annotations

import numpy as np
import pandas as pd

from shopseg.track.matching import (
    APPEAR,
    DISAPPEAR,
    MERGE,
    SPLIT,
    SURVIVE,
    MatchSettings,
    match_by_centroid,
    match_by_overlap,
)


def labels(groups: dict[int, int], start: int = 0) -> pd.Series:
    """{label: customers} as a Series over customer ids c0000, c0001, ..."""
    values = np.concatenate([np.full(n, label) for label, n in groups.items()])
    ids = [f"c{i:04d}" for i in range(start, start + len(values))]
    return pd.Series(values, index=pd.Index(ids, name="customer_id"))


def kinds(matching) -> dict[str, list]:
    found: dict[str, list] = {}
    for event in matching.events:
        found.setdefault(event["kind"], []).append((event["sources"], event["targets"]))
    return found


def test_survive_split_merge_appear_disappear() -> None:
    # earlier: 0 (100), 1 (100), 2 (60), 3 (40), 4 (50)
    earlier = labels({0: 100, 1: 100, 2: 60, 3: 40, 4: 50})
    later = earlier.copy()
    ids = earlier.index
    # 0 survives as later 5 (90%); 1 splits into later 6 and 7 (45% each); 2 and 3 merge into later 8;
    # 4 spreads thinly (18% to each of 5..8, 28% to 9) and disappears; later 9 appears
    for first, last, segment in [
        (0, 90, 5), (90, 100, 9), (100, 145, 6), (145, 190, 7), (190, 200, 9), (200, 300, 8),
        (300, 309, 5), (309, 318, 6), (318, 327, 7), (327, 336, 8), (336, 350, 9),
    ]:  # fmt: skip
        later[ids[first:last]] = segment
    matching = match_by_overlap(earlier, later, next_id=5)
    found = kinds(matching)
    assert found[SURVIVE] == [([0], [0])]
    assert found[MERGE] == [([2, 3], [2])]  # 2 gave the merged segment more customers than 3
    assert found[SPLIT] == [([1], [1, 5])]  # the larger part keeps the id, the other gets a new one
    assert found[DISAPPEAR] == [([4], [])]
    assert found[APPEAR] == [([], [6])]
    assert matching.tracked == {5: 0, 6: 1, 7: 5, 8: 2, 9: 6}
    assert matching.next_id(5) == 7


def test_thresholds_decide_between_survival_and_split() -> None:
    earlier = labels({0: 100})
    later = pd.Series(np.r_[np.full(60, 1), np.full(40, 2)], index=earlier.index)
    assert kinds(match_by_overlap(earlier, later, 1))[SURVIVE] == [([0], [0])]
    strict = match_by_overlap(earlier, later, 1, MatchSettings(match=0.7, split=0.3))
    assert kinds(strict)[SPLIT] == [([0], [0, 1])]


def test_only_customers_in_both_runs_count_and_unassigned_stays() -> None:
    earlier = labels({0: 50, 1: 50})
    later = labels({3: 50, 4: 30, -1: 20}, start=0)
    later = pd.concat([later, labels({4: 500}, start=100)])  # 500 new customers do not dilute the overlap
    matching = match_by_overlap(earlier, later, next_id=2)
    assert matching.tracked[3] == 0 and matching.tracked[4] == 1 and matching.tracked[-1] == -1


def test_centroid_matching_pairs_mutual_nearest_profiles() -> None:
    earlier = pd.DataFrame({"a": [0.0, 5.0, 10.0], "b": [0.0, 0.0, 0.0]}, index=[0, 1, 2])
    later = pd.DataFrame({"a": [9.5, 0.2, 30.0], "b": [0.1, 0.0, 0.0]}, index=[0, 1, 2])
    matching = match_by_centroid(earlier, later, next_id=3)
    assert matching.tracked == {0: 2, 1: 0, 2: 3}
    found = kinds(matching)
    assert sorted(found[SURVIVE]) == [([0], [0]), ([2], [2])]
    assert found[DISAPPEAR] == [([1], [])] and found[APPEAR] == [([], [3])]
