"""Expected purchase days per segment over the horizon: the value model, calibrated, plus newcomers.

Three parts, added up per segment:

1. **Known customers.** Each customer's expected purchase days in (as_of, as_of + horizon]
   from the transaction model (BG/NBD, MBG/NBD or Pareto/NBD: the value stage's choice), and
   the variance of that count, from its exact distribution P(N >= k) (E[N^2] = sum over k of
   (2k - 1) P(N >= k)). Both are computed for the point estimate and for ``n_draws``
   parameter draws from the fit's asymptotic normal, so the spread between draws carries
   the parameter uncertainty, which moves every customer of a shop together.
2. **Calibration.** A transaction model's aggregate can be off by segment (its purchase
   process is a simplification): each of up to :data:`CALIBRATION_WINDOWS` earlier windows of
   the horizon's length is forecast by the same model refitted on the data before it, and the
   segment's known customers' expected days are multiplied by sum(actual) / sum(predicted)
   over those windows, shrunk toward the shop's ratio with :data:`RATIO_PRIOR_DAYS`
   pseudo purchase days.
   Which transaction model: the value stage chose its model by per-customer accuracy on a
   holdout, but a demand forecast needs each segment's *total* to be right once calibrated.
   Every candidate (BG/NBD, MBG/NBD, Pareto/NBD) is refitted before each earlier window, and
   the one whose calibrated segment totals miss least on those windows -- each window
   calibrated on the windows before it only (rolling origin) -- is used.
3. **Newcomers.** Customers not yet seen buy too. Their purchase days in their first window
   are averaged over the same earlier windows, per segment.

**Segments as of each window** (:class:`~shopseg.demand.membership.Membership`): the customers
known at a window's start are grouped by their segment *as of that day* (the run's model
placing the shop as it was then), both for what the model predicts and for what they bought
in the window; the forecast's known customers by their segment as of ``as_of``. A newcomer
has no rows before their window, so they are placed as of the window's end -- the segment
the next window's calibration sees them in. The run's final segments would tell each earlier
window who stops buying after it.

Vectorised over customers (distinct histories computed once); loops run over parameter draws,
order counts k and calibration windows only.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from shopseg import schema as s
from shopseg.demand.lines import DAY, UnitLines
from shopseg.demand.membership import Membership, lines_membership
from shopseg.errors import ShopsegError
from shopseg.value.summary import PeriodSplit, calibration_summary
from shopseg.value.transaction import TRANSACTION_MODELS, TransactionModel

#: Earlier windows used for the calibration and the newcomers (fewer when the history is short).
CALIBRATION_WINDOWS = 4
#: Pseudo purchase days pulling a segment's calibration ratio toward the shop's.
RATIO_PRIOR_DAYS = 30.0
#: P(N >= k) below this for every history ends the sum for E[N^2].
TAIL = 1e-7
#: Order counts summed at most (the tail beyond is left out of the variance).
MAX_ORDERS = 400


@dataclass
class SegmentOrders:
    """Expected purchase days per segment; arrays over (draws, segments) or (segments,).

    ``mean[d, g]`` / ``variance[d, g]``: known customers' calibrated expected purchase days
    and the variance of that count for parameter draw d (row 0: the point estimate), plus the
    newcomers' mean and variance (the same in every row). ``level_error``: the relative
    standard error of a segment's total that the model's misfit adds
    (:meth:`WindowCheck.level_error`). ``report``: JSON-ready facts.
    """

    segments: np.ndarray
    mean: np.ndarray
    variance: np.ndarray
    level_error: float = 0.0
    report: dict[str, object] = field(default_factory=dict)
    #: Point estimates (G,) of the two parts: known customers' calibrated purchase days, newcomers'.
    known: np.ndarray | None = None
    newcomers: np.ndarray | None = None

    @property
    def point(self) -> np.ndarray:
        """Expected purchase days per segment (point estimate of the parameters)."""
        return self.mean[0]


def purchase_day_table(table: pd.DataFrame) -> pd.DataFrame:
    """One row per customer and purchase day (customer_id, day, segment_id) from unit lines."""
    return table[[s.CUSTOMER_ID, DAY, s.SEGMENT_ID]].drop_duplicates([s.CUSTOMER_ID, DAY])


def history_summary(days: pd.DataFrame, as_of: pd.Timestamp) -> pd.DataFrame:
    """The value stage's (frequency, recency, T) per customer at ``as_of`` (index customer_id), plus segment_id.

    ``days`` carries one segment per customer (the membership as of ``as_of``).
    """
    summary = calibration_summary(days=days.assign(spend=0.0), split=PeriodSplit(as_of, None))
    segment = days.drop_duplicates(s.CUSTOMER_ID).set_index(s.CUSTOMER_ID)[s.SEGMENT_ID]
    return summary.assign(**{s.SEGMENT_ID: segment.reindex(summary.index).to_numpy()})


def fit_model(name: str, summary: pd.DataFrame) -> TransactionModel:
    """A transaction model of registry name ``name`` fitted on ``summary``."""
    if name not in TRANSACTION_MODELS:
        raise ShopsegError(f"Unknown transaction model '{name}'; known: {', '.join(sorted(TRANSACTION_MODELS))}.")
    x, t_x, age = (summary[c].to_numpy(dtype="float64") for c in ("frequency", "recency", "T"))
    return TRANSACTION_MODELS[name]().fit(x, t_x, age)


def order_moments(
    model: TransactionModel, horizon: float, summary: pd.DataFrame, *, n_draws: int, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Mean and variance of each customer's purchase days in the horizon, shape (1 + n_draws, n) each.

    Row 0 uses the fitted parameters, the others ``n_draws`` draws from their asymptotic
    normal (none when the fit has no usable covariance: then every row is row 0). A draw whose
    formulas overflow for a history (a flat likelihood direction) takes row 0's values there.
    """
    stacked = summary[["frequency", "recency", "T"]].to_numpy(dtype="float64")
    unique, inverse = np.unique(stacked, axis=0, return_inverse=True)
    x, t_x, age = unique[:, 0], unique[:, 1], unique[:, 2]
    models = [model]
    if model.uncertainty_known and n_draws > 0:
        models += [model.with_params(row) for row in model.parameter_draws(n_draws, seed)]
    means, variances = [], []
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        for candidate in models:
            mean = candidate.conditional_expected_purchases(horizon, x, t_x, age)
            second = _second_moment(candidate, horizon, x, t_x, age)
            means.append(mean)
            variances.append(second - mean**2)
    mean, variance = np.array(means), np.array(variances)
    bad = ~(np.isfinite(mean) & np.isfinite(variance))
    mean = np.where(bad, mean[0], mean)
    variance = np.clip(np.where(bad, variance[0], variance), 0.0, None)
    if not np.all(np.isfinite(mean[0])):
        raise ShopsegError("The transaction model gives no finite expected orders for some customers.")
    return mean[:, inverse.ravel()], variance[:, inverse.ravel()]


