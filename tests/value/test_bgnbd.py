"""BG/NBD: likelihood and gradient, recovery of known parameters, predictions, degenerate data."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import hyp2f1

from shopseg.errors import ShopsegError
from shopseg.value.bgnbd import BetaGeoModel, log_likelihood, log_likelihood_terms
from shopseg.value.simulate import TrueParams, simulate_summary

X = np.array([0.0, 1.0, 2.0, 7.0, 30.0])
TX = np.array([0.0, 5.0, 30.43, 20.0, 38.0])
T = np.array([38.86, 20.0, 38.86, 30.0, 38.5])
PARAMS = np.array([0.243, 4.414, 0.793, 2.426])


def fitted(params: np.ndarray = PARAMS) -> BetaGeoModel:
    model = BetaGeoModel()
    model.params_ = dict(zip(("r", "alpha", "a", "b"), map(float, params), strict=True))
    return model


def test_gradient_matches_finite_differences() -> None:
    _, gradient = log_likelihood_terms(PARAMS, X, TX, T)
    weights = np.ones_like(X)
    for j in range(4):
        step = 1e-6 * PARAMS[j]
        up, down = PARAMS.copy(), PARAMS.copy()
        up[j] += step
        down[j] -= step
        numeric = (log_likelihood(up, X, TX, T, weights) - log_likelihood(down, X, TX, T, weights)) / (2 * step)
        assert gradient[:, j].sum() == pytest.approx(numeric, rel=1e-5)


def test_likelihood_of_a_one_time_buyer_is_the_closed_form() -> None:
    r, alpha = PARAMS[:2]
    value = log_likelihood_terms(PARAMS, np.array([0.0]), np.array([0.0]), np.array([10.0]))[0][0]
    assert value == pytest.approx(r * np.log(alpha / (alpha + 10.0)))


def test_recovers_simulated_parameters_and_compression_changes_nothing() -> None:
    truth = TrueParams(r=0.3, alpha=20.0, a=0.7, b=2.0)
    data = simulate_summary(8000, truth, max_age_days=365, seed=3)
    model = BetaGeoModel().fit(data["frequency"], data["recency"], data["T"])
    for name, true in (("r", 0.3), ("alpha", 20.0), ("a", 0.7), ("b", 2.0)):
        assert abs(model.params_[name] - true) < 3.5 * model.standard_errors_[name], name
    assert model.converged_ and model.n_customers_ == 8000
    plain = BetaGeoModel(compress=False).fit(data["frequency"], data["recency"], data["T"])
    for name in model.params_:
        assert plain.params_[name] == pytest.approx(model.params_[name], rel=1e-5)
    assert plain.log_likelihood_ == pytest.approx(model.log_likelihood_, rel=1e-9)


def test_conditional_expectation_equals_the_published_formula() -> None:
    r, alpha, a, b = PARAMS
    t = 39.0
    direct = (
        (a + b + X - 1)
        / (a - 1)
        * (1 - ((alpha + T) / (alpha + T + t)) ** (r + X) * hyp2f1(r + X, b + X, a + b + X - 1, t / (alpha + T + t)))
        / (1 + (X > 0) * a / (b + X - 1) * ((alpha + T) / (alpha + TX)) ** (r + X))
    )
    assert fitted().conditional_expected_purchases(t, X, TX, T) == pytest.approx(direct, rel=1e-9)
    unconditional = (a + b - 1) / (a - 1) * (1 - (alpha / (alpha + t)) ** r * hyp2f1(r, b, a + b - 1, t / (alpha + t)))
    assert fitted().expected_purchases(t) == pytest.approx(unconditional, rel=1e-9)


def test_predictions_are_finite_and_ordered_for_extreme_histories() -> None:
    model = fitted()
    x = np.array([0, 1, 50, 2000, 2000])
    t_x = np.array([0, 38, 38, 38.8, 1.0])
    age = np.array([38.86] * 5)
    alive = model.p_alive(x, t_x, age)
    assert alive[0] == 1.0 and np.all((alive >= 0) & (alive <= 1))
    assert alive[4] < 1e-6  # 2000 purchases, then silence for most of the period: gone
    expected = model.conditional_expected_purchases(52, x, t_x, age)
    assert np.all(np.isfinite(expected)) and expected[3] > expected[2] > expected[1]
    silent = model.p_no_purchase(52, x, t_x, age)
    assert np.all((silent >= 0) & (silent <= 1))
    wait = model.next_purchase_median(x, t_x, age, 520)
    assert np.isnan(wait[4]) and wait[3] < wait[2] < 520  # gone: no date; heavy buyers soon
    assert model.expected_purchases(0.0) == pytest.approx(0.0)
    near_one = fitted(np.array([0.243, 4.414, 1.0, 2.426])).conditional_expected_purchases(39, x, t_x, age)
    assert np.all(np.isfinite(near_one))


def test_degenerate_data_give_an_error_or_finite_values() -> None:
    with pytest.raises(ShopsegError, match="none of the 3 customers bought again"):
        BetaGeoModel().fit([0, 0, 0], [0, 0, 0], [10, 0, 5])
    with pytest.raises(ShopsegError, match="recency > T"):
        BetaGeoModel().fit([1], [12], [10])
    with pytest.raises(ShopsegError, match="not fitted"):
        BetaGeoModel().p_alive(1, 1, 1)
    one = BetaGeoModel().fit([3], [20], [30])  # one customer: parameters not identified
    assert all(np.isfinite(v) for v in one.params_.values())
    assert all(np.isnan(v) for v in one.standard_errors_.values())
    assert one.to_dict()["standard_errors"]["r"] is None
    assert np.isfinite(one.conditional_expected_purchases(365, [0, 3], [0, 20], [30, 30])).all()


def test_round_trip_through_plain_data() -> None:
    model = BetaGeoModel().fit(X, TX, T)
    again = BetaGeoModel.from_dict(model.to_dict())
    assert again.params_ == model.params_
    assert again.p_alive(X, TX, T) == pytest.approx(model.p_alive(X, TX, T))
