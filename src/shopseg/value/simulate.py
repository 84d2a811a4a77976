"""Simulate customers from the BG/NBD and Gamma-Gamma generative processes (numpy, vectorised).

Used to check that the fitters recover known parameters and to time them at a million
customers. Two outputs:

* :func:`simulate_summary` -- only (x, t_x, T) and mean repeat spend per customer, fast
  enough for 1M customers (no purchase list is built);
* :func:`simulate_orders` -- canonical order lines (customer_id, order_id, ts, amount,
  is_return), for end-to-end tests of the value stage on data with a known truth.

Process (FHL 2005): lambda ~ gamma(r, rate alpha), p ~ beta(a, b); a customer makes a
first purchase at time 0, then repeat purchases at Poisson rate lambda, and after each
repeat purchase drops out with probability p. Spend per purchase ~ gamma(p_s, rate nu),
nu ~ gamma(q, rate gamma).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from shopseg import schema as s


@dataclass(frozen=True)
class TrueParams:
    """Parameters of the generative process (BG/NBD in days, Gamma-Gamma in currency)."""

    r: float = 0.25
    alpha: float = 30.0
    a: float = 0.8
    b: float = 2.5
    p: float = 6.0
    q: float = 4.0
    gamma: float = 15.0


def _customers(n: int, params: TrueParams, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rates = rng.gamma(params.r, 1.0 / params.alpha, size=n)
    dropout = rng.beta(params.a, params.b, size=n)
    lifetime_purchases = rng.geometric(np.clip(dropout, 1e-12, 1.0))  # dies right after this repeat purchase
    spend_rate = rng.gamma(params.q, 1.0 / params.gamma, size=n)
    return rates, lifetime_purchases, spend_rate


def simulate_summary(
    n: int, params: TrueParams = TrueParams(), *, max_age_days: int = 365, seed: int = 0
) -> pd.DataFrame:
    """(frequency, recency, T, monetary_value) of ``n`` simulated customers, in whole days.

    Ages T are uniform on 1..max_age_days. Given N(T) = k Poisson arrivals, the x-th of them
    (x = min(k, lifetime purchases)) is the x-th order statistic of k uniforms on (0, T),
    i.e. T * beta(x, k - x + 1): no purchase list is needed. Times are floored to whole days
    (as day-aggregated data would be; same-day repeat purchases are not merged, which is
    rare at these rates). Mean repeat spend: the mean of x gamma(p, nu) draws is
    gamma(p x, rate nu x), rounded to cents. Shape: n rows.
    """
    rng = np.random.default_rng(seed)
    rates, lifetime_purchases, spend_rate = _customers(n, params, rng)
    age = rng.integers(1, max_age_days + 1, size=n).astype("float64")
    arrivals = rng.poisson(rates * age)
    x = np.minimum(arrivals, lifetime_purchases)
    repeat = x > 0
    last = np.zeros(n)
    last[repeat] = age[repeat] * rng.beta(x[repeat], arrivals[repeat] - x[repeat] + 1)
    recency = np.minimum(np.floor(last), age)
    monetary = np.zeros(n)
    monetary[repeat] = rng.gamma(params.p * x[repeat], 1.0 / (spend_rate[repeat] * x[repeat]))
    return pd.DataFrame(
        {"frequency": x.astype("int64"), "recency": recency, "T": age, "monetary_value": np.round(monetary, 2)}
    )


def simulate_orders(
    n: int,
    params: TrueParams = TrueParams(),
    *,
    start: str = "2023-01-01",
    acquisition_days: int = 90,
    history_days: int = 540,
    seed: int = 0,
) -> pd.DataFrame:
    """Canonical order lines of ``n`` simulated customers (one line per purchase, no returns).

    First purchases are spread over the first ``acquisition_days`` days after ``start``;
    purchases stop at ``history_days``. Vectorised: every customer's Poisson arrivals are
    drawn at once and cut by their lifetime and the end of the history.
    """
    if history_days < 1:
        raise ValueError(f"history_days must be at least 1, got {history_days}")
    rng = np.random.default_rng(seed)
    rates, lifetime_purchases, spend_rate = _customers(n, params, rng)
    first = rng.integers(0, max(1, min(acquisition_days, history_days)), size=n).astype("float64")
    horizon = history_days - first
    arrivals = rng.poisson(rates * horizon)
    k = np.minimum(arrivals, lifetime_purchases)
    owner = np.repeat(np.arange(n), arrivals)
    offsets = rng.uniform(0.0, 1.0, size=owner.size) * horizon[owner]
    order = np.lexsort((offsets, owner))
    owner, offsets = owner[order], offsets[order]
    rank = np.arange(owner.size) - np.repeat(np.cumsum(arrivals) - arrivals, arrivals)
    keep = rank < k[owner]
    owner = np.concatenate([np.arange(n), owner[keep]])
    times = np.concatenate([first, first[owner[n:]] + offsets[keep]])
    amounts = rng.gamma(params.p, 1.0 / spend_rate[owner])
    ts = pd.Timestamp(start) + pd.to_timedelta(np.floor(times * 86400), unit="s")
    orders = pd.DataFrame(
        {
            s.CUSTOMER_ID: ("C" + pd.Series(owner).astype(str).str.zfill(7)).to_numpy(dtype=object),
            s.TS: ts,
            s.AMOUNT: np.round(amounts, 2),
        }
    ).sort_values([s.CUSTOMER_ID, s.TS], kind="stable")
    orders.insert(1, s.ORDER_ID, ("O" + pd.Series(np.arange(len(orders))).astype(str).str.zfill(8)).to_numpy(object))
    orders[s.IS_RETURN] = False
    return orders.reset_index(drop=True)