def _second_moment(model: TransactionModel, horizon: float, x, t_x, age) -> np.ndarray:
    """E[N^2] = sum_k (2k - 1) P(N >= k), over the histories still above :data:`TAIL` (vectorised)."""
    alive = model.p_alive(x, t_x, age)
    total = np.zeros(x.size)
    rows = np.arange(x.size)
    for k in range(1, MAX_ORDERS + 1):
        tail = model.sf_purchases(k, horizon, x[rows], t_x[rows], age[rows], p_alive=alive[rows])
        tail = np.where(np.isfinite(tail), tail, 0.0)
        total[rows] += (2 * k - 1) * tail
        rows = rows[tail > TAIL]
        if not rows.size:
            break
    return total


def segment_totals(values: np.ndarray, segment_index: np.ndarray, n_segments: int) -> np.ndarray:
    """Sum of ``values`` (draws, n) per segment -> (draws, n_segments)."""
    out = np.zeros((values.shape[0], n_segments))
    for row in range(values.shape[0]):  # over parameter draws, not customers
        out[row] = np.bincount(segment_index, weights=values[row], minlength=n_segments)
    return out


@dataclass
class WindowCheck:
    """One candidate model on the earlier windows (newest first): predicted and actual purchase days
    of the customers known at each window's start, per segment (windows, G), and the cut-offs."""

    model: str
    predicted: np.ndarray
    actual: np.ndarray
    cutoffs: list[str]

    def rolling_error(self) -> float | None:
        """Mean over windows w of the calibrated error of window w, calibrated on the older windows only.

        Error of a window: sum over segments of |ratio x predicted - actual| / sum of actual,
        with the ratios of :func:`calibration_ratios` from windows w + 1 ... (a rolling-origin
        evaluation). None with fewer than two windows.
        """
        errors = []
        for w in range(len(self.cutoffs) - 1):
            ratio, _ = calibration_ratios(self.actual[w + 1 :].sum(axis=0), self.predicted[w + 1 :].sum(axis=0))
            total = self.actual[w].sum()
            if total > 0:
                errors.append(float(np.abs(ratio * self.predicted[w] - self.actual[w]).sum() / total))
        return float(np.mean(errors)) if errors else None

    def level_error(self) -> float:
        """Relative standard error of a calibrated segment total beyond counting noise (0 without windows).

        Over the same rolling windows: c^2 = sum((actual - f)^2 - f) / sum(f^2) with f the
        calibrated forecast of a segment's purchase days, i.e. the squared error left once a
        Poisson count's own spread (f) is taken out, relative to the forecast. It is the model's
        misfit that the per-customer distributions do not carry, and widens the intervals of
        every node in proportion to its segments' totals.
        """
        excess, scale = 0.0, 0.0
        for w in range(len(self.cutoffs) - 1):
            ratio, _ = calibration_ratios(self.actual[w + 1 :].sum(axis=0), self.predicted[w + 1 :].sum(axis=0))
            forecast = ratio * self.predicted[w]
            excess += float(((self.actual[w] - forecast) ** 2 - forecast).sum())
            scale += float((forecast**2).sum())
        return float(np.sqrt(max(excess, 0.0) / scale)) if scale > 0 else 0.0


