"""What a segmentation needs before any work: at least two segments, and two customers per segment.

``k = 1`` is not a segmentation (everybody in one group says nothing), and a segment of one
customer describes a person, not a group. So a fixed ``k`` must be at least 2 and the shop
must have at least ``2 * k`` customers; with ``k`` chosen automatically the shop needs at
least 4 customers (two segments of two) and the search never tries more than ``n // 2``
segments (:func:`feasible_k_range`). A bad ``k`` and a too-small file are user mistakes:
:class:`~shopseg.errors.ShopsegError` subclasses saying what was found and what to do.
"""

from __future__ import annotations

import numbers

from shopseg.errors import ConfigError, InputError, ShopsegError

#: Customers needed per segment.
CUSTOMERS_PER_SEGMENT = 2


def check_k(k: object) -> None:
    """Refuse a fixed number of segments below 2 (None = choose automatically)."""
    if k is None:
        return
    if isinstance(k, bool) or not isinstance(k, numbers.Integral) or int(k) < 2:
        raise ConfigError(
            f"--k must be a whole number of segments of at least 2, got {k!r}: one segment is everybody. "
            "Leave --k out (or 'auto') to let shopseg choose."
        )


def smallest_k(k: int | None) -> int:
    """The fewest segments a run asks for: ``k``, or 2 when it is chosen automatically."""
    return int(k) if k is not None else 2


def feasible_k_range(n_customers: int, k_range: tuple[int, int]) -> tuple[int, int]:
    """The automatic search range cut so that every segment can hold two customers (at least (2, 2))."""
    high = max(2, min(int(k_range[1]), n_customers // CUSTOMERS_PER_SEGMENT))
    return max(2, min(int(k_range[0]), high)), high


def check_customer_count(n_customers: int, k: int | None, source: str | None = None) -> None:
    """Refuse fewer than ``2 * k`` customers; ``source`` (a file) is named in the message when known."""
    needed = CUSTOMERS_PER_SEGMENT * smallest_k(k)
    if n_customers >= needed:
        return
    asked = f"--k {k}" if k is not None else "choosing k automatically (at least two segments)"
    problem = (
        f"only {n_customers:,} customer{'s' if n_customers != 1 else ''} to segment; {asked} needs at least "
        f"{needed:,} ({CUSTOMERS_PER_SEGMENT} per segment)."
    )
    hint = (
        "Give more order history, or a smaller --k (at least 2)."
        if k is None or k > 2
        else "Give more order history: two segments need at least four customers."
    )
    if source is not None:
        raise InputError(source, problem, hint=hint)
    raise ShopsegError(f"{problem[0].upper()}{problem[1:]} {hint}")
