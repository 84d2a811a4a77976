"""Gamma-Gamma: gradient, recovery, conditional spend, zero-value orders."""

from __future__ import annotations

import numpy as np
import pytest

from shopseg.errors import ShopsegError
from shopseg.value.gamma_gamma import GammaGammaModel, frequency_spend_correlation, log_likelihood_terms
from shopseg.value.simulate import TrueParams, simulate_summary


def test_gradient_matches_finite_differences() -> None:
    params = np.array([6.25, 3.74, 15.44])
    x, m = np.array([1.0, 2.0, 9.0]), np.array([12.0, 40.5, 33.0])
    _, gradient = log_likelihood_terms(params, x, m)
    for j in range(3):
        step = 1e-6 * params[j]
        up, down = params.copy(), params.copy()
        up[j] += step
        down[j] -= step
        numeric = (log_likelihood_terms(up, x, m)[0].sum() - log_likelihood_terms(down, x, m)[0].sum()) / (2 * step)
        assert gradient[:, j].sum() == pytest.approx(numeric, rel=1e-5)


def test_recovers_simulated_parameters() -> None:
    data = simulate_summary(20000, TrueParams(p=5.0, q=4.0, gamma=20.0), seed=5)
    model = GammaGammaModel().fit(data["frequency"], data["monetary_value"])
    for name, true in (("p", 5.0), ("q", 4.0), ("gamma", 20.0)):
        assert abs(model.params_[name] - true) < 3.5 * model.standard_errors_[name], name
    assert model.n_customers_ == int((data["frequency"] > 0).sum())
    assert abs(frequency_spend_correlation(data["frequency"], data["monetary_value"])) < 0.1


def test_conditional_spend_shrinks_towards_the_population_mean() -> None:
    model = GammaGammaModel()
    model.params_ = {"p": 6.25, "q": 3.74, "gamma": 15.44}
    population = 6.25 * 15.44 / 2.74
    spend = model.conditional_expected_average_spend([0, 1, 100], [0.0, 100.0, 100.0])
    assert spend[0] == pytest.approx(population)
    assert population < spend[1] < spend[2] < 100.0
    assert spend[1] == pytest.approx(6.25 * (15.44 + 100.0) / (6.25 + 3.74 - 1))
    assert model.population_mean_spend == pytest.approx(population)


def test_zero_value_orders_are_left_out_of_the_fit_but_get_a_value() -> None:
    x = np.array([1, 2, 3, 1, 4, 0])
    m = np.array([10.0, 0.0, 30.0, 12.0, 25.0, 0.0])
    model = GammaGammaModel().fit(x, m)
    assert model.n_customers_ == 4 and model.n_excluded_ == 1
    spend = model.conditional_expected_average_spend(x, m)
    assert np.all(np.isfinite(spend)) and np.all(spend >= 0)


def test_too_few_repeat_buyers_and_infinite_mean_are_handled() -> None:
    with pytest.raises(ShopsegError, match="Gamma-Gamma cannot be fitted"):
        GammaGammaModel().fit([0, 0, 1], [0.0, 0.0, 0.0])
    model = GammaGammaModel()
    model.params_ = {"p": 2.0, "q": 0.5, "gamma": 10.0}  # q <= 1: infinite population mean
    model.mean_repeat_spend_ = 42.0
    assert model.population_mean_spend is None
    spend = model.conditional_expected_average_spend([0, 3], [0.0, 20.0])
    assert spend[0] == 42.0 and spend[1] == pytest.approx(2.0 * (10 + 60) / (6 + 0.5 - 1))
