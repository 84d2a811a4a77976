"""Gamma-Gamma: what a customer spends per purchase (Fader & Hardie, "The Gamma-Gamma Model of Monetary Value").

Each purchase value z is gamma(p, nu) around the customer's own mean p / nu; nu is
gamma(q, gamma) over customers. The model is fitted on **repeat buyers only** with x =
repeat purchases and m_x = their mean spend (the first purchase is left out, as in the
note and in ``lifetimes``). Customers whose mean repeat spend is 0 (free orders) cannot
enter the likelihood (log 0) and are left out of the fit; their conditional expectation
is still defined. Per customer::

    log L = lgamma(p x + q) - lgamma(p x) - lgamma(q) + q log(gamma) + (p x - 1) log(m_x)
            + p x log(x) - (p x + q) log(gamma + x m_x)

The model assumes spend is independent of purchase frequency; check that on your data
(:func:`frequency_spend_correlation`) before trusting CLV.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.special import digamma, gammaln

from shopseg.errors import ShopsegError
from shopseg.value._fitting import compress_rows, fitted_state, maximise, restore_fitted_state

PARAMS = ("p", "q", "gamma")

#: Fewer repeat buyers than this and the three parameters are not worth estimating.
MIN_REPEAT_BUYERS = 2


def log_likelihood_terms(params: np.ndarray, x: np.ndarray, m: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-row log-likelihood (k,) and gradient wrt (p, q, gamma), shape (k, 3); x > 0, m > 0."""
    p, q, g = params
    px = p * x
    log_m, log_x, log_gxm = np.log(m), np.log(x), np.log(g + x * m)
    values = (
        gammaln(px + q) - gammaln(px) - gammaln(q) + q * np.log(g) + (px - 1) * log_m + px * log_x - (px + q) * log_gxm
    )
    psi_pxq = digamma(px + q)
    gradient = np.empty((x.size, 3))
    gradient[:, 0] = x * (psi_pxq - digamma(px) + log_m + log_x - log_gxm)
    gradient[:, 1] = psi_pxq - digamma(q) + np.log(g) - log_gxm
    gradient[:, 2] = q / g - (px + q) / (g + x * m)
    return values, gradient


def frequency_spend_correlation(frequency: object, monetary_value: object) -> float:
    """Pearson correlation of repeat purchases and mean repeat spend among repeat buyers (0 if undefined)."""
    x = np.asarray(frequency, dtype="float64")
    m = np.asarray(monetary_value, dtype="float64")
    keep = x > 0
    if keep.sum() < 3 or np.std(x[keep]) == 0 or np.std(m[keep]) == 0:
        return 0.0
    return float(np.corrcoef(x[keep], m[keep])[0, 1])


