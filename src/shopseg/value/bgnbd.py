"""BG/NBD: how many purchases a customer will make, and whether they are still a customer.

The beta-geometric/negative-binomial model (Fader, Hardie & Lee 2005, "Counting your
customers the easy way"): while alive, a customer buys at a Poisson rate ``lambda``
(gamma distributed over customers with shape ``r`` and rate ``alpha``); after each repeat
purchase they drop out for good with probability ``p`` (beta distributed with ``a``,
``b``). Inputs per customer are ``frequency`` x (repeat purchases), ``recency`` t_x and
age ``T`` in one time unit (see :mod:`shopseg.value.summary`); ``alpha`` is in that unit.

Fitting is maximum likelihood with scipy (L-BFGS-B on log-parameters, analytic gradient).
The log-likelihood of one customer is::

    log L = lgamma(r+x) - lgamma(r) + r log(alpha) - betaln(a, b)
            + logaddexp(betaln(a, b+x) - (r+x) log(alpha+T),
                        [x>0] betaln(a+1, b+x-1) - (r+x) log(alpha+t_x))

which never forms the huge gamma or power terms, so it stays finite for x in the
thousands. Identical (x, t_x, T) rows are fitted once with their count as weight.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from scipy.special import betaln, digamma, expit, gammaln, hyp2f1

from shopseg.errors import ShopsegError
from shopseg.value._fitting import compress_rows, fitted_state, maximise, restore_fitted_state

PARAMS = ("r", "alpha", "a", "b")


def _arrays(*values: object) -> tuple[np.ndarray, ...]:
    arrays = tuple(np.asarray(v, dtype="float64") for v in values)
    return tuple(np.broadcast_arrays(*arrays))


def check_summary(frequency: np.ndarray, recency: np.ndarray, T: np.ndarray) -> None:
    """Raise a clear error when (x, t_x, T) are not a valid calibration summary."""
    if frequency.size == 0:
        raise ShopsegError("No customers to fit: the calibration summary is empty.")
    for name, values in (("frequency", frequency), ("recency", recency), ("T", T)):
        if not np.all(np.isfinite(values)):
            raise ShopsegError(f"The calibration summary has missing or infinite {name} values.")
        if np.any(values < 0):
            raise ShopsegError(f"The calibration summary has negative {name} values.")
    if np.any(recency > T + 1e-9):
        raise ShopsegError("The calibration summary has recency > T (a purchase after the end of calibration).")
    if np.any(np.abs(frequency - np.round(frequency)) > 1e-9):
        raise ShopsegError("frequency must count repeat purchases (whole numbers).")


def log_likelihood_terms(
    params: np.ndarray, x: np.ndarray, t_x: np.ndarray, T: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Per-row log-likelihood (m,) and its gradient wrt (r, alpha, a, b), shape (m, 4)."""
    r, alpha, a, b = params
    repeat = x > 0
    x_safe = np.where(repeat, x, 1.0)  # keeps betaln(a+1, b+x-1) defined where it is masked out
    common = gammaln(r + x) - gammaln(r) + r * np.log(alpha) - betaln(a, b)
    log_T, log_tx = np.log(alpha + T), np.log(alpha + t_x)
    alive = betaln(a, b + x) - (r + x) * log_T
    dead = np.where(repeat, betaln(a + 1, b + x_safe - 1) - (r + x) * log_tx, -np.inf)
    total = np.logaddexp(alive, dead)
    w_alive = np.exp(alive - total)
    w_dead = np.exp(dead - total)  # 0 where x == 0

    psi_abx = digamma(a + b + x)
    gradient = np.empty((x.size, 4))
    gradient[:, 0] = digamma(r + x) - digamma(r) + np.log(alpha) - w_alive * log_T - w_dead * log_tx
    gradient[:, 1] = r / alpha - (r + x) * (w_alive / (alpha + T) + w_dead / (alpha + t_x))
    gradient[:, 2] = (
        -(digamma(a) - digamma(a + b)) + w_alive * (digamma(a) - psi_abx) + w_dead * (digamma(a + 1) - psi_abx)
    )
    gradient[:, 3] = (
        -(digamma(b) - digamma(a + b))
        + w_alive * (digamma(b + x) - psi_abx)
        + w_dead * (digamma(b + x_safe - 1) - psi_abx)
    )
    return common + total, gradient


def log_likelihood(params: np.ndarray, x: np.ndarray, t_x: np.ndarray, T: np.ndarray, weights: np.ndarray) -> float:
    """Weighted total log-likelihood of BG/NBD parameters (r, alpha, a, b)."""
    return float(weights @ log_likelihood_terms(np.asarray(params, dtype="float64"), x, t_x, T)[0])


