"""BG/NBD: how many purchases a customer will make, and whether they are still a customer.

The beta-geometric/negative-binomial model (Fader, Hardie & Lee 2005, "Counting your
customers the easy way"): while alive, a customer buys at a Poisson rate ``lambda``
(gamma distributed over customers with shape ``r`` and rate ``alpha``); after each repeat
purchase they drop out for good with probability ``p`` (beta distributed with ``a``,
``b``). Inputs per customer are ``frequency`` x (repeat purchases), ``recency`` t_x and
age ``T`` in one time unit (see :mod:`shopseg.value.summary`); ``alpha`` is in that unit.

MBG/NBD (Batislam, Denizel & Filiztekin 2007; :mod:`shopseg.value.mbgnbd`) differs in one
point: a customer may also drop out right after the *first* purchase, so one-time buyers are
not certainly alive. Both share the code below through ``SHIFT`` (0 for BG/NBD, 1 for
MBG/NBD: the number of extra dropout chances).

Fitting is maximum likelihood with scipy (L-BFGS-B on log-parameters, analytic gradient).
The BG/NBD log-likelihood of one customer is::

    log L = lgamma(r+x) - lgamma(r) + r log(alpha) - betaln(a, b)
            + logaddexp(betaln(a, b+x) - (r+x) log(alpha+T),
                        [x>0] betaln(a+1, b+x-1) - (r+x) log(alpha+t_x))

which never forms the huge gamma or power terms, so it stays finite for x in the
thousands. Identical (x, t_x, T) rows are fitted once with their count as weight.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from scipy.special import betainc, betaln, digamma, gammaln, hyp2f1

from shopseg.value.transaction import TransactionModel, arrays, check_summary, register

__all__ = ["BetaGeoModel", "check_summary", "log_likelihood", "log_likelihood_terms"]

PARAMS = ("r", "alpha", "a", "b")


def beta_geometric_terms(
    params: np.ndarray, x: np.ndarray, t_x: np.ndarray, T: np.ndarray, shift: int
) -> tuple[np.ndarray, np.ndarray]:
    """Per-row log-likelihood (m,) and gradient wrt (r, alpha, a, b), shape (m, 4).

    ``shift`` 0: BG/NBD (dropout only after repeat purchases); 1: MBG/NBD (also right after
    the first purchase). With b' = b + x + shift::

        log L = lgamma(r+x) - lgamma(r) + r log(alpha) - betaln(a, b)
                + logaddexp(betaln(a, b') - (r+x) log(alpha+T),
                            [x > 0 or shift] betaln(a+1, b'-1) - (r+x) log(alpha+t_x))
    """
    r, alpha, a, b = params
    dead_possible = (x > 0) | (shift > 0)
    b_alive = b + x + shift
    b_dead = np.where(dead_possible, b_alive - 1, 1.0)  # keeps betaln defined where it is masked out
    common = gammaln(r + x) - gammaln(r) + r * np.log(alpha) - betaln(a, b)
    log_T, log_tx = np.log(alpha + T), np.log(alpha + t_x)
    alive = betaln(a, b_alive) - (r + x) * log_T
    dead = np.where(dead_possible, betaln(a + 1, b_dead) - (r + x) * log_tx, -np.inf)
    total = np.logaddexp(alive, dead)
    w_alive = np.exp(alive - total)
    w_dead = np.exp(dead - total)  # 0 where dropout is impossible

    psi_ab = digamma(a + b_alive)
    gradient = np.empty((x.size, 4))
    gradient[:, 0] = digamma(r + x) - digamma(r) + np.log(alpha) - w_alive * log_T - w_dead * log_tx
    gradient[:, 1] = r / alpha - (r + x) * (w_alive / (alpha + T) + w_dead / (alpha + t_x))
    gradient[:, 2] = (
        -(digamma(a) - digamma(a + b)) + w_alive * (digamma(a) - psi_ab) + w_dead * (digamma(a + 1) - psi_ab)
    )
    gradient[:, 3] = (
        -(digamma(b) - digamma(a + b)) + w_alive * (digamma(b_alive) - psi_ab) + w_dead * (digamma(b_dead) - psi_ab)
    )
    return common + total, gradient


def log_likelihood_terms(
    params: np.ndarray, x: np.ndarray, t_x: np.ndarray, T: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """BG/NBD per-row log-likelihood (m,) and its gradient wrt (r, alpha, a, b), shape (m, 4)."""
    return beta_geometric_terms(params, x, t_x, T, 0)


def log_likelihood(params: np.ndarray, x: np.ndarray, t_x: np.ndarray, T: np.ndarray, weights: np.ndarray) -> float:
    """Weighted total log-likelihood of BG/NBD parameters (r, alpha, a, b)."""
    return float(weights @ log_likelihood_terms(np.asarray(params, dtype="float64"), x, t_x, T)[0])


@register
@dataclass
class BetaGeoModel(TransactionModel):
    """The BG/NBD model (see the module docstring); predictions as in :class:`TransactionModel`.

    P(alive) of a one-time buyer is 1 here by construction (dropout only follows a repeat
    purchase); :class:`~shopseg.value.mbgnbd.ModifiedBetaGeoModel` lifts that restriction.
    """

    name: ClassVar[str] = "bgnbd"
    label: ClassVar[str] = "BG/NBD"
    PARAMS: ClassVar[tuple[str, ...]] = PARAMS
    TIME_PARAMS: ClassVar[tuple[str, ...]] = ("alpha",)
    #: Extra dropout chances: 0 for BG/NBD, 1 for MBG/NBD (right after the first purchase).
    SHIFT: ClassVar[int] = 0

    @classmethod
    def log_likelihood_terms(cls, params, x, t_x, T):  # type: ignore[override]
        return beta_geometric_terms(params, x, t_x, T, cls.SHIFT)

    def log_odds_dead(self, frequency: object, recency: object, T: object) -> np.ndarray:
        """log(P(dead) / P(alive)); -inf for BG/NBD customers without repeat purchases."""
        r, alpha, a, b = self.values()
        x, t_x, age = arrays(frequency, recency, T)
        possible = (x > 0) | (self.SHIFT > 0)
        b_dead = np.where(possible, b + x + self.SHIFT - 1, 1.0)
        odds = np.log(a) - np.log(b_dead) + (r + x) * (np.log(alpha + age) - np.log(alpha + t_x))
        return np.where(possible, odds, -np.inf)

    def conditional_expected_purchases(self, t: object, frequency: object, recency: object, T: object) -> np.ndarray:
        """Expected purchases in (T, T + t] given the history (FHL 2005, eq. 10; MBG/NBD analogue).

        With b' = b + x + SHIFT the expectation is
        (a+b'-1)/(a-1) [1 - (1-z)^(r+x) 2F1(r+x, b'; a+b'-1; z)] P(alive), z = t/(alpha+T+t).
        The Gauss hypergeometric term is rewritten with Euler's transformation,
        ``(1-z)^(r+x) 2F1(r+x, b'; c; z) = (1-z)^(a-1) 2F1(c-r-x, a-1; c; z)``, c = a+b'-1,
        whose parameters do not grow with x, so it stays accurate and finite for heavy buyers.
        """
        r, alpha, a, b = self.values()
        if abs(a - 1.0) < 1e-7:  # the formula has a removable singularity at a = 1
            a = 1.0 + 1e-7
        horizon, x, t_x, age = arrays(t, frequency, recency, T)
        b_alive = b + x + self.SHIFT
        c = a + b_alive - 1
        one_minus_z = (alpha + age) / (alpha + age + horizon)
        # The series can overflow or turn NaN for some parameter/history combinations; those
        # entries take the fallback below, so numpy's warnings about them are not printed.
        with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
            series = hyp2f1(c - r - x, a - 1, c, 1.0 - one_minus_z)
            bracket = 1.0 - one_minus_z ** (a - 1) * series
            expected = c / (a - 1) * bracket * self.p_alive(x, t_x, age)
        # Fallback where the hypergeometric series fails: the expected rate of a living
        # customer times t, times P(alive), an upper bound.
        fallback = self.p_alive(x, t_x, age) * (r + x) / (alpha + age) * horizon
        expected = np.where(np.isfinite(expected), expected, fallback)
        return np.clip(expected, 0.0, None)

    def p_no_purchase(
        self, t: object, frequency: object, recency: object, T: object, p_alive: object | None = None
    ) -> np.ndarray:
        """P(no purchase in (T, T + t] | history) = 1 - P(alive) (1 - ((alpha+T)/(alpha+T+t))^(r+x)).

        Given alive, the posterior rate is gamma(r + x, alpha + T), and a customer can only
        drop out right after a purchase, so a living customer's chance of no purchase in t
        is the posterior mean of exp(-lambda t).
        """
        r, alpha, _, _ = self.values()
        horizon, x, t_x, age = arrays(t, frequency, recency, T)
        silent_if_alive = np.exp((r + x) * (np.log(alpha + age) - np.log(alpha + age + horizon)))
        alive = self.p_alive(x, t_x, age) if p_alive is None else p_alive
        return 1.0 - alive * (1.0 - silent_if_alive)

    def sf_purchases(
        self, k: object, t: object, frequency: object, recency: object, T: object, p_alive: object | None = None
    ) -> np.ndarray:
        """P(at least k purchases in (T, T + t] | history), k >= 1.

        Given alive, lambda ~ gamma(r+x, alpha+T) and p ~ beta(a, b') independently; the
        purchases are min(N, G) with N negative binomial (Poisson counts over t) and G the
        purchase after which the customer drops out (P(G >= k) = B(a, b'+k-1) / B(a, b')), so
        P(X >= k) = P(alive) I_{t/(alpha+T+t)}(k, r+x) B(a, b'+k-1) / B(a, b').
        """
        r, alpha, a, b = self.values()
        count, horizon, x, t_x, age = arrays(k, t, frequency, recency, T)
        b_alive = b + x + self.SHIFT
        counting = betainc(count, r + x, horizon / (alpha + age + horizon))
        surviving = np.exp(betaln(a, b_alive + count - 1) - betaln(a, b_alive))
        alive = self.p_alive(x, t_x, age) if p_alive is None else p_alive
        return alive * counting * surviving
