"""Expected units per product per segment over a horizon, with 90% intervals, at every level.

:func:`forecast_demand` puts the demand stage's parts together (see :mod:`shopseg.demand`):

1. expected purchase days per segment (:func:`~shopseg.demand.level.segment_orders`), per
   parameter draw, with their variance;
2. base forecasts of every node of the hierarchy: segment-level nodes (segment,
   segment/category, segment/product) multiply the segment's purchase days by its own units
   per purchase day and shares, both measured on what its customers bought in the windows
   after earlier days (:mod:`~shopseg.demand.ahead`; shares shrunk toward the shop's);
   shop-level nodes (total, category, product) multiply the shop's purchase days by the
   shop's shares (its whole history). Each base forecast has a
   variance: the spread of purchase days (within a parameter draw, and between draws), the
   clumping of units within a purchase day, the uncertainty of the share itself, and the
   model's misfit measured on the earlier windows;
3. a seasonal index for the window (:mod:`~shopseg.demand.seasonality`; 1 when the history
   shows no significant season);
4. reconciliation (:func:`~shopseg.demand.hierarchy.reconcile_wls`, MinT with the base
   variances as weights; or ``bottom_up``), so every level adds up exactly;
5. p05 / p95 of each node from a negative binomial with the reconciled mean and the base
   variance scaled with it (:mod:`~shopseg.demand.intervals`).

Every window read puts customers in their segment as of that window's start
(:class:`~shopseg.demand.membership.Membership`), never the one the whole history gave them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from shopseg import schema as s
from shopseg.demand.ahead import ahead_lines, window_baskets
from shopseg.demand.hierarchy import BOTTOM, LEVEL, LEVELS, Hierarchy, build_hierarchy, reconcile_wls
from shopseg.demand.intervals import count_interval
from shopseg.demand.level import CALIBRATION_WINDOWS, SegmentOrders, membership_days, segment_orders
from shopseg.demand.lines import DAY, UNITS, UnitLines
from shopseg.demand.membership import Membership, lines_membership, segment_universe
from shopseg.demand.seasonality import seasonal_index
from shopseg.demand.shares import Shares, history_per_day, segment_shares
from shopseg.errors import ConfigError
from shopseg.value.selection import CANDIDATES
from shopseg.value.transaction import TransactionModel

EXPECTED, LOW, HIGH, BASE = "expected_units", "p05", "p95", "base_units"
#: The columns of demand.csv / demand.parquet, in order.
DEMAND_COLUMNS = (s.SEGMENT_ID, s.PRODUCT_ID, EXPECTED, LOW, HIGH)
RECONCILIATIONS = ("mint_wls", "bottom_up")


@dataclass
class DemandForecast:
    """What :func:`forecast_demand` returns.

    ``table``: one row per (segment, product): :data:`DEMAND_COLUMNS` plus category.
    ``levels``: one row per node of every level (level, segment_id, category, product_id,
    expected_units, p05, p95, base_units: the forecast before reconciliation).
    ``report``: JSON-ready facts (demand.json).
    """

    table: pd.DataFrame
    levels: pd.DataFrame
    report: dict[str, object]
    hierarchy: Hierarchy = field(repr=False)

    def level(self, name: str) -> pd.DataFrame:
        """The rows of one level of ``levels``."""
        return self.levels.loc[self.levels[LEVEL] == name]


def node_moments(
    orders: SegmentOrders, per_day: np.ndarray, dispersion: np.ndarray, days: np.ndarray, *, summed: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Point forecast and variance of nodes whose units per purchase day of segment g are ``per_day`` (G, J).

    Units of a node = sum over the segment's N purchase days of X (units of the node in one
    purchase day; mean a, E[X^2] ~ a * dispersion). For each parameter draw d:
    var = E[N] var(X) + var(N) a^2; then the variance between draws' means is added, and
    the share's estimation variance E[N]^2 * a * dispersion / (history purchase days) and
    the model's misfit (level_error * E[N] * a)^2, independent between segments.
    ``summed``: add the segments up (shop-level nodes) -> (J,); else (G * J,).
    """
    mean_n, var_n = orders.mean[:, :, None], orders.variance[:, :, None]
    a = per_day[None]
    per_day_var = np.clip(a * dispersion[None, :, None] - a**2, 0.0, None)
    means = mean_n * a
    within = mean_n * per_day_var + var_n * a**2
    share = orders.point[:, None] ** 2 * per_day * dispersion[:, None] / np.maximum(days, 1.0)[:, None]
    share = share + (orders.level_error * orders.point[:, None] * per_day) ** 2  # the model's misfit
    if summed:
        means, within, share = means.sum(axis=1), within.sum(axis=1), share.sum(axis=0)
    else:
        means, within, share = means.reshape(means.shape[0], -1), within.reshape(within.shape[0], -1), share.ravel()
    return means[0], within.mean(axis=0) + means.var(axis=0) + share


