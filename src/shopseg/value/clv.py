"""Customer lifetime value over a horizon, and when the next order may come.

CLV follows ``lifetimes``' ``customer_lifetime_value``: the horizon is cut into months of
30 days; month i contributes the expected purchases in that month (the transaction model,
conditional on the customer's history) times the expected spend per purchase (Gamma-Gamma,
conditional on the customer's spend), discounted by ``(1 + discount_rate) ** i``::

    CLV = sum_i (E[Y(t_i)] - E[Y(t_(i-1))]) * E[spend] / (1 + d) ** i,   t_i = min(30 i, horizon)

``discount_rate`` is **per month** (0.01 a month is about 12.7 % a year). A horizon that is
not a whole number of months ends with a shorter last month, discounted as a full one.

The bound (:func:`order_rate_bound`): a customer seen for a day or two (two orders a day
apart) has a posterior purchase rate the data cannot support over a year (BG/NBD gave one
such customer 41.8 expected orders and CLV 71,616 on a 3-month shop). For customers observed
for less than :data:`MIN_OBSERVED_DAYS` days, expected orders over the horizon are therefore
capped at horizon x the 99th percentile of the purchase rates x / T of customers observed for
at least that long (all customers with T > 0 when fewer than :data:`MIN_RATE_CUSTOMERS`
qualify); CLV and the upper interval bound are scaled down with them, and the report counts
the customers capped. Customers observed longer keep the model's prediction: their own
history supports it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from shopseg.value.transaction import TransactionModel

MONTH_DAYS = 30.0
#: Customers observed at least this long count towards the purchase-rate bound.
MIN_OBSERVED_DAYS = 30.0
#: Fewer such customers than this and every customer with T > 0 counts.
MIN_RATE_CUSTOMERS = 20
RATE_QUANTILE = 0.99


def month_ends(horizon_days: float) -> np.ndarray:
    """Ends of the discounting months, in days: 30, 60, ..., horizon_days. Shape (n_months,)."""
    if horizon_days <= 0:
        raise ValueError(f"horizon_days must be positive, got {horizon_days}")
    n_months = int(np.ceil(horizon_days / MONTH_DAYS - 1e-9))
    return np.minimum(MONTH_DAYS * np.arange(1, n_months + 1), float(horizon_days))


def order_rate_bound(frequency: object, T: object, *, time_unit_days: float = 1.0) -> float | None:
    """The highest credible purchase rate per day: the 99th percentile of x / T (see the module docstring).

    None when no customer has been observed for any time (every T is 0).
    """
    x = np.asarray(frequency, dtype="float64")
    age_days = np.asarray(T, dtype="float64") * time_unit_days
    observed = age_days >= MIN_OBSERVED_DAYS
    if observed.sum() < MIN_RATE_CUSTOMERS:
        observed = age_days > 0
    if not observed.any():
        return None
    return float(np.quantile(x[observed] / age_days[observed], RATE_QUANTILE))


#: Up to this many (month, customer) pairs, CLV's expected purchases are computed in one call.
ONE_CALL_ELEMENTS = 4096


def customer_lifetime_value(
    model: TransactionModel,
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
    # (n_months, n) expected cumulative purchases: one vectorised call per month (<= 13 for a year),
    # or, for few customers (the real-time update scores one), one call over every (month, customer)
    # pair; the formulas are elementwise, so both give the same numbers.
    if x.size * len(ends) <= ONE_CALL_ELEMENTS:
        n = x.size
        flat = model.conditional_expected_purchases(
            np.repeat(ends, n),
            np.tile(x.ravel(), len(ends)),
            np.tile(t_x.ravel(), len(ends)),
            np.tile(age.ravel(), len(ends)),
        )
        cumulative = np.asarray(flat).reshape(len(ends), n)
    else:
        cumulative = np.vstack([model.conditional_expected_purchases(end, x, t_x, age) for end in ends])
    monthly = np.diff(np.vstack([np.zeros_like(x)[None, :], cumulative]), axis=0)
    discounts = (1.0 + discount_rate) ** -np.arange(1, len(ends) + 1)
    return (discounts @ monthly) * spend


def next_order_date_estimate(
    model: TransactionModel,
    frequency: object,
    recency: object,
    T: object,
    observation_end: pd.Timestamp,
    *,
    horizon_days: float = 365.0,
    time_unit_days: float = 1.0,
) -> pd.DatetimeIndex:
    """Estimated date of each customer's next order, empty (NaT) when none is expected within the horizon.

    Definition: the end of the observed history plus the *median* wait to the next
    purchase, counting that the customer may have left (:meth:`TransactionModel.next_purchase_median`):
    the day by which an order is as likely as not. When P(no order within ``horizon_days``)
    is 1/2 or more there is no such day within the horizon and the date is left empty,
    never a far-future placeholder. ``observation_end`` is the last observed day (T is
    measured to it); the wait is rounded up to whole days and is at least one day. Shape (n,).
    """
    wait = model.next_purchase_median(frequency, recency, T, horizon_days / time_unit_days) * time_unit_days
    wait = np.atleast_1d(wait)
    days = np.clip(np.ceil(np.nan_to_num(wait, nan=0.0)), 1, horizon_days)
    dates = pd.Timestamp(observation_end) + pd.to_timedelta(days, unit="D")
    return pd.DatetimeIndex(np.where(np.isnan(wait), np.datetime64("NaT"), dates.to_numpy()))
