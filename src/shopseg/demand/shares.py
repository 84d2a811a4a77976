"""Units per purchase day and product / category shares per segment, shrunk toward the shop's.

For segment g with D_g purchase days and U_g units in the history, units per purchase day
are u_g = U_g / D_g. Its share of node j (a product or a category) is

    pi_gj = (U_gj + prior * pi_j) / (U_g + prior)

where pi_j is the shop's share and ``prior`` counts pseudo units (by default one per node
of the level: a segment that bought little looks like the shop, one that bought much like
itself). The expected units of node j in one purchase day of segment g are a_gj = u_g pi_gj,
with u_g the units per purchase day *ahead*: the forecast passes those measured on earlier
windows (:mod:`~shopseg.demand.baskets`), the history's U_g / D_g being biased for
segments chosen on that history.

The spread of those units matters for the intervals: a purchase day buys a product in
lines and quantities, so units come in clumps. ``dispersion`` is sum(x^2) / sum(x) over the
purchase days' units x of the level's nodes, per segment (1 when every unit comes alone):
then E[X_j^2] ~ a_gj * dispersion for one purchase day.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from shopseg import schema as s
from shopseg.demand.lines import DAY, UNITS


@dataclass
class LevelShares:
    """One level's per-purchase-day units: ``segment`` (G, J) from the segment's shares,
    ``shop`` (G, J) from the shop's shares, and ``dispersion`` (G,)."""

    names: np.ndarray
    segment: np.ndarray
    shop: np.ndarray
    dispersion: np.ndarray


@dataclass
class Shares:
    """Units per purchase day ahead (``per_day``, (G,)) and in the history (``history_per_day``),
    purchase days behind each segment's shares (``days``) and the shop's (``shop_days``), the
    whole purchase day's dispersion and each level's :class:`LevelShares`."""

    segments: np.ndarray
    per_day: np.ndarray
    days: np.ndarray
    dispersion: np.ndarray
    levels: dict[str, LevelShares]
    history_per_day: np.ndarray
    shop_days: float


def _dispersion(table: pd.DataFrame, key: list[str], position: pd.Series, n_segments: int) -> np.ndarray:
    """sum(x^2) / sum(x) per segment of units x per purchase day and ``key`` (1 where nothing was bought)."""
    per_day = table.groupby([s.SEGMENT_ID, s.CUSTOMER_ID, DAY, *key], sort=False)[UNITS].sum().reset_index()
    index = position.reindex(per_day[s.SEGMENT_ID].to_numpy()).to_numpy()
    units = per_day[UNITS].to_numpy(dtype="float64")
    total = np.bincount(index, weights=units, minlength=n_segments)
    squares = np.bincount(index, weights=units**2, minlength=n_segments)
    return np.where(total > 0, squares / np.where(total > 0, total, 1.0), 1.0)


def level_shares(
    table: pd.DataFrame,
    segments: np.ndarray,
    column: str,
    names: np.ndarray,
    per_day: np.ndarray,
    prior: float | None,
    measured: pd.DataFrame | None = None,
) -> LevelShares:
    """:class:`LevelShares` of ``column`` (product_id or category) over the nodes ``names``.

    The shop's shares come from ``table``; the segments' from ``measured`` (default ``table``).
    """
    position = pd.Series(np.arange(len(segments)), index=segments)
    shop = _units(table, segments, column, names).sum(axis=0)
    shop = shop / max(shop.sum(), 1e-12)
    units = _units(table if measured is None else measured, segments, column, names)
    strength = float(len(names)) if prior is None else float(prior)
    totals = units.sum(axis=1, keepdims=True)
    share = (units + strength * shop) / (totals + strength)
    return LevelShares(
        names=names,
        segment=per_day[:, None] * share,
        shop=per_day[:, None] * shop[None, :],
        dispersion=_dispersion(table, [column], position, len(segments)),
    )


def _units(table: pd.DataFrame, segments: np.ndarray, column: str, names: np.ndarray) -> np.ndarray:
    """Units per segment (rows, in ``segments``' order) and node of ``column`` (columns, in ``names``' order)."""
    units = table.pivot_table(index=s.SEGMENT_ID, columns=column, values=UNITS, aggfunc="sum", fill_value=0.0)
    return units.reindex(index=segments, columns=names, fill_value=0.0).to_numpy(dtype="float64")


def history_per_day(table: pd.DataFrame, segments: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Units per purchase day of each segment in ``table`` (the shop's where it has none), and its purchase days."""
    position = pd.Series(np.arange(len(segments)), index=segments)
    index = position.reindex(table[s.SEGMENT_ID].to_numpy()).to_numpy()
    units = np.bincount(index, weights=table[UNITS].to_numpy(dtype="float64"), minlength=len(segments))
    days = table.drop_duplicates([s.CUSTOMER_ID, DAY])
    day_count = np.bincount(position.reindex(days[s.SEGMENT_ID].to_numpy()).to_numpy(), minlength=len(segments))
    shop_per_day = units.sum() / max(day_count.sum(), 1)
    per_day = np.where(day_count > 0, units / np.maximum(day_count, 1), shop_per_day)
    return per_day, day_count.astype("float64")


def segment_shares(
    table: pd.DataFrame,
    segments: np.ndarray,
    products: np.ndarray,
    categories: np.ndarray,
    *,
    product_prior: float | None = None,
    category_prior: float | None = None,
    per_day: np.ndarray | None = None,
    measured: pd.DataFrame | None = None,
) -> Shares:
    """:class:`Shares` from unit lines ``table`` (see :mod:`shopseg.demand.lines`) up to the forecast day.

    ``per_day``: units per purchase day expected ahead, per segment (default: the history's,
    :func:`history_per_day`). ``measured``: the lines the segments' shares are measured on
    (default ``table``); the forecast passes the window-ahead lines
    (:func:`~shopseg.demand.ahead.ahead_lines`) for both, and the shop's shares stay the
    history's. The dispersion is the history's.
    """
    position = pd.Series(np.arange(len(segments)), index=segments)
    history, day_count = history_per_day(table, segments)
    per_day = history if per_day is None else np.asarray(per_day, dtype="float64")
    measured_days = day_count if measured is None else history_per_day(measured, segments)[1]
    return Shares(
        segments=segments,
        per_day=per_day,
        history_per_day=history,
        days=measured_days,
        shop_days=float(day_count.sum()),
        dispersion=_dispersion(table, [], position, len(segments)),
        levels={
            "product": level_shares(table, segments, s.PRODUCT_ID, products, per_day, product_prior, measured),
            "category": level_shares(table, segments, s.CATEGORY, categories, per_day, category_prior, measured),
        },
    )
