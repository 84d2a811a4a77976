"""90% intervals of units from their mean and variance: negative binomial quantiles.

Units over a horizon are a count with more spread than a Poisson (customers buy in clumps,
purchase rates are uncertain), so a negative binomial with the same mean and variance gives
the 5% and 95% quantiles; where the variance does not exceed the mean, a Poisson. Quantiles
are whole units (smallest k with P(X <= k) >= q), so P(p05 <= X <= p95) >= 0.90 under the
fitted distribution.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

LEVELS = (0.05, 0.95)


def count_quantiles(mean: np.ndarray, variance: np.ndarray, levels: tuple[float, ...] = LEVELS) -> list[np.ndarray]:
    """Quantiles (one array per level) of counts with these means and variances (vectorised)."""
    mean = np.clip(np.asarray(mean, dtype="float64"), 0.0, None)
    variance = np.asarray(variance, dtype="float64")
    over = variance > mean * (1 + 1e-9)
    size = np.where(over, mean**2 / np.where(over, variance - mean, 1.0), 1.0)
    probability = np.where(over, mean / np.where(over, variance, 1.0), 0.5)
    out = []
    for level in levels:
        negative_binomial = stats.nbinom.ppf(level, np.maximum(size, 1e-12), np.clip(probability, 1e-12, 1.0))
        poisson = stats.poisson.ppf(level, mean)
        value = np.where(over & (mean > 0), negative_binomial, poisson)
        out.append(np.where(mean > 0, np.nan_to_num(value, nan=0.0), 0.0))
    return out
