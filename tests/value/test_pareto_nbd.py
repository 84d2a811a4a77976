"""Pareto/NBD: the published CDNOW fit, the stable hypergeometric term, and recovery of known parameters.

Fader & Hardie fit Pareto/NBD to the CDNOW sample (calibration to 1997-09-30, weeks):
r = 0.5534, alpha = 10.5781, s = 0.6061, beta = 11.6565, log-likelihood -9595.0. r, alpha
and s are reproduced to 3 decimals. beta is not, and cannot be by an exact maximum: the
likelihood is flat in beta (standard error 6.2) and the published point lies 1.5e-5 below
the maximum, which sits at beta = 11.669 (lifetimes' ParetoNBDFitter: 11.6695; a
Nelder-Mead polish: 11.6687). The test checks that our optimum is at least as high as the
published point and within 0.015 of it in beta.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from shopseg import load_shop
from shopseg.value.pareto_nbd import ParetoNBDModel, log_likelihood_terms, log_tail
from shopseg.value.summary import calibration_summary

PUBLISHED = {"r": 0.5534, "alpha": 10.5781, "s": 0.6061, "beta": 11.6565}


@pytest.fixture(scope="module")
def cdnow_weeks(cdnow_dir: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    summary = calibration_summary(
        load_shop(cdnow_dir / "CDNOW_sample.txt").orders, calibration_end="1997-09-30", time_unit_days=7
    )
    return tuple(summary[c].to_numpy(dtype="float64") for c in ("frequency", "recency", "T"))


def test_reproduces_fader_hardie_on_the_cdnow_sample(cdnow_weeks) -> None:
    x, t_x, T = cdnow_weeks
    model = ParetoNBDModel().fit(x, t_x, T)
    p = model.params_
    for name in ("r", "alpha", "s"):
        assert abs(p[name] - PUBLISHED[name]) < 0.0005, (name, p[name])
    assert abs(p["beta"] - PUBLISHED["beta"]) < 0.015  # flat in beta: see the module docstring
    assert round(model.log_likelihood_, 1) == -9595.0 and model.converged_
    at_published = log_likelihood_terms(np.array(list(PUBLISHED.values())), x, t_x, T)[0].sum()
    assert model.log_likelihood_ >= at_published  # our point is the (higher) maximum
    assert all(e > 0 for e in model.standard_errors_.values())


def test_matches_lifetimes_pareto_nbd_fitter(cdnow_weeks) -> None:
    pytest.importorskip("lifetimes")
    from lifetimes import ParetoNBDFitter

    x, t_x, T = cdnow_weeks
    theirs = ParetoNBDFitter().fit(x, t_x, T).params_
    ours = ParetoNBDModel().fit(x, t_x, T)
    for name in ("r", "alpha", "s"):
        assert ours.params_[name] == pytest.approx(theirs[name], abs=1e-3), name
    # The likelihood is flat in beta, so where lifetimes' optimiser stops along that ridge varies
    # from run to run (11.6695 and 11.6715 seen, ours 11.6687): beta agrees to the ridge's width,
    # and our point is at least as high a maximum as theirs.
    assert ours.params_["beta"] == pytest.approx(theirs["beta"], abs=0.015)
    at_theirs = log_likelihood_terms(np.array([theirs[k] for k in ("r", "alpha", "s", "beta")]), x, t_x, T)[0].sum()
    assert ours.log_likelihood_ >= at_theirs - 1e-6
    model = ParetoNBDModel()
    model.params_ = dict(theirs)
    fitter = ParetoNBDFitter()
    fitter.params_ = theirs
    np.testing.assert_allclose(
        model.p_alive(x, t_x, T), fitter.conditional_probability_alive(x, t_x, T), rtol=1e-6, atol=1e-9
    )
    np.testing.assert_allclose(
        model.conditional_expected_purchases(39, x, t_x, T),
        fitter.conditional_expected_number_of_purchases_up_to_time(39, x, t_x, T),
        rtol=1e-6,
    )


def test_tail_integral_equals_high_precision_quadrature() -> None:
    mpmath = pytest.importorskip("mpmath")
    mpmath.mp.dps = 30
    cases = [
        ((0.5534, 10.5781, 0.6061, 11.6565), 2, 30.43),
        ((0.5534, 10.5781, 0.6061, 11.6565), 1000, 38.0),
        ((2.0, 0.01, 0.3, 50.0), 0, 0.0),  # alpha << beta, c - a - b a whole number, z near 1
        ((0.3, 500.0, 1.0, 0.5), 0, 0.0),  # alpha >> beta, same
        ((0.9, 1.0, 5.0, 1.0000001), 20000, 3.0),  # thousands of purchases
    ]
    for params, x, t in cases:
        r, alpha, s, beta = (mpmath.mpf(v) for v in params)
        k = r + s + x
        c = max(alpha, beta)
        z = abs(alpha - beta) / (c + t)
        second = s + 1 if alpha >= beta else r + x
        exact = mpmath.log(mpmath.hyp2f1(k, second, k + 1, z)) - mpmath.log(k) - k * mpmath.log(c + t)
        ours = float(log_tail(params, np.array(float(x)), np.array(float(t))))
        assert ours == pytest.approx(float(exact), rel=1e-9, abs=1e-9), (params, x, t)


def test_distribution_of_future_purchases_is_consistent() -> None:
    model = ParetoNBDModel()
    model.params_ = dict(PUBLISHED)
    x = np.array([0.0, 1.0, 4.0, 12.0])
    t_x = np.array([0.0, 10.0, 30.0, 38.0])
    T = np.full(4, 38.86)
    expected = model.conditional_expected_purchases(39, x, t_x, T)
    summed = sum(model.sf_purchases(k, 39, x, t_x, T) for k in range(1, 400))
    np.testing.assert_allclose(summed, expected, rtol=1e-8)
    np.testing.assert_allclose(1 - model.sf_purchases(1, 39, x, t_x, T), model.p_no_purchase(39, x, t_x, T))
    alive = model.p_alive(x, t_x, T)
    assert alive[0] < 1  # one-time buyers can have left, unlike in BG/NBD
    assert model.p_alive(0, 0, 100.0) < model.p_alive(0, 0, 1.0)  # and the longer ago, the less likely alive


def test_recovers_simulated_parameters() -> None:
    rng = np.random.default_rng(7)
    n, truth = 6000, {"r": 0.6, "alpha": 12.0, "s": 0.8, "beta": 15.0}
    rate = rng.gamma(truth["r"], 1 / truth["alpha"], n)
    lifetime = rng.exponential(1 / rng.gamma(truth["s"], 1 / truth["beta"], n))
    T = rng.uniform(20, 60, n)
    active = np.minimum(lifetime, T)
    x = rng.poisson(rate * active).astype("float64")
    t_x = np.where(x > 0, active * rng.beta(np.maximum(x, 1), 1), 0.0)  # last of x uniform arrivals
    model = ParetoNBDModel().fit(x, t_x, T)
    for name, value in truth.items():
        assert abs(model.params_[name] - value) < 3.5 * model.standard_errors_[name], name
