"""Forecast scores per level: WAPE, MASE and interval coverage.

* **WAPE** (weighted absolute percentage error) = sum |forecast - actual| / sum actual over the
  level's series: the share of the units sold that the forecast missed, weighted by volume.
* **MASE** (mean absolute scaled error, Hyndman & Koehler 2006) = the mean over the level's
  series of |forecast - actual| / scale, where a series' scale is its own in-sample error of
  the seasonal naive forecast: the mean |y_t - y_{t-1}| over consecutive horizon-length
  periods before the cut-off. Series whose scale is 0 (nothing changed, or never sold) are
  left out and counted. Below 1: better than the naive forecast was on the history.
* **coverage**: the share of series whose actual units lie in [p05, p95] (90% intended).
"""

from __future__ import annotations

import numpy as np


def wape(forecast: np.ndarray, actual: np.ndarray) -> float | None:
    """sum |f - a| / sum a (None when nothing was sold)."""
    total = float(np.sum(actual))
    return float(np.sum(np.abs(np.asarray(forecast) - np.asarray(actual))) / total) if total > 0 else None


def mase(forecast: np.ndarray, actual: np.ndarray, scale: np.ndarray) -> tuple[float | None, int]:
    """Mean of |f - a| / scale over series with scale > 0, and how many series were left out."""
    scale = np.asarray(scale, dtype="float64")
    usable = scale > 0
    if not usable.any():
        return None, int(scale.size)
    errors = np.abs(np.asarray(forecast) - np.asarray(actual))[usable] / scale[usable]
    return float(errors.mean()), int((~usable).sum())


def coverage(actual: np.ndarray, low: np.ndarray, high: np.ndarray) -> float | None:
    """Share of series with low <= actual <= high."""
    actual = np.asarray(actual)
    return float(np.mean((actual >= low) & (actual <= high))) if actual.size else None


def naive_scale(periods: np.ndarray) -> np.ndarray:
    """Per series, the mean |y_t - y_{t-1}| over consecutive periods (periods: (T, series), oldest first)."""
    if periods.shape[0] < 2:
        return np.zeros(periods.shape[1])
    return np.abs(np.diff(periods, axis=0)).mean(axis=0)
