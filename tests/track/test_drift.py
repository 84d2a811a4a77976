"""Drift measures: PSI against known distributions, share changes, the domain classifier."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from shopseg.track.drift import domain_auc, feature_psi, psi, share_changes


def test_psi_is_near_zero_for_two_samples_and_large_for_a_shift() -> None:
    rng = np.random.default_rng(0)
    a, b = rng.lognormal(3, 1, 5000), rng.lognormal(3, 1, 5000)
    assert psi(a, b) < 0.01
    assert 0.1 < psi(a, a * 1.4) < 0.25 < psi(a, a * 3)
    # a count with few values: ties share a bin, so the same distribution is still stable
    counts = rng.poisson(1.0, 4000)
    assert psi(counts, rng.poisson(1.0, 4000)) < 0.01 and psi(counts, rng.poisson(2.0, 4000)) > 0.25
    # by hand: two bins of 50/50 against 20/80
    assert psi(np.r_[np.zeros(50), np.ones(50)], np.r_[np.zeros(20), np.ones(80)]) == pytest.approx(
        (0.2 - 0.5) * np.log(0.2 / 0.5) + (0.8 - 0.5) * np.log(0.8 / 0.5)
    )


def test_feature_psi_gives_verdicts_largest_first() -> None:
    rng = np.random.default_rng(1)
    before = pd.DataFrame({"same": rng.normal(size=3000), "moved": rng.normal(size=3000)})
    after = pd.DataFrame({"same": rng.normal(size=3000), "moved": rng.normal(1.0, 1, size=3000)})
    table = feature_psi(before, after, ["same", "moved", "absent"])
    assert list(table["feature"]) == ["moved", "same"]
    assert list(table["verdict"]) == ["shifted", "stable"]


def test_share_changes_count_every_tracked_segment() -> None:
    before = pd.Series([0, 0, 1, 1])
    after = pd.Series([0, 2, 2, 2])
    table = share_changes(before, after, {0: "a", 1: "b", 2: "c"}).set_index("segment")
    assert table.loc[1, "customers_after"] == 0 and table.loc[2, "customers_before"] == 0
    assert table.loc[2, "share_change"] == pytest.approx(0.75)


def test_domain_classifier_cannot_tell_two_samples_apart_but_sees_a_shift() -> None:
    rng = np.random.default_rng(2)
    first, second = rng.normal(size=(500, 4)), rng.normal(size=(500, 4))
    same = domain_auc(first, second)
    assert abs(same["auc"] - 0.5) < 0.05 and same["verdict"] == "stable"
    shifted = second + np.array([0.0, 0.0, 1.0, 0.0])
    assert domain_auc(first, shifted)["auc"] > 0.7
    assert domain_auc(first[:4], second[:4])["auc"] is None