def _universe(
    lines: UnitLines, segments: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Segments (default: those on the lines), products, categories and each product's category position."""
    table = lines.table
    segments = np.sort(table[s.SEGMENT_ID].unique()) if segments is None else np.asarray(segments)
    catalogue = table.drop_duplicates(s.PRODUCT_ID).sort_values(s.PRODUCT_ID)
    products = catalogue[s.PRODUCT_ID].to_numpy(dtype=object)
    categories = np.sort(catalogue[s.CATEGORY].unique()).astype(object)
    product_category = np.searchsorted(categories, catalogue[s.CATEGORY].to_numpy())
    return segments, products, categories, product_category


def _base_forecasts(orders: SegmentOrders, shares: Shares, hierarchy: Hierarchy) -> tuple[np.ndarray, np.ndarray]:
    """Base forecasts and variances of every node, in the hierarchy's node order."""
    all_days = np.full_like(shares.days, shares.shop_days)
    product, category = shares.levels["product"], shares.levels["category"]
    per_day = shares.per_day[:, None]
    parts = {
        "total": node_moments(orders, per_day, shares.dispersion, all_days, summed=True),
        "segment": node_moments(orders, per_day, shares.dispersion, shares.days, summed=False),
        "category": node_moments(orders, category.shop, category.dispersion, all_days, summed=True),
        "product": node_moments(orders, product.shop, product.dispersion, all_days, summed=True),
        "segment/category": node_moments(orders, category.segment, category.dispersion, shares.days, summed=False),
        BOTTOM: node_moments(orders, product.segment, product.dispersion, shares.days, summed=False),
    }
    base = np.concatenate([parts[level][0] for level in LEVELS])
    variance = np.concatenate([parts[level][1] for level in LEVELS])
    assert base.size == hierarchy.summing.shape[0]
    return base, variance


def forecast_demand(
    lines: UnitLines,
    model_name: str,
    *,
    horizon_days: int,
    as_of: pd.Timestamp | None = None,
    model: TransactionModel | None = None,
    n_draws: int = 8,
    seed: int = 0,
    reconciliation: str = "mint_wls",
    product_prior: float | None = None,
    category_prior: float | None = None,
    windows: int = CALIBRATION_WINDOWS,
    candidates: tuple[str, ...] | None = CANDIDATES,
    membership: Membership | None = None,
    segments: np.ndarray | None = None,
) -> DemandForecast:
    """Demand per node over (as_of, as_of + horizon_days]; see the module docstring.

    ``lines``: :func:`~shopseg.demand.lines.unit_lines` output (only lines up to ``as_of``
    are used; every product and segment in ``lines`` gets a row, so a back-test scores
    products first sold after the cut-off too). ``model_name``: the transaction model
    (registry name, the value stage's choice); ``model``: that model fitted up to ``as_of``,
    else fitted here. ``candidates``: the transaction models demand chooses from on the
    earlier windows (:func:`~shopseg.demand.level.segment_orders`; None: ``model_name``
    only). ``as_of`` defaults to the last purchase day. ``product_prior`` /
    ``category_prior``: pseudo units of the shrinkage (default: one per product / category).
    ``membership``: each customer's segment as of a day
    (:class:`~shopseg.demand.membership.Membership`; None: the segment on the lines, the
    same every day); the known customers and the shares read it as of ``as_of``, each
    earlier window as of its start. ``segments``: the segments to forecast (default: every
    segment a customer with lines is in on the days read). The horizon is not checked here:
    see :func:`~shopseg.demand.horizon.check_horizon`.
    """
    if reconciliation not in RECONCILIATIONS:
        raise ConfigError(f"Unknown reconciliation '{reconciliation}'; known: {', '.join(RECONCILIATIONS)}.")
    as_of = lines.last_day if as_of is None else pd.Timestamp(as_of).normalize()
    if membership is None:
        membership = lines_membership(lines.table, "the segments on the order lines")
    if segments is None:
        days = membership_days(lines.first_day, as_of, pd.Timedelta(days=horizon_days), windows)
        segments = segment_universe(lines.until(as_of), membership, days)
    segments, products, categories, product_category = _universe(lines, segments)
    hierarchy = build_hierarchy(segments, products, categories, product_category)
    history = membership.relabel(lines.until(as_of), as_of)
    orders = segment_orders(
        lines, segments, model_name, as_of=as_of, horizon_days=horizon_days, model=model,
        candidates=candidates, n_draws=n_draws, seed=seed, windows=windows, membership=membership,
    )  # fmt: skip
    ahead, _ = ahead_lines(lines.until(as_of), as_of, pd.Timedelta(days=horizon_days), windows, membership)
    baskets = window_baskets(ahead, segments, history_per_day(history, segments)[0])
    shares = segment_shares(
        history, segments, products, categories, product_prior=product_prior, category_prior=category_prior,
        per_day=baskets.blended(orders.known, orders.newcomers), measured=ahead if len(ahead) else None,
    )  # fmt: skip
    base, variance = _base_forecasts(orders, shares, hierarchy)
    season = seasonal_index(history.groupby(DAY)[UNITS].sum(), as_of, horizon_days)
    factor = float(season["index"])
    base, variance = base * factor, variance * factor**2
    converged = True
    if reconciliation == "mint_wls":
        reconciled, converged = reconcile_wls(hierarchy, base, variance)
    else:
        reconciled = hierarchy.aggregate(base[hierarchy.level_slice(BOTTOM)])
    negative = int((reconciled < -1e-9).sum())
    if negative:  # clip the bottom series and add up again, so the levels stay coherent
        bottom = np.clip(reconciled[hierarchy.level_slice(BOTTOM)], 0.0, None)
        reconciled = hierarchy.aggregate(bottom)
    reconciled = np.clip(reconciled, 0.0, None)
    scale = np.where(base > 0, reconciled / np.where(base > 0, base, 1.0), 1.0)
    low, high = count_interval(reconciled, np.maximum(variance * scale, 0.0))
    levels = hierarchy.nodes.assign(**{EXPECTED: reconciled, LOW: low, HIGH: high, BASE: base})
    bottom_rows = levels.loc[levels[LEVEL] == BOTTOM]
    table = bottom_rows[[*DEMAND_COLUMNS, s.CATEGORY]].reset_index(drop=True)
    table[s.SEGMENT_ID] = table[s.SEGMENT_ID].astype("int64")
    table[s.PRODUCT_ID] = table[s.PRODUCT_ID].astype(str)
    report = {
        "horizon_days": int(horizon_days),
        "as_of": str(as_of.date()),
        "window": {"first_day": str((as_of + pd.Timedelta(days=1)).date()),
                   "last_day": str((as_of + pd.Timedelta(days=horizon_days)).date())},
        "segments": len(segments),
        "segments_as_of": membership.describe(as_of),
        "membership": membership.report(),
        "products": len(products),
        "categories": len(categories),
        "expected_units_total": float(reconciled[0]),
        "purchase_days": orders.report,
        "units_per_purchase_day": {str(g): float(v) for g, v in zip(segments, shares.per_day, strict=True)},
        "units_per_purchase_day_measured": baskets.report,
        "shrinkage": {
            "product_prior_units": float(len(products) if product_prior is None else product_prior),
            "category_prior_units": float(len(categories) if category_prior is None else category_prior),
        },
        "seasonality": season,
        "reconciliation": {
            "method": reconciliation,
            "converged": bool(converged),
            "bottom_series_clipped_at_0": negative,
        },
        "left_out_lines": lines.left_out,
        "intervals": "90%: negative binomial with each node's mean and variance (purchase-day counts per customer "
        "with parameter draws, units per purchase day, share uncertainty); p05 its 5% quantile, p95 the smallest "
        "count with P(p05 <= units <= p95) >= 0.90",
    }  # fmt: skip
    return DemandForecast(table=table, levels=levels.reset_index(drop=True), report=report, hierarchy=hierarchy)