def window_origins(
    first_day: pd.Timestamp, as_of: pd.Timestamp, step: pd.Timedelta, windows: int
) -> list[pd.Timestamp]:
    """Starts of the earlier windows, newest first (as_of - step, as_of - 2 step ...), each after a step of history."""
    origins = []
    for back in range(1, windows + 1):
        cutoff = as_of - back * step
        if cutoff - first_day < step:  # too little history before this window to fit on
            break
        origins.append(cutoff)
    return origins


def newcomer_window_ends(
    first_day: pd.Timestamp, as_of: pd.Timestamp, step: pd.Timedelta, windows: int
) -> list[pd.Timestamp]:
    """Ends of the windows whose newcomers are counted, newest first (as_of, as_of - step ...), inside the history."""
    return [as_of - back * step for back in range(windows) if as_of - back * step - step >= first_day]


def membership_days(
    first_day: pd.Timestamp, as_of: pd.Timestamp, step: pd.Timedelta, windows: int
) -> list[pd.Timestamp]:
    """Every day :func:`segment_orders` asks the membership about: ``as_of``, the window starts and ends."""
    days = [
        as_of,
        *window_origins(first_day, as_of, step, windows),
        *newcomer_window_ends(first_day, as_of, step, windows),
    ]
    return sorted(set(days), reverse=True)


