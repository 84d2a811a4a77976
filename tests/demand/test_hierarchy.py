"""The hierarchy's summing matrix, and MinT-WLS reconciliation against the closed form."""

from __future__ import annotations

import numpy as np

from shopseg.demand.hierarchy import BOTTOM, LEVELS, build_hierarchy, reconcile_wls


def small():
    return build_hierarchy(np.array([0, 1, 2]), np.array(["a", "b", "c", "d"], dtype=object),
                           np.array(["x", "y"], dtype=object), np.array([0, 0, 1, 1]))  # fmt: skip


def test_every_level_is_a_sum_of_bottom_series() -> None:
    hierarchy = small()
    counts = hierarchy.nodes["level"].value_counts()
    assert [counts[level] for level in LEVELS] == [1, 3, 2, 4, 6, 12]
    bottom = np.arange(12, dtype=float).reshape(3, 4)
    values = hierarchy.aggregate(bottom)
    nodes = hierarchy.nodes.assign(value=values)
    assert values[0] == bottom.sum()
    assert np.allclose(nodes.loc[nodes["level"] == "segment", "value"], bottom.sum(axis=1))
    assert np.allclose(nodes.loc[nodes["level"] == "product", "value"], bottom.sum(axis=0))
    assert np.allclose(nodes.loc[nodes["level"] == "category", "value"], [bottom[:, :2].sum(), bottom[:, 2:].sum()])
    by_segment_category = nodes.loc[nodes["level"] == "segment/category", "value"].to_numpy().reshape(3, 2)
    assert np.allclose(by_segment_category, np.column_stack([bottom[:, :2].sum(axis=1), bottom[:, 2:].sum(axis=1)]))
    assert np.allclose(values[hierarchy.level_slice(BOTTOM)], bottom.ravel())


def test_wls_reconciliation_matches_the_closed_form_and_is_coherent() -> None:
    hierarchy = small()
    rng = np.random.default_rng(1)
    base = hierarchy.aggregate(rng.uniform(5, 20, 12)) * rng.uniform(0.8, 1.2, hierarchy.summing.shape[0])
    variance = rng.uniform(1, 30, hierarchy.summing.shape[0])
    reconciled, converged = reconcile_wls(hierarchy, base, variance)
    summing = hierarchy.summing.toarray()
    inverse = np.diag(1 / variance)
    expected = summing @ np.linalg.solve(summing.T @ inverse @ summing, summing.T @ inverse @ base)
    assert converged
    assert np.allclose(reconciled, expected, rtol=1e-7)
    assert np.allclose(reconciled, hierarchy.aggregate(reconciled[hierarchy.level_slice(BOTTOM)]))
    assert not np.allclose(reconciled, base)  # the base forecasts were not coherent


def test_coherent_forecasts_are_left_as_they_are() -> None:
    hierarchy = small()
    coherent = hierarchy.aggregate(np.linspace(1, 12, 12))
    reconciled, _ = reconcile_wls(hierarchy, coherent, np.ones_like(coherent))
    assert np.allclose(reconciled, coherent)