@dataclass
class GammaGammaModel:
    """Gamma-Gamma spend model; ``fit(frequency, monetary_value)`` learns ``params_`` {p, q, gamma}.

    Also ``standard_errors_`` (NaN when not identified), ``log_likelihood_`` (of the
    repeat buyers' mean spends, in the data's currency), ``n_customers_`` (repeat buyers
    used), ``n_excluded_`` (repeat buyers left out because their mean spend is <= 0) and
    ``mean_repeat_spend_`` (their average mean spend, the fallback when q <= 1).
    """

    compress: bool = True
    max_iter: int = 2000

    params_: dict[str, float] | None = field(default=None, repr=False)
    standard_errors_: dict[str, float] | None = field(default=None, repr=False)
    log_likelihood_: float | None = field(default=None, repr=False)
    n_customers_: int | None = field(default=None, repr=False)
    n_excluded_: int | None = field(default=None, repr=False)
    converged_: bool | None = field(default=None, repr=False)
    mean_repeat_spend_: float | None = field(default=None, repr=False)

    def fit(self, frequency: object, monetary_value: object) -> GammaGammaModel:
        """Fit on every customer with frequency > 0 and monetary_value > 0; inputs shape (n,)."""
        x = np.asarray(frequency, dtype="float64").ravel()
        m = np.asarray(monetary_value, dtype="float64").ravel()
        if x.shape != m.shape:
            raise ShopsegError("frequency and monetary_value must have one value per customer each.")
        finite = np.isfinite(x) & np.isfinite(m)
        repeat = finite & (x > 0)
        usable = repeat & (m > 0)
        if usable.sum() < MIN_REPEAT_BUYERS:
            raise ShopsegError(
                f"Gamma-Gamma cannot be fitted: {int(usable.sum())} repeat buyer(s) with a positive mean "
                f"repeat spend (at least {MIN_REPEAT_BUYERS} are needed). Spend per order will not be modelled."
            )
        x, m = x[usable], m[usable]
        if self.compress:
            (x, m), w = compress_rows(x, m)
        else:
            w = np.ones_like(x)
        # Spend in units of its average: better conditioned; the density shifts by -log(scale) per customer.
        scale = float(np.average(m, weights=w))
        self.mean_repeat_spend_ = scale
        ms = m / scale

        def objective(params: np.ndarray) -> tuple[float, np.ndarray]:
            values, gradient = log_likelihood_terms(params, x, ms)
            return float(w @ values), w @ gradient

        outcome = maximise(objective, np.array([1.0, 1.0, 1.0]), float(w.sum()), max_iter=self.max_iter)
        p, q, g = outcome.params
        self.params_ = {"p": float(p), "q": float(q), "gamma": float(g * scale)}
        se = outcome.standard_errors * np.array([1.0, 1.0, scale])
        self.standard_errors_ = dict(zip(PARAMS, (float(v) for v in se), strict=True))
        self.log_likelihood_ = outcome.log_likelihood - float(w.sum()) * np.log(scale)
        self.n_customers_ = round(float(w.sum()))
        self.n_excluded_ = int((repeat & ~usable).sum())
        self.converged_ = outcome.converged
        return self

    def _params(self) -> tuple[float, float, float]:
        if self.params_ is None:
            raise ShopsegError("This GammaGammaModel is not fitted yet: call fit(frequency, monetary_value).")
        return self.params_["p"], self.params_["q"], self.params_["gamma"]

    @property
    def population_mean_spend(self) -> float | None:
        """Mean spend per purchase over customers, p gamma / (q - 1); None when q <= 1 (infinite mean)."""
        p, q, g = self._params()
        return p * g / (q - 1) if q > 1 else None

    def conditional_expected_average_spend(
        self, frequency: object, monetary_value: object, fallback: float | None = None
    ) -> np.ndarray:
        """E[spend per purchase | x, m_x] = p (gamma + x m_x) / (p x + q - 1).

        A weighted mean of the population mean and the customer's own mean (weight grows
        with x). For x = 0 it is the population mean. When q <= 1 that mean is infinite:
        customers whose denominator p x + q - 1 is not positive get ``fallback`` instead
        (default ``mean_repeat_spend_``, the mean spend of the repeat buyers the model was
        fitted on). Negative m_x (net refunds) count as 0. Shape: broadcast of the inputs.
        """
        p, q, g = self._params()
        x = np.asarray(frequency, dtype="float64")
        m = np.clip(np.asarray(monetary_value, dtype="float64"), 0.0, None)
        denominator = p * x + q - 1
        with np.errstate(divide="ignore", invalid="ignore"):
            spend = p * (g + x * m) / denominator
        if fallback is None:
            fallback = self.mean_repeat_spend_ or 0.0
        return np.where((denominator > 0) & np.isfinite(spend), spend, fallback)

    def to_dict(self) -> dict[str, object]:
        """Fitted state as JSON-ready data (NaN SEs become None)."""
        self._params()
        return {
            "model": "gamma_gamma",
            **fitted_state(self),
            "n_excluded_zero_spend": self.n_excluded_,
            "mean_repeat_spend": self.mean_repeat_spend_,
        }

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> GammaGammaModel:
        model = cls()
        restore_fitted_state(model, data)
        model.n_excluded_ = data.get("n_excluded_zero_spend")
        model.mean_repeat_spend_ = data.get("mean_repeat_spend")
        return model
