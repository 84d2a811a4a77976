"""Which forecast horizons make sense, with a message a person can act on for those that do not.

A horizon is a whole number of days, at least 1 and at most :data:`MAX_HORIZON_DAYS` (two
years: beyond that a shop's catalogue and customers change more than any purchase history
can say). It must also fit the history: the per-segment calibration compares the model with
what was bought in at least one earlier window of the same length, and the transaction model
needs the history before that window, so the history has to cover at least twice the horizon.
"""

from __future__ import annotations

import math
import numbers

from shopseg.errors import ConfigError

#: The longest horizon shopseg forecasts (days).
MAX_HORIZON_DAYS = 730
#: The history must cover this many horizons (one to fit on, one to calibrate against).
HISTORY_HORIZONS = 2


def check_horizon(value: object, history_days: int | None = None, *, flag: str = "--horizon-days") -> int:
    """The horizon as an int, or a :class:`ConfigError` saying what is wrong and what to use.

    ``value``: what the user gave (int, float or text). ``history_days``: days the order
    history spans (first to last purchase day), when known.
    """
    horizon = _whole_days(value, flag)
    if horizon < 1:
        raise ConfigError(f"{flag} must be at least 1 day, got {horizon}. Forecasts look ahead: use e.g. {flag} 90.")
    if horizon > MAX_HORIZON_DAYS:
        raise ConfigError(
            f"{flag} {horizon} is longer than shopseg forecasts (at most {MAX_HORIZON_DAYS} days, two years): "
            "purchase histories say little about demand that far ahead. Use a shorter horizon."
        )
    if history_days is not None and horizon * HISTORY_HORIZONS > history_days:
        longest = history_days // HISTORY_HORIZONS
        advice = f"Use {flag} {longest} or less." if longest >= 1 else "Load a longer order history."
        raise ConfigError(
            f"{flag} {horizon} is longer than the order history supports: it spans {history_days} days, and a "
            f"{horizon}-day forecast needs at least {HISTORY_HORIZONS * horizon} (a {horizon}-day window to "
            f"calibrate against and the history before it). {advice}"
        )
    return horizon


def _whole_days(value: object, flag: str) -> int:
    """``value`` as a whole number of days, or a ConfigError naming what was given."""
    if isinstance(value, bool):
        raise ConfigError(f"{flag} must be a whole number of days (e.g. 90), got {value!r}.")
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        if math.isfinite(value) and float(value).is_integer():
            return int(value)
        raise ConfigError(f"{flag} must be a whole number of days (e.g. 90), got {value!r}.")
    text = str(value).strip()
    try:
        return int(text)
    except ValueError:
        raise ConfigError(f"{flag} must be a whole number of days (e.g. 90), got '{text}'.") from None
