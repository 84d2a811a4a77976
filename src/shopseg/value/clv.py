"""Customer lifetime value over a horizon, and when the next order may come.

CLV follows ``lifetimes``' ``customer_lifetime_value``: the horizon is cut into months of
30 days; month i contributes the expected purchases in that month (BG/NBD, conditional
on the customer's history) times the expected spend per purchase (Gamma-Gamma,
conditional on the customer's spend), discounted by ``(1 + discount_rate) ** i``::

    CLV = sum_i (E[Y(t_i)] - E[Y(t_(i-1))]) * E[spend] / (1 + d) ** i,   t_i = min(30 i, horizon)

``discount_rate`` is **per month** (0.01 a month is about 12.7 % a year). A horizon that is
not a whole number of months ends with a shorter last month, discounted as a full one.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from shopseg.value.bgnbd import BetaGeoModel

MONTH_DAYS = 30.0
#: Next-order estimates further out than this are clipped: "no order expected" in practice.
MAX_WAIT_DAYS = 3650


def month_ends(horizon_days: float) -> np.ndarray:
    """Ends of the discounting months, in days: 30, 60, ..., horizon_days. Shape (n_months,)."""
    if horizon_days <= 0:
        raise ValueError(f"horizon_days must be positive, got {horizon_days}")
    n_months = int(np.ceil(horizon_days / MONTH_DAYS - 1e-9))
    return np.minimum(MONTH_DAYS * np.arange(1, n_months + 1), float(horizon_days))


def customer_lifetime_value(
    bgnbd: BetaGeoModel,
    frequency: object,
    recency: object,
    T: object,
    expected_spend: object,
    *,
    horizon_days: float = 365.0,
    discount_rate: float = 0.01,
    time_unit_days: float = 1.0,
) -> np.ndarray:
    """Discounted expected spend over ``horizon_days`` per customer; see the module docstring.

    ``frequency``, ``recency``, ``T`` are the calibration summary in ``time_unit_days``
    units (the unit the model was fitted in); ``expected_spend`` is the expected spend per
    purchase (e.g. :meth:`GammaGammaModel.conditional_expected_average_spend`). Shapes (n,);
    returns (n,), finite and >= 0 when the spend is.
    """
    if discount_rate <= -1:
        raise ValueError(f"discount_rate must be > -1, got {discount_rate}")
    x, t_x, age, spend = (np.asarray(v, dtype="float64") for v in (frequency, recency, T, expected_spend))
    ends = month_ends(horizon_days) / time_unit_days
    # (n_months, n) expected cumulative purchases; one vectorised call per month (<= 13 for a year).
    cumulative = np.vstack([bgnbd.conditional_expected_purchases(end, x, t_x, age) for end in ends])
    monthly = np.diff(np.vstack([np.zeros_like(x)[None, :], cumulative]), axis=0)
    discounts = (1.0 + discount_rate) ** -np.arange(1, len(ends) + 1)
    return (discounts @ monthly) * spend


def next_order_date_estimate(
    bgnbd: BetaGeoModel,
    frequency: object,
    recency: object,
    T: object,
    observation_end: pd.Timestamp,
    *,
    time_unit_days: float = 1.0,
    max_wait_days: int = MAX_WAIT_DAYS,
) -> pd.DatetimeIndex:
    """Estimated date of each customer's next order.

    Definition: the end of the observed history plus the *median* waiting time to the next
    purchase of a customer who stays alive (:meth:`BetaGeoModel.median_wait_if_alive`,
    from the posterior purchase rate gamma(r + x, alpha + T)). It is forward-looking (never
    before ``observation_end``) and always finite. It does not include the chance that the
    customer has already left (read it with ``p_alive``): for rare buyers it is far away,
    and it is clipped at ``observation_end + max_wait_days`` (default 10 years), which
    means "no order expected". ``observation_end`` is the last observed day (the end of
    calibration, where T is measured); the wait is rounded up to whole days and is at
    least one day (that day is already observed). Shape (n,).
    """
    wait = bgnbd.median_wait_if_alive(frequency, recency, T) * time_unit_days
    wait = np.nan_to_num(np.atleast_1d(wait), nan=max_wait_days, posinf=max_wait_days)
    days = np.clip(np.ceil(wait), 1, max_wait_days).astype("int64")
    return pd.DatetimeIndex(pd.Timestamp(observation_end) + pd.to_timedelta(days, unit="D"))
