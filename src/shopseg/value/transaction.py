"""Transaction models ("buy till you die"): how often a customer buys, and whether they still do.

Every model here reads one row per customer, ``frequency`` x (repeat purchases), ``recency``
t_x and age ``T`` in one time unit (:mod:`shopseg.value.summary`), and shares one interface,
the :class:`TransactionModel` base: ``fit`` by maximum likelihood (identical (x, t_x, T) rows
fitted once with their count as weight; L-BFGS-B on log-parameters; asymptotic covariance
from the observed information), and the predictions

====================================== ===================================================
``p_alive(x, t_x, T)``                 P(the customer has not dropped out by T)
``conditional_expected_purchases``     E[purchases in (T, T + t] | history]
``p_no_purchase``                      P(no purchase in (T, T + t] | history): dropped out,
                                       or alive and silent
``sf_purchases(k, t, ...)``            P(at least k purchases in (T, T + t] | history)
``expected_purchases(t)``              E[repeat purchases in (0, t]] of a new customer
``next_purchase_median(...)``          median wait to the next purchase, NaN beyond a horizon
====================================== ===================================================

What P(alive) means differs by model, and the column docs say so: in BG/NBD a customer can
only drop out right after a *repeat* purchase, so every one-time buyer has P(alive) = 1
(alive, but perhaps buying very rarely); MBG/NBD also lets them drop out right after the
first purchase and Pareto/NBD at any moment, so there one-time buyers' P(alive) falls with
time. ``p_no_purchase`` is the coherent churn number in all three: it combines both ways of
not buying.

:data:`TRANSACTION_MODELS` registers the models by name (``bgnbd``, ``mbgnbd``,
``pareto_nbd``); :func:`model_from_dict` restores a saved one.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np
from scipy.special import expit

from shopseg.errors import ShopsegError
from shopseg.value._fitting import compress_rows, fitted_state, maximise, restore_fitted_state

#: name -> model class; filled by :func:`register` in each model's module.
TRANSACTION_MODELS: dict[str, type[TransactionModel]] = {}

#: log(P(dead) / P(alive)) is clipped to this so P(alive) never becomes exactly 0 or NaN.
_MAX_LOG_ODDS = 700.0


def register(cls: type[TransactionModel]) -> type[TransactionModel]:
    """Class decorator: add a transaction model to :data:`TRANSACTION_MODELS` under ``cls.name``."""
    TRANSACTION_MODELS[cls.name] = cls
    return cls


def model_from_dict(data: dict[str, object]) -> TransactionModel:
    """A fitted transaction model from :meth:`TransactionModel.to_dict` output."""
    name = str(data.get("model"))
    if name not in TRANSACTION_MODELS:
        raise ShopsegError(f"Unknown transaction model '{name}'; known: {', '.join(sorted(TRANSACTION_MODELS))}.")
    return TRANSACTION_MODELS[name].from_dict(data)


def arrays(*values: object) -> tuple[np.ndarray, ...]:
    """Float arrays broadcast to one shape."""
    return tuple(np.broadcast_arrays(*(np.asarray(v, dtype="float64") for v in values)))


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


#: Summed log-likelihood and gradient (or None) of parameters, times divided by ``scale``.
Summed = Callable[[np.ndarray, float], tuple[float, np.ndarray | None]]


@dataclass
class TransactionModel:
    """Base of the transaction models, scikit-learn style: ``fit`` learns ``params_``.

    After ``fit``: ``params_`` (time parameters in the unit of the data), ``standard_errors_``
    (NaN when a parameter is not identified), ``covariance_`` (natural parameters),
    ``log_likelihood_``, ``n_customers_``, ``converged_`` (False also when a parameter ran
    to its bound) and ``fit_message_``. ``compress`` fits unique (x, t_x, T) rows weighted by
    their counts (same estimates, much faster on day-level data).
    """

    compress: bool = True
    max_iter: int = 2000

    params_: dict[str, float] | None = field(default=None, repr=False)
    standard_errors_: dict[str, float] | None = field(default=None, repr=False)
    covariance_: np.ndarray | None = field(default=None, repr=False)
    log_likelihood_: float | None = field(default=None, repr=False)
    n_customers_: int | None = field(default=None, repr=False)
    converged_: bool | None = field(default=None, repr=False)
    fit_message_: str | None = field(default=None, repr=False)
    #: Sampled parameter sets (draws, n_params) of a Bayesian fit (:mod:`shopseg.value.bayes`); None for ML.
    posterior_draws_: np.ndarray | None = field(default=None, repr=False)

    #: Registry name and the name people know it by.
    name: ClassVar[str] = ""
    label: ClassVar[str] = ""
    PARAMS: ClassVar[tuple[str, ...]] = ()
    #: Parameters in time units (rates' scales): multiplied by the time unit when rescaling.
    TIME_PARAMS: ClassVar[tuple[str, ...]] = ()
    #: Whether :meth:`log_likelihood_terms` returns an analytic gradient (else it is numerical).
    HAS_GRADIENT: ClassVar[bool] = True

    # --- the model's own mathematics (subclasses) ------------------------------------------
    @staticmethod
    def log_likelihood_terms(
        params: np.ndarray, x: np.ndarray, t_x: np.ndarray, T: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """Per-row log-likelihood (m,) and its gradient (m, n_params), or None without an analytic one."""
        raise NotImplementedError

    def log_odds_dead(self, frequency: object, recency: object, T: object) -> np.ndarray:
        """log(P(dead at T) / P(alive at T)) given the history."""
        raise NotImplementedError

    def conditional_expected_purchases(self, t: object, frequency: object, recency: object, T: object) -> np.ndarray:
        """Expected purchases in (T, T + t] given the history."""
        raise NotImplementedError

    def p_no_purchase(
        self, t: object, frequency: object, recency: object, T: object, p_alive: object | None = None
    ) -> np.ndarray:
        """P(no purchase in (T, T + t] | history); ``p_alive``: this model's P(alive) of the histories, if known."""
        raise NotImplementedError

    def sf_purchases(
        self, k: object, t: object, frequency: object, recency: object, T: object, p_alive: object | None = None
    ) -> np.ndarray:
        """P(at least k purchases in (T, T + t] | history) for whole k >= 1 (broadcast shapes).

        ``p_alive``: this model's P(alive) of the same histories when already computed.
        """
        raise NotImplementedError

    # --- fitting ---------------------------------------------------------------------------
    def fit(self, frequency: object, recency: object, T: object, weights: object | None = None) -> TransactionModel:
        """Maximum likelihood on customers' (x, t_x, T); shapes (n,), optional weights (n,)."""
        x, t_x, age = (a.ravel() for a in arrays(frequency, recency, T))
        check_summary(x, t_x, age)
        w = np.ones_like(x) if weights is None else np.asarray(weights, dtype="float64").ravel()
        if not np.any(x[w > 0] > 0):
            raise ShopsegError(
                f"{self.label} cannot be fitted: none of the {int(w.sum()):,} customers bought again in the "
                "calibration period (every frequency is 0), so purchase rates and dropout are not identified."
            )
        if self.compress and weights is None:
            (x, t_x, age), w = compress_rows(x, t_x, age)
        terms = self.log_likelihood_terms

        def summed(params: np.ndarray, scale: float) -> tuple[float, np.ndarray | None]:
            values, gradient = terms(params, x, t_x / scale, age / scale)
            return float(w @ values), (None if gradient is None else w @ gradient)

        return self.fit_summed(
            summed,
            total_weight=float(w.sum()),
            mean_age=float(np.average(age, weights=w)),
            weighted_frequency=float(w @ x),
        )

    def start(self) -> np.ndarray:
        """Where the optimiser starts, in the rescaled time unit (mean age about 1)."""
        return np.ones(len(self.PARAMS))

    def fit_summed(
        self, summed: Summed, *, total_weight: float, mean_age: float, weighted_frequency: float
    ) -> TransactionModel:
        """Maximum likelihood from sums computed wherever the customers are (e.g. Spark partitions).

        ``summed(params, scale)`` returns the weighted log-likelihood and its gradient (or
        None), summed over every customer with t_x and T divided by ``scale``.
        ``total_weight``: customers; ``mean_age``: their mean T; ``weighted_frequency``: the
        sum of x. :meth:`fit` is this with local arrays.
        """
        # Work in a time unit where the average age is about 1: better conditioned. The
        # likelihood is a density of x purchase times, so it shifts by sum(x) * log(scale).
        scale = float(mean_age) or 1.0
        outcome = maximise(lambda params: summed(params, scale), self.start(), total_weight, max_iter=self.max_iter)
        factors = np.array([scale if name in self.TIME_PARAMS else 1.0 for name in self.PARAMS])
        self.params_ = dict(zip(self.PARAMS, (float(v) for v in outcome.params * factors), strict=True))
        se = outcome.standard_errors * factors
        self.standard_errors_ = dict(zip(self.PARAMS, (float(v) for v in se), strict=True))
        self.covariance_ = outcome.covariance * np.outer(factors, factors)
        self.log_likelihood_ = outcome.log_likelihood - float(weighted_frequency) * np.log(scale)
        self.n_customers_ = round(float(total_weight))
        self.converged_ = outcome.converged
        self.fit_message_ = outcome.message
        return self

    # --- generic predictions ---------------------------------------------------------------
    def values(self) -> tuple[float, ...]:
        """The fitted parameters in :attr:`PARAMS` order."""
        if self.params_ is None:
            raise ShopsegError(f"This {type(self).__name__} is not fitted yet: call fit(frequency, recency, T).")
        return tuple(self.params_[name] for name in self.PARAMS)

    def p_alive(self, frequency: object, recency: object, T: object) -> np.ndarray:
        """P(still a customer at T | x, t_x, T); shape of the broadcast inputs."""
        return expit(-np.clip(self.log_odds_dead(frequency, recency, T), -np.inf, _MAX_LOG_ODDS))

    def expected_purchases(self, t: object) -> np.ndarray:
        """Expected repeat purchases in (0, t] of a customer whose first purchase is at 0."""
        horizon = np.asarray(t, dtype="float64")
        zeros = np.zeros_like(horizon)
        return self.conditional_expected_purchases(horizon, zeros, zeros, zeros)

    def next_purchase_median(
        self, frequency: object, recency: object, T: object, horizon: float, *, iterations: int = 40
    ) -> np.ndarray:
        """Median wait from T to the next purchase, or NaN when it is not within ``horizon``.

        The wait W solves P(no purchase in (T, T + W]) = 1/2 (bisection, vectorised; the
        probability falls with W). It counts both ways of not buying (dropped out, or alive
        and silent), so it is coherent with ``p_no_purchase``: a date exists exactly when
        the chance of an order within the horizon is over one half. In the data's time unit.
        """
        x, t_x, age = (a.ravel() for a in arrays(frequency, recency, T))
        alive = self.p_alive(x, t_x, age)
        within = self.p_no_purchase(horizon, x, t_x, age, p_alive=alive) < 0.5
        low, high = np.zeros(x.size), np.full(x.size, float(horizon))
        for _ in range(iterations):  # halves the bracket each time: horizon / 2^40 at the end
            middle = (low + high) / 2
            silent = self.p_no_purchase(middle, x, t_x, age, p_alive=alive) >= 0.5
            low, high = np.where(silent, middle, low), np.where(silent, high, middle)
        return np.where(within, high, np.nan)

    # --- parameter uncertainty ---------------------------------------------------------------
    def parameter_draws(self, n: int, seed: int = 0) -> np.ndarray:
        """``n`` parameter sets (n, n_params) from the asymptotic normal of the log-parameters.

        Drawn on the log scale (delta method: cov(log theta) = cov(theta) / (theta theta')),
        so every draw is positive. Seeded: the same fit gives the same draws. When the
        covariance is unknown (not identified) every row is the point estimate. A Bayesian fit
        (``posterior_draws_``) gives evenly spaced posterior draws instead.
        """
        point = np.array(self.values())
        if self.posterior_draws_ is not None:  # a Bayesian fit: evenly spaced posterior draws
            rows = np.linspace(0, len(self.posterior_draws_) - 1, n).round().astype(int)
            return np.asarray(self.posterior_draws_)[rows]
        covariance = self.covariance_
        if covariance is None or not np.all(np.isfinite(covariance)):
            return np.tile(point, (n, 1))
        log_covariance = covariance / np.outer(point, point)
        rng = np.random.default_rng(seed)
        draws = rng.multivariate_normal(np.log(point), log_covariance, size=n, method="eigh")
        return np.exp(draws)

    def with_params(self, values: object) -> TransactionModel:
        """A copy of this model with other parameter values (for parameter draws)."""
        clone = copy.copy(self)
        clone.posterior_draws_ = None
        clone.params_ = dict(zip(self.PARAMS, (float(v) for v in np.asarray(values, dtype="float64")), strict=True))
        return clone

    @property
    def uncertainty_known(self) -> bool:
        """Whether the fit has a usable covariance (parameter uncertainty can be propagated)."""
        if self.posterior_draws_ is not None:
            return True
        return self.covariance_ is not None and bool(np.all(np.isfinite(self.covariance_)))

    # --- persistence -----------------------------------------------------------------------
    def to_dict(self) -> dict[str, object]:
        """Fitted state as plain JSON-ready data (SEs that are NaN become None)."""
        self.values()
        return {"model": self.name, **fitted_state(self)}

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> TransactionModel:
        """A fitted model from :meth:`to_dict` output."""
        model = cls()
        restore_fitted_state(model, data)
        return model
