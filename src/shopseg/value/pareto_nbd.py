"""Pareto/NBD: purchases at a Poisson rate until an exponential lifetime ends (Schmittlein et al. 1987).

While alive a customer buys at rate ``lambda`` ~ gamma(r, alpha); their lifetime is
exponential with rate ``mu`` ~ gamma(s, beta), so dropout can happen at any moment (not only
right after a purchase as in BG/NBD). Parameters (r, alpha, s, beta); alpha and beta are in
the time unit of the data. Fader & Hardie fit it to the CDNOW sample (39 weeks of
calibration, weeks): r = 0.5534, alpha = 10.5781, s = 0.6061, beta = 11.6565
(tests/value/test_pareto_nbd.py reproduces them).

The likelihood of one customer (Fader & Hardie 2005, "A Note on Deriving the Pareto/NBD
Model and Related Expressions") is::

    L = Gamma(r+x) alpha^r beta^s / Gamma(r) * [ (alpha+T)^-(r+x) (beta+T)^-s + s I(t_x, T) ]
    I(t1, t2) = integral_t1^t2 (alpha+tau)^-(r+x) (beta+tau)^-(s+1) dtau = G(t1) - G(t2)

where the second term is "dropped out at tau between the last purchase and T". Its closed
form is Gauss hypergeometric: with k = r+s+x, c = max(alpha, beta), z = |alpha-beta|/(c+t),
G(t) = (c+t)^-k / k * 2F1(k, m; k+1; z) with m = s+1 when alpha >= beta and m = r+x when
alpha < beta (so |z| < 1 always). Numerically stable form used here
(:func:`log_hypergeometric`): Euler's or Pfaff's transformation turns it into a series
2F1(1, b; k+1; .) whose terms are all positive (no cancellation), with the smaller of m and
k+1-m as b (fast where scipy would crawl), evaluated in log space; G(t1) - G(t2) is
G(t1) (1 - G(t2)/G(t1)) with ``expm1``, so nothing overflows for customers with thousands
of purchases. The same G gives
P(alive), P(no purchase in a window) and the log-likelihood. The gradient is numerical
(central differences in log-parameters); identical (x, t_x, T) rows are evaluated once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from scipy.special import betainc, gammaln, hyp2f1

from shopseg.value.transaction import TransactionModel, arrays, register

PARAMS = ("r", "alpha", "s", "beta")
#: Gauss-Legendre nodes on [-1, 1] for the lifetime integral of :meth:`ParetoNBDModel.sf_purchases`.
_NODES, _WEIGHTS = np.polynomial.legendre.leggauss(8)


def _log_series(b: np.ndarray, c: np.ndarray, z: np.ndarray) -> np.ndarray:
    """log 2F1(1, b; c; z) with scipy; NaN where scipy loses it.

    scipy's hyp2f1 returns inf/NaN close to z = 1 when c - b - 1 is a whole number (its 1 - z
    transformation has poles there); those entries are recomputed as the mean of the function
    at b (1 -+ 1e-6), which is smooth in b: error about 1e-10 relative.
    """
    b, c, z = np.broadcast_arrays(*(np.asarray(v, dtype="float64") for v in (b, c, z)))
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        value = np.atleast_1d(np.log(hyp2f1(1.0, b, c, z)))
        bad = ~np.isfinite(value)
        if np.any(bad):
            b_bad, c_bad, z_bad = (np.atleast_1d(v)[bad] for v in (b, c, z))
            nudged = (hyp2f1(1.0, b_bad * (1 - 1e-6), c_bad, z_bad) + hyp2f1(1.0, b_bad * (1 + 1e-6), c_bad, z_bad)) / 2
            value[bad] = np.log(nudged)
    return value.reshape(z.shape)


def log_hypergeometric(k: np.ndarray, m: np.ndarray, z: np.ndarray) -> np.ndarray:
    """log 2F1(k, m; k+1; z) for 0 <= z < 1, k, m > 0, as a series of positive terms.

    Two exact rewrites, each a 2F1(1, b; k+1; .) series: Euler's,
    (1-z)^(1-m) 2F1(1, k+1-m; k+1; z), and Pfaff's, (1-z)^-m 2F1(1, m; k+1; z/(z-1)). The
    one with the smaller b is used (scipy needs about 80 us an entry for b = 157 near z = 1,
    under 1 us for small b), the other where it fails.
    """
    k, m, z = np.broadcast_arrays(*(np.asarray(v, dtype="float64") for v in (k, m, z)))
    other = k + 1.0 - m
    with np.errstate(divide="ignore", invalid="ignore"):
        log_rest = np.log1p(-z)
        euler = m >= other  # Euler's series has b = other, Pfaff's b = m
        value = np.empty(z.shape)
        value[euler] = _log_series(other[euler], k[euler] + 1.0, z[euler]) + (1.0 - m[euler]) * log_rest[euler]
        pfaff = ~euler
        w = z[pfaff] / (z[pfaff] - 1.0)
        value[pfaff] = _log_series(m[pfaff], k[pfaff] + 1.0, w) - m[pfaff] * log_rest[pfaff]
        failed = ~np.isfinite(value)
        if np.any(failed):  # the other rewrite
            e, f = failed & ~euler, failed & euler
            value[e] = _log_series(other[e], k[e] + 1.0, z[e]) + (1.0 - m[e]) * log_rest[e]
            value[f] = _log_series(m[f], k[f] + 1.0, z[f] / (z[f] - 1.0)) - m[f] * log_rest[f]
    return value


def log_tail(params: tuple[float, ...], x: np.ndarray, t: np.ndarray) -> np.ndarray:
    """log G(t) = log of the integral from t to infinity of (alpha+tau)^-(r+x) (beta+tau)^-(s+1) dtau."""
    r, alpha, s, beta = params
    x, t = np.broadcast_arrays(np.asarray(x, dtype="float64"), np.asarray(t, dtype="float64"))
    k = r + s + x
    c = max(alpha, beta)
    z = abs(alpha - beta) / (c + t)
    m = np.full_like(k, s + 1.0) if alpha >= beta else r + x
    return log_hypergeometric(k, m, z) - np.log(k) - k * np.log(c + t)


def log_integral(params: tuple[float, ...], x: np.ndarray, t1: np.ndarray, t2: np.ndarray) -> np.ndarray:
    """log I(t1, t2) = log(G(t1) - G(t2)) for t1 <= t2; -inf where t1 == t2."""
    first, second = log_tail(params, x, t1), log_tail(params, x, t2)
    with np.errstate(divide="ignore", invalid="ignore"):  # extreme trial parameters: NaN, which the callers handle
        difference = np.minimum(second - first, 0.0)
        return np.where(t2 > t1, first + np.log(-np.expm1(difference)), -np.inf)


def log_likelihood_terms(params: np.ndarray, x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> tuple[np.ndarray, None]:
    """Per-row Pareto/NBD log-likelihood (m,); no analytic gradient (None)."""
    values = tuple(float(v) for v in params)
    r, alpha, s, beta = values
    alive = -(r + x) * np.log(alpha + T) - s * np.log(beta + T)
    dead = np.log(s) + log_integral(values, x, t_x, T)
    common = gammaln(r + x) - gammaln(r) + r * np.log(alpha) + s * np.log(beta)
    with np.errstate(invalid="ignore"):  # extreme trial parameters: the optimiser sees -inf/NaN and steps back
        return common + np.logaddexp(alive, dead), None


def _relative_growth(exponent: float, log_ratio: np.ndarray) -> np.ndarray:
    """(1 - e^(exponent * log_ratio)) / exponent, with its limit -log_ratio at exponent 0."""
    if abs(exponent) < 1e-9:
        return -log_ratio
    return -np.expm1(exponent * log_ratio) / exponent


@register
@dataclass
class ParetoNBDModel(TransactionModel):
    """The Pareto/NBD model (see the module docstring); predictions as in :class:`TransactionModel`."""

    name: ClassVar[str] = "pareto_nbd"
    label: ClassVar[str] = "Pareto/NBD"
    PARAMS: ClassVar[tuple[str, ...]] = PARAMS
    TIME_PARAMS: ClassVar[tuple[str, ...]] = ("alpha", "beta")
    HAS_GRADIENT: ClassVar[bool] = False

    @staticmethod
    def log_likelihood_terms(params, x, t_x, T):  # type: ignore[override]
        return log_likelihood_terms(params, x, t_x, T)

    def log_odds_dead(self, frequency: object, recency: object, T: object) -> np.ndarray:
        """log(P(dead)/P(alive)) = log(s I(t_x, T)) + (r+x) log(alpha+T) + s log(beta+T)."""
        values = self.values()
        r, alpha, s, beta = values
        x, t_x, age = arrays(frequency, recency, T)
        return np.log(s) + log_integral(values, x, t_x, age) + (r + x) * np.log(alpha + age) + s * np.log(beta + age)

    def conditional_expected_purchases(self, t: object, frequency: object, recency: object, T: object) -> np.ndarray:
        """E[purchases in (T, T+t] | history] = P(alive) (r+x)(beta+T) / ((alpha+T)(s-1)) [1 - q^(s-1)].

        q = (beta+T)/(beta+T+t); at s = 1 the bracket over (s-1) is its limit -log q.
        """
        r, alpha, s, beta = self.values()
        horizon, x, t_x, age = arrays(t, frequency, recency, T)
        log_q = np.log(beta + age) - np.log(beta + age + horizon)
        rate = (r + x) * (beta + age) / (alpha + age)
        return np.clip(self.p_alive(x, t_x, age) * rate * _relative_growth(s - 1.0, log_q), 0.0, None)

    def p_no_purchase(
        self, t: object, frequency: object, recency: object, T: object, p_alive: object | None = None
    ) -> np.ndarray:
        """P(no purchase in (T, T+t] | history): dropped out, or alive and silent until the window ends or they leave.

        Given alive, lambda ~ gamma(r+x, alpha+T) and mu ~ gamma(s, beta+T); silent until
        min(lifetime, t) has probability ((beta+T)/(beta+T+t))^s ((alpha+T)/(alpha+T+t))^(r+x)
        + s (beta+T)^s (alpha+T)^(r+x) I(T, T+t).
        """
        values = self.values()
        r, alpha, s, beta = values
        horizon, x, t_x, age = arrays(t, frequency, recency, T)
        log_alpha, log_beta = np.log(alpha + age), np.log(beta + age)
        outlives = s * (log_beta - np.log(beta + age + horizon)) + (r + x) * (log_alpha - np.log(alpha + age + horizon))
        leaves = np.log(s) + s * log_beta + (r + x) * log_alpha + log_integral(values, x, age, age + horizon)
        silent_if_alive = np.clip(np.exp(outlives) + np.exp(leaves), 0.0, 1.0)
        alive = self.p_alive(x, t_x, age) if p_alive is None else p_alive
        return 1.0 - alive * (1.0 - silent_if_alive)

    def sf_purchases(
        self, k: object, t: object, frequency: object, recency: object, T: object, p_alive: object | None = None
    ) -> np.ndarray:
        """P(at least k purchases in (T, T+t] | history), k >= 1.

        Given alive the purchases are negative binomial over min(lifetime, t): the mass
        S(t) = ((beta+T)/(beta+T+t))^s of outliving the window, plus the lifetimes that end
        inside it, integrated over their distribution function v (8-node Gauss-Legendre, 1e-10;
        the lifetime at v is (beta+T)((1-v)^(-1/s) - 1)).
        """
        r, alpha, s, beta = self.values()
        count, horizon, x, t_x, age = arrays(k, t, frequency, recency, T)

        def counting(duration: np.ndarray) -> np.ndarray:
            return betainc(count, r + x, duration / (alpha + age + duration))

        outlive = np.exp(s * (np.log(beta + age) - np.log(beta + age + horizon)))
        ends_inside = 1.0 - outlive
        total = outlive * counting(horizon)
        with np.errstate(over="ignore"):
            for node, weight in zip(_NODES, _WEIGHTS, strict=True):  # 8 nodes, not customers
                v = ends_inside * (node + 1.0) / 2.0
                lifetime = np.minimum((beta + age) * np.expm1(-np.log1p(-v) / s), horizon)
                total = total + ends_inside * weight / 2.0 * counting(lifetime)
        alive = self.p_alive(x, t_x, age) if p_alive is None else p_alive
        return alive * np.clip(total, 0.0, 1.0)
