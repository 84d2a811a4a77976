"""Per-customer 90% intervals for future orders and CLV: predictive distribution + parameter uncertainty.

The number of orders a customer places in (T, T + t] is a random count even when the
model's parameters are known: :meth:`~shopseg.value.transaction.TransactionModel.sf_purchases`
gives its exact distribution (P(X >= k) given the history). The parameters are estimates,
so that distribution is averaged over :func:`draws_for` parameter sets drawn from the fit's
asymptotic normal (log scale): the result is the posterior-predictive distribution under a
normal approximation of the likelihood. Its 5% and 95% quantiles (smallest k with
P(X <= k) >= q; whole orders) bound the interval, so P(low <= X <= high) >= 0.90.

CLV intervals scale the order interval by the customer's expected discounted value per order
(clv / expected orders): they carry the uncertainty in *how many* orders come, not in the
value of each order (that part is the Gamma-Gamma / shrunk-mean point estimate).

Identical (x, t_x, T) histories are computed once; quantiles are found by stepping k (then
doubling and bisection for heavy buyers), vectorised over customers (no loop per customer).
"""

from __future__ import annotations

import numpy as np

from shopseg.value.transaction import TransactionModel, arrays

LEVELS = (0.05, 0.95)
#: Parameter draws for up to this many distinct histories; fewer above (the work is draws x histories).
DRAW_BUDGET = 100_000
MAX_DRAWS = 32
MIN_DRAWS = 4


def draw_count(n_histories: int) -> int:
    """Parameter draws for a shop: min(32, max(4, 100,000 / distinct histories)).

    Parameter uncertainty matters most where histories are few (small shops), where draws
    are cheap. Fixed once per fit, so scoring a shop in chunks gives the same intervals.
    """
    return int(np.clip(DRAW_BUDGET // max(n_histories, 1), MIN_DRAWS, MAX_DRAWS))


def draws_for(model: TransactionModel, n_draws: int, seed: int = 0) -> list[TransactionModel]:
    """The models to average over: the point estimate and ``n_draws`` parameter draws (none without a covariance)."""
    if not model.uncertainty_known:
        return [model]
    return [model, *(model.with_params(row) for row in model.parameter_draws(n_draws, seed))]


def _mixture_sf(models: list[TransactionModel], alive: list[np.ndarray], k: np.ndarray, t: float, x, t_x, age):
    """Mean over ``models`` of P(X >= k) (``alive``: each model's P(alive) of these rows); 1 where k <= 0.

    A draw far out in a flat direction of the likelihood can make a formula overflow for some
    histories; such NaN values are left out of the mean (the first model, the point estimate,
    is always finite).
    """
    positive = np.maximum(k, 1)
    total = np.zeros(k.shape)
    counted = np.zeros(k.shape)
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        for model, p_alive in zip(models, alive, strict=True):  # over parameter draws (<= 33), not customers
            value = model.sf_purchases(positive, t, x, t_x, age, p_alive=p_alive)
            finite = np.isfinite(value)
            total += np.where(finite, value, 0.0)
            counted += finite
    return np.where(k <= 0, 1.0, total / np.maximum(counted, 1))


def order_quantiles(
    model: TransactionModel,
    t: float,
    frequency: object,
    recency: object,
    T: object,
    *,
    levels: tuple[float, ...] = LEVELS,
    n_draws: int | None = None,
    seed: int = 0,
    max_orders: int = 1_000_000,
) -> tuple[np.ndarray, ...]:
    """Quantiles of the predictive number of orders in (T, T + t], one array (n,) per level.

    ``n_draws``: parameter draws (default :func:`draw_count` of these histories). The
    quantile of level q is the smallest k with P(X <= k) >= q. Found by stepping k = 0, 1,
    2, ... for every history at once (most customers' quantiles are a few orders, so this
    touches each history a few times), then by doubling and bisection for the heavy buyers
    still open after :data:`STEPS`.
    """
    x_all, tx_all, age_all = (a.ravel() for a in arrays(frequency, recency, T))
    if x_all.size == 0:
        return tuple(np.zeros(0) for _ in levels)
    stacked = np.column_stack([x_all, tx_all, age_all])
    unique, inverse = np.unique(stacked, axis=0, return_inverse=True)
    x, t_x, age = unique[:, 0], unique[:, 1], unique[:, 2]
    models = draws_for(model, draw_count(len(unique)) if n_draws is None else n_draws, seed)
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        alive = [m.p_alive(x, t_x, age) for m in models]

    def tail(k: np.ndarray, rows: np.ndarray) -> np.ndarray:  # P(X >= k) of the mixture, for these rows
        return _mixture_sf(models, [a[rows] for a in alive], k, t, x[rows], t_x[rows], age[rows])

    results = {level: np.full(len(unique), -1, dtype="int64") for level in levels}
    open_rows = np.arange(len(unique))
    for k in range(STEPS):  # P(X <= k) = 1 - P(X >= k + 1), one step for every open history
        cdf = 1.0 - tail(np.full(open_rows.size, k + 1), open_rows)
        for level, found in results.items():
            newly = (found[open_rows] < 0) & (cdf >= level)
            found[open_rows[newly]] = k
        open_rows = open_rows[results[max(levels)][open_rows] < 0]
        if not open_rows.size:
            break
    for level, found in results.items():  # heavy buyers: doubling, then bisection
        pending = np.flatnonzero(found < 0)
        if pending.size:
            found[pending] = _bisect(tail, pending, level, STEPS - 1, max_orders)
    return tuple(results[level].astype("float64")[inverse.ravel()] for level in levels)


#: Whole-order steps before switching to doubling and bisection.
STEPS = 24


def _bisect(tail, rows: np.ndarray, level: float, known_low: int, max_orders: int) -> np.ndarray:
    """Smallest k > ``known_low`` with P(X >= k + 1) <= 1 - level, for ``rows`` (vectorised)."""

    def enough(k: np.ndarray, subset: np.ndarray) -> np.ndarray:
        return tail(k + 1, subset) <= 1.0 - level

    low = np.full(rows.size, known_low, dtype="int64")
    high = np.full(rows.size, max(2 * known_low, 1), dtype="int64")
    waiting = np.flatnonzero(~enough(high, rows))
    while waiting.size and high[waiting].max() < max_orders:  # doubling: about log2(orders) rounds
        low[waiting] = high[waiting]
        high[waiting] *= 2
        waiting = waiting[~enough(high[waiting], rows[waiting])]
    active = np.flatnonzero(high - low > 1)
    while active.size:  # bisection between low (not enough) and high (enough)
        middle = (low[active] + high[active]) // 2
        ok = enough(middle, rows[active])
        high[active] = np.where(ok, middle, high[active])
        low[active] = np.where(ok, low[active], middle)
        active = active[high[active] - low[active] > 1]
    return high


def clv_interval(clv: np.ndarray, expected_orders: np.ndarray, low: np.ndarray, high: np.ndarray) -> tuple:
    """CLV bounds: the order bounds times the expected discounted value per order (0 without expected orders)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        per_order = np.where(expected_orders > 0, clv / expected_orders, 0.0)
    return low * per_order, high * per_order