def window_check(
    days: pd.DataFrame,
    model_name: str,
    as_of: pd.Timestamp,
    step: pd.Timedelta,
    windows: int,
    position: pd.Series,
    membership: Membership,
) -> WindowCheck:
    """:class:`WindowCheck` of ``model_name``: refitted before each earlier window, compared with it.

    The customers known at a window's start are grouped by their segment as of that day, for
    the prediction and for the purchase days they made in the window alike.
    """
    n_segments = len(position)
    first_seen = days.groupby(s.CUSTOMER_ID)[DAY].min()
    predicted, actual, cutoffs = [], [], []
    for cutoff in window_origins(days[DAY].min(), as_of, step, windows):
        try:
            earlier = history_summary(membership.relabel(days.loc[days[DAY] <= cutoff], cutoff), cutoff)
            fitted = fit_model(model_name, earlier)
        except ShopsegError:
            break
        x, t_x, age = (earlier[c].to_numpy(dtype="float64") for c in ("frequency", "recency", "T"))
        expected = fitted.conditional_expected_purchases(float(step / pd.Timedelta(days=1)), x, t_x, age)
        segment_of = position.reindex(earlier[s.SEGMENT_ID].to_numpy()).to_numpy()
        predicted.append(np.bincount(segment_of, weights=expected, minlength=n_segments))
        window = days.loc[(days[DAY] > cutoff) & (days[DAY] <= cutoff + step)]
        known = window.loc[window[s.CUSTOMER_ID].map(first_seen) <= cutoff, s.CUSTOMER_ID]
        segment = known.map(earlier[s.SEGMENT_ID]).to_numpy()
        actual.append(np.bincount(position.reindex(segment).to_numpy(), minlength=n_segments))
        cutoffs.append(str(cutoff.date()))
    shape = (len(cutoffs), n_segments)
    return WindowCheck(model_name, np.array(predicted).reshape(shape), np.array(actual, float).reshape(shape), cutoffs)


def newcomer_days(
    days: pd.DataFrame,
    as_of: pd.Timestamp,
    step: pd.Timedelta,
    windows: int,
    position: pd.Series,
    membership: Membership,
) -> tuple[np.ndarray, list[pd.Timestamp]]:
    """Purchase days of customers first seen in each earlier window, in that window, per segment (windows, G).

    Newcomers are grouped by their segment as of the window's end (they have no rows before
    it); also returns those ends.
    """
    first_seen = days.groupby(s.CUSTOMER_ID)[DAY].min()
    ends = newcomer_window_ends(days[DAY].min(), as_of, step, windows)
    rows = []
    for end in ends:
        window = days.loc[(days[DAY] > end - step) & (days[DAY] <= end)]
        new = window.loc[window[s.CUSTOMER_ID].map(first_seen) > end - step, s.CUSTOMER_ID]
        segment = membership.segment_of(new.to_numpy(), end)
        rows.append(np.bincount(position.reindex(segment).to_numpy(), minlength=len(position)))
    return np.array(rows, dtype="float64").reshape(len(rows), len(position)), ends


