"""MBG/NBD against lifetimes' ModifiedBetaGeoFitter (the test oracle) on the CDNOW sample."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from shopseg import load_shop
from shopseg.value.bgnbd import beta_geometric_terms
from shopseg.value.mbgnbd import ModifiedBetaGeoModel
from shopseg.value.summary import calibration_summary

#: lifetimes 0.11.3's ModifiedBetaGeoFitter on the same summary, for machines where it cannot be imported.
LIFETIMES = {"r": 0.5248, "alpha": 6.1831, "a": 0.8914, "b": 1.6140}


@pytest.fixture(scope="module")
def cdnow_weeks(cdnow_dir: Path):
    orders = load_shop(cdnow_dir / "CDNOW_sample.txt").orders
    summary = calibration_summary(orders, calibration_end="1997-09-30", time_unit_days=7)
    return tuple(summary[c].to_numpy(dtype="float64") for c in ("frequency", "recency", "T"))


def test_fit_matches_lifetimes_to_three_decimals(cdnow_weeks) -> None:
    x, t_x, T = cdnow_weeks
    ours = ModifiedBetaGeoModel().fit(x, t_x, T)
    assert ours.converged_
    try:
        from lifetimes import ModifiedBetaGeoFitter

        theirs = dict(ModifiedBetaGeoFitter().fit(x, t_x, T).params_)
    except ImportError:  # lifetimes is unmaintained; fall back to its numbers recorded above
        theirs = LIFETIMES
    for name, value in theirs.items():
        assert round(ours.params_[name], 3) == round(value, 3), name


def test_predictions_match_lifetimes(cdnow_weeks) -> None:
    lifetimes = pytest.importorskip("lifetimes")
    x, t_x, T = cdnow_weeks
    fitter = lifetimes.ModifiedBetaGeoFitter()
    fitter.params_ = dict(LIFETIMES)
    model = ModifiedBetaGeoModel()
    model.params_ = dict(LIFETIMES)
    np.testing.assert_allclose(model.p_alive(x, t_x, T), fitter.conditional_probability_alive(x, t_x, T), rtol=1e-9)
    np.testing.assert_allclose(
        model.conditional_expected_purchases(39, x, t_x, T),
        fitter.conditional_expected_number_of_purchases_up_to_time(39, x, t_x, T),
        rtol=1e-7,
    )
    np.testing.assert_allclose(
        model.expected_purchases(np.array([10.0, 39.0, 78.0])),
        fitter.expected_number_of_purchases_up_to_time(np.array([10.0, 39.0, 78.0])),
        rtol=1e-7,
    )


def test_gradient_matches_finite_differences_and_one_timers_can_leave() -> None:
    params = np.array([0.52, 6.2, 0.89, 1.6])
    x, t_x, T = np.array([0.0, 1.0, 7.0]), np.array([0.0, 5.0, 20.0]), np.array([38.0, 20.0, 30.0])
    _, gradient = beta_geometric_terms(params, x, t_x, T, 1)
    for j in range(4):
        step = 1e-6 * params[j]
        up, down = params.copy(), params.copy()
        up[j] += step
        down[j] -= step
        numeric = (beta_geometric_terms(up, x, t_x, T, 1)[0] - beta_geometric_terms(down, x, t_x, T, 1)[0]) / (2 * step)
        np.testing.assert_allclose(gradient[:, j], numeric, rtol=1e-5)
    model = ModifiedBetaGeoModel()
    model.params_ = dict(LIFETIMES)
    assert model.p_alive(0, 0, 1.0) > model.p_alive(0, 0, 50.0)  # a one-time buyer fades, unlike in BG/NBD
    expected = model.conditional_expected_purchases(39, x, t_x, T)
    np.testing.assert_allclose(sum(model.sf_purchases(k, 39, x, t_x, T) for k in range(1, 300)), expected, rtol=1e-8)