@dataclass
class BetaGeoModel:
    """The BG/NBD model, scikit-learn style: parameters in ``__init__``, ``fit`` learns ``params_``.

    ``compress`` fits unique (x, t_x, T) rows weighted by their counts (same estimates,
    much faster on day-level data); switch it off only to measure the difference.
    After ``fit``: ``params_`` {r, alpha, a, b}, ``standard_errors_`` (NaN when a
    parameter is not identified), ``log_likelihood_``, ``n_customers_``, ``converged_``.
    """

    compress: bool = True
    max_iter: int = 2000

    params_: dict[str, float] | None = field(default=None, repr=False)
    standard_errors_: dict[str, float] | None = field(default=None, repr=False)
    log_likelihood_: float | None = field(default=None, repr=False)
    n_customers_: int | None = field(default=None, repr=False)
    converged_: bool | None = field(default=None, repr=False)

    def fit(self, frequency: object, recency: object, T: object, weights: object | None = None) -> BetaGeoModel:
        """Maximum likelihood on customers' (x, t_x, T); shapes (n,), optional weights (n,)."""
        x, t_x, age = _arrays(frequency, recency, T)
        x, t_x, age = x.ravel(), t_x.ravel(), age.ravel()
        check_summary(x, t_x, age)
        w = np.ones_like(x) if weights is None else np.asarray(weights, dtype="float64").ravel()
        if not np.any(x[w > 0] > 0):
            raise ShopsegError(
                f"BG/NBD cannot be fitted: none of the {int(w.sum()):,} customers bought again in the "
                "calibration period (every frequency is 0), so purchase rates and dropout are not identified."
            )
        if self.compress and weights is None:
            (x, t_x, age), w = compress_rows(x, t_x, age)

        def summed(params: np.ndarray, scale: float) -> tuple[float, np.ndarray]:
            values, gradient = log_likelihood_terms(params, x, t_x / scale, age / scale)
            return float(w @ values), w @ gradient

        return self.fit_summed(
            summed,
            total_weight=float(w.sum()),
            mean_age=float(np.average(age, weights=w)),
            weighted_frequency=float(w @ x),
        )

    def fit_summed(
        self,
        summed: Callable[[np.ndarray, float], tuple[float, np.ndarray]],
        *,
        total_weight: float,
        mean_age: float,
        weighted_frequency: float,
    ) -> BetaGeoModel:
        """Maximum likelihood from sums computed wherever the customers are (e.g. Spark partitions).

        ``summed(params, scale)`` returns the weighted log-likelihood of (r, alpha, a, b) and
        its gradient (4,), summed over every customer with t_x and T divided by ``scale``
        (:func:`log_likelihood_terms`). ``total_weight``: customers; ``mean_age``: their mean
        T; ``weighted_frequency``: the sum of x. :meth:`fit` is this with local arrays.
        """
        # Work in a time unit where the average age is about 1: better conditioned, and the
        # likelihood only shifts by sum(x) * log(scale) (t_x is not a density variable here).
        scale = float(mean_age) or 1.0
        outcome = maximise(
            lambda params: summed(params, scale), np.array([1.0, 1.0, 1.0, 1.0]), total_weight, max_iter=self.max_iter
        )
        r, alpha, a, b = outcome.params
        se = outcome.standard_errors * np.array([1.0, scale, 1.0, 1.0])
        self.params_ = {"r": float(r), "alpha": float(alpha * scale), "a": float(a), "b": float(b)}
        self.standard_errors_ = dict(zip(PARAMS, (float(v) for v in se), strict=True))
        self.log_likelihood_ = outcome.log_likelihood - float(weighted_frequency) * np.log(scale)
        self.n_customers_ = round(float(total_weight))
        self.converged_ = outcome.converged
        return self

    # --- predictions ------------------------------------------------------------------
    def _params(self) -> tuple[float, float, float, float]:
        if self.params_ is None:
            raise ShopsegError("This BetaGeoModel is not fitted yet: call fit(frequency, recency, T).")
        p = self.params_
        return p["r"], p["alpha"], p["a"], p["b"]

    def log_odds_dead(self, frequency: object, recency: object, T: object) -> np.ndarray:
        """log(P(dead) / P(alive)) given the history; -inf for customers without repeat purchases."""
        r, alpha, a, b = self._params()
        x, t_x, age = _arrays(frequency, recency, T)
        repeat = x > 0
        x_safe = np.where(repeat, x, 1.0)
        odds = np.log(a) - np.log(b + x_safe - 1) + (r + x) * (np.log(alpha + age) - np.log(alpha + t_x))
        return np.where(repeat, odds, -np.inf)

    def p_alive(self, frequency: object, recency: object, T: object) -> np.ndarray:
        """P(still a customer at T | x, t_x, T); 1 for customers who never bought again.

        (In BG/NBD dropout can only follow a repeat purchase.) Shape of the broadcast inputs.
        """
        return expit(-self.log_odds_dead(frequency, recency, T))

    def conditional_expected_purchases(self, t: object, frequency: object, recency: object, T: object) -> np.ndarray:
        """Expected purchases in (T, T + t] given the history (FHL 2005, eq. 10).

        The Gauss hypergeometric term is rewritten with Euler's transformation,
        ``(1-z)^(r+x) 2F1(r+x, b+x; a+b+x-1; z) = (1-z)^(a-1) 2F1(a+b-1-r, a-1; a+b+x-1; z)``
        with z = t / (alpha + T + t), whose parameters do not grow with x, so it stays
        accurate and finite for heavy buyers.
        """
        r, alpha, a, b = self._params()
        if abs(a - 1.0) < 1e-7:  # the formula has a removable singularity at a = 1
            a = 1.0 + 1e-7
        horizon, x, t_x, age = _arrays(t, frequency, recency, T)
        one_minus_z = (alpha + age) / (alpha + age + horizon)
        # The series can overflow or turn NaN for some parameter/history combinations (the
        # demo shop's holdout refits hit it); those entries take the fallback below, so
        # numpy's warnings about them are silenced rather than printed to the user.
        with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
            series = hyp2f1(a + b - 1 - r, a - 1, a + b + x - 1, 1.0 - one_minus_z)
            bracket = 1.0 - one_minus_z ** (a - 1) * series
            expected = (a + b + x - 1) / (a - 1) * bracket * self.p_alive(x, t_x, age)
        # Fallback where the hypergeometric series fails: the expected rate of a living
        # customer times t, times P(alive), an upper bound.
        fallback = self.p_alive(x, t_x, age) * (r + x) / (alpha + age) * horizon
        expected = np.where(np.isfinite(expected), expected, fallback)
        return np.clip(expected, 0.0, None)

    def expected_purchases(self, t: object) -> np.ndarray:
        """Expected repeat purchases in (0, t] of a new customer: E[X(t)] (FHL 2005, eq. 9)."""
        horizon = np.asarray(t, dtype="float64")
        zeros = np.zeros_like(horizon)
        return self.conditional_expected_purchases(horizon, zeros, zeros, zeros)

    def p_no_purchase(self, t: object, frequency: object, recency: object, T: object) -> np.ndarray:
        """P(no purchase in (T, T + t] | history) = 1 - P(alive) (1 - ((alpha+T)/(alpha+T+t))^(r+x)).

        Given alive, the posterior rate is gamma(r + x, alpha + T), and a customer can only
        drop out right after a purchase, so a living customer's chance of no purchase in t
        is the posterior mean of exp(-lambda t).
        """
        r, alpha, _, _ = self._params()
        horizon, x, t_x, age = _arrays(t, frequency, recency, T)
        silent_if_alive = np.exp((r + x) * (np.log(alpha + age) - np.log(alpha + age + horizon)))
        return 1.0 - self.p_alive(x, t_x, age) * (1.0 - silent_if_alive)

    def median_wait_if_alive(self, frequency: object, recency: object, T: object) -> np.ndarray:
        """Median time from T to the next purchase for a customer who stays alive.

        From the posterior rate gamma(r + x, alpha + T): P(no purchase in w | alive) =
        ((alpha+T)/(alpha+T+w))^(r+x) = 1/2  =>  w = (alpha + T) (2^(1/(r+x)) - 1).
        Always finite for finite parameters (large for rare buyers); in the model's time unit.
        """
        r, alpha, _, _ = self._params()
        x, _, age = _arrays(frequency, recency, T)
        exponent = np.minimum(np.log(2.0) / (r + x), 700.0)  # exp(700) ~ 1e304: no overflow
        return (alpha + age) * np.expm1(exponent)

    # --- persistence ------------------------------------------------------------------
    def to_dict(self) -> dict[str, object]:
        """Fitted state as plain JSON-ready data (SEs that are NaN become None)."""
        self._params()
        return {"model": "bgnbd", **fitted_state(self)}

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> BetaGeoModel:
        """A fitted model from :meth:`to_dict` output."""
        model = cls()
        restore_fitted_state(model, data)
        return model