def segment_orders(
    lines: UnitLines,
    segments: np.ndarray,
    model_name: str,
    *,
    as_of: pd.Timestamp,
    horizon_days: int,
    model: TransactionModel | None = None,
    candidates: tuple[str, ...] | None = None,
    n_draws: int = 8,
    seed: int = 0,
    windows: int = CALIBRATION_WINDOWS,
    membership: Membership | None = None,
) -> SegmentOrders:
    """Expected purchase days per segment in (as_of, as_of + horizon]; see the module docstring.

    ``model_name``: the value stage's transaction model; ``model``: that model fitted up to
    ``as_of`` (None: fitted here). ``candidates``: transaction models to choose from by their
    :meth:`WindowCheck.rolling_error` on the earlier windows (None: ``model_name`` only); the
    value stage chose its model by per-customer accuracy, demand needs each segment's total
    to be right after calibration. ``membership``: each customer's segment as of a day (None:
    the segment on the lines, the same every day). Only lines up to ``as_of`` are read.
    """
    step = pd.Timedelta(days=horizon_days)
    days = purchase_day_table(lines.until(as_of))
    if membership is None:
        membership = lines_membership(days, "the segments on the order lines")
    position = pd.Series(np.arange(len(segments)), index=segments)
    names = tuple(dict.fromkeys([model_name, *(candidates or ())]))
    checks = {name: window_check(days, name, as_of, step, windows, position, membership) for name in names}
    errors = {name: check.rolling_error() for name, check in checks.items()}
    scored = {name: error for name, error in errors.items() if error is not None}
    chosen = min(scored, key=scored.get) if scored else model_name
    check = checks[chosen]
    summary = history_summary(membership.relabel(days, as_of), as_of)
    if model is None or model.name != chosen:
        model = fit_model(chosen, summary)
    mean, variance = order_moments(model, float(horizon_days), summary, n_draws=n_draws, seed=seed)
    index = position.reindex(summary[s.SEGMENT_ID].to_numpy()).to_numpy()
    known_mean = segment_totals(mean, index, len(segments))
    known_var = segment_totals(variance, index, len(segments))
    ratio, shop_ratio = calibration_ratios(check.actual.sum(axis=0), check.predicted.sum(axis=0))
    new, ends = newcomer_days(days, as_of, step, windows, position, membership)
    new_mean = new.mean(axis=0) if len(new) else np.zeros(len(segments))
    new_var = np.maximum(new_mean, new.var(axis=0, ddof=1)) if len(new) > 1 else new_mean
    total_mean = known_mean * ratio + new_mean
    total_var = known_var * ratio**2 + new_var
    report = {
        "model": model.name,
        "value_stage_model": model_name,
        "model_choice": {
            "criterion": "rolling-origin calibrated segment-level error on the earlier windows (mean WAPE)",
            "errors": errors,
            "chosen": chosen,
        },
        "as_of": str(as_of.date()),
        "known_customers": len(summary),
        "known_customers_segments": membership.describe(as_of),
        "parameter_draws": int(mean.shape[0] - 1),
        "calibration": {
            "windows": check.cutoffs,
            "segments": {day: membership.describe(pd.Timestamp(day)) for day in check.cutoffs},
            "shop_ratio": shop_ratio,
            "prior_purchase_days": RATIO_PRIOR_DAYS,
            "by_segment": {
                str(g): {"predicted": float(p), "actual": float(a), "ratio": float(r)}
                for g, p, a, r in zip(
                    segments, check.predicted.sum(axis=0), check.actual.sum(axis=0), ratio, strict=True
                )
            },
        },
        "newcomers_per_window": {str(g): float(v) for g, v in zip(segments, new_mean, strict=True)},
        "newcomers_segments": {
            f"{(end - step + pd.Timedelta(days=1)).date()} to {end.date()}": membership.describe(end) for end in ends
        },
        "expected_purchase_days": {
            str(g): {"known_customers": float(k), "calibrated": float(k * r), "newcomers": float(n)}
            for g, k, r, n in zip(segments, known_mean[0], ratio, new_mean, strict=True)
        },
    }
    if not check.cutoffs:
        report["calibration"]["note"] = "no earlier window could be fitted: ratio 1 (uncalibrated)"
    level_error = check.level_error()
    report["calibration"]["level_error"] = level_error
    return SegmentOrders(
        segments=segments,
        mean=total_mean,
        variance=total_var,
        level_error=level_error,
        report=report,
        known=known_mean[0] * ratio,
        newcomers=new_mean,
    )


def calibration_ratios(actual: np.ndarray, predicted: np.ndarray) -> tuple[np.ndarray, float | None]:
    """Per-segment sum(actual) / sum(predicted), shrunk toward the shop's ratio; 1 without predictions."""
    if predicted.sum() <= 0:
        return np.ones_like(predicted), None
    shop = float(actual.sum() / predicted.sum())
    return (actual + RATIO_PRIOR_DAYS * shop) / (predicted + RATIO_PRIOR_DAYS), shop
