"""The value stage in one call: CLV, P(alive), expected orders, churn risk, high-value probability.

:func:`customer_value` takes canonical order lines and returns a :class:`ValueResult`:
``frame`` has one row per customer (index customer_id) and the columns

========================== ====================================================================
clv                        discounted expected spend over the horizon (:mod:`~shopseg.value.clv`)
p_alive                    BG/NBD probability that the customer is still active
expected_orders_<H>d       BG/NBD expected purchase days in the next H days (H = horizon_days)
churn_risk                 P(no purchase in the next ``holdout_days`` days), calibrated model
high_value_prob            P(top 20 % of spend in the next ``holdout_days`` days), calibrated
next_order_date_estimate   last observed day + median wait to the next purchase if alive
========================== ====================================================================

and ``report`` is plain JSON-ready data: fitted parameters with standard errors and
log-likelihoods, the holdout check of BG/NBD, holdout metrics of the models and their
baselines, and notes.

How the two kinds of model see time (production, i.e. predicting the future):

* BG/NBD and Gamma-Gamma are fitted on the **whole history** (calibration = every day up
  to the last purchase day) and give clv, p_alive, expected orders and next order date.
  They are also fitted once on the calibration part only, to check them on the holdout.
* The supervised models need labels from the future, so they are trained on a **time
  split inside the history**: calibration = all but the last ``holdout_days`` days,
  labels = what happened in those last days. Their holdout quality is measured on a
  customer split of that data (:func:`~shopseg.value.predict.evaluate_outcomes`). Then
  they are refitted on every calibration customer and **applied to features computed on
  the full history**, so churn_risk and high_value_prob look ``holdout_days`` ahead of the
  last day of data. (The training features describe a history shorter by holdout_days;
  that is the usual price of a time split.)

When the history is shorter than ``min_history_days`` or cannot identify the models (e.g.
no customer bought twice) the result has ``frame = None`` and a note saying why, so a
pipeline can continue without value columns. Every value in ``frame`` is finite.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from shopseg import schema as s
from shopseg.errors import ConfigError, ShopsegError
from shopseg.features.behaviour import habit_priors
from shopseg.value.bgnbd import BetaGeoModel
from shopseg.value.clv import MAX_WAIT_DAYS, customer_lifetime_value, next_order_date_estimate
from shopseg.value.gamma_gamma import GammaGammaModel, frequency_spend_correlation
from shopseg.value.predict import (
    CHURN,
    HIGH_VALUE,
    TOP_SHARE,
    OutcomeClassifier,
    evaluate_outcomes,
    model_features,
    outcome_labels,
)
from shopseg.value.summary import (
    DAY_COLUMN,
    SPEND_COLUMN,
    PeriodSplit,
    calibration_summary,
    purchase_days,
    split_periods,
)
from shopseg.value.validity import RFM_COLUMNS

#: Fewer customers than this and population models are not worth fitting.
MIN_CUSTOMERS = 20

CLV = "clv"
P_ALIVE = "p_alive"
CHURN_RISK = "churn_risk"
HIGH_VALUE_PROB = "high_value_prob"
NEXT_ORDER = "next_order_date_estimate"


def expected_orders_column(horizon_days: int) -> str:
    """Name of the expected-orders column for a horizon: ``expected_orders_365d``."""
    return f"expected_orders_{int(horizon_days)}d"


def value_columns(horizon_days: int = 365) -> tuple[str, ...]:
    """The columns of :attr:`ValueResult.frame`, in order."""
    return (CLV, P_ALIVE, expected_orders_column(horizon_days), CHURN_RISK, HIGH_VALUE_PROB, NEXT_ORDER)


@dataclass
class ValueResult:
    """What :func:`customer_value` returns.

    ``frame``: one row per customer (index customer_id, columns :func:`value_columns`),
    or None when the history is too short or unsuitable (``report["notes"]`` says why).
    ``report``: JSON-ready dict. ``outcomes``: per calibration customer, the calibration
    RFM columns and holdout outcomes (spend_holdout, churn, high_value), for
    :func:`~shopseg.value.validity.predictive_validity`. ``split``: the time split used.
    """

    frame: pd.DataFrame | None
    report: dict[str, object]
    outcomes: pd.DataFrame | None = None
    split: PeriodSplit | None = None
    models: dict[str, object] = field(default_factory=dict, repr=False)
    scorer: ValueScorer | None = field(default=None, repr=False)

    @property
    def available(self) -> bool:
        return self.frame is not None


@dataclass
class ValueScorer:
    """The fitted production models, able to score any customer's order lines.

    ``customer_value`` builds its ``frame`` with :meth:`score` on the shop it fitted, so
    scoring other customers later (a chunk of a shop too large for memory) gives exactly the
    values they would have had in that frame: the same BG/NBD and Gamma-Gamma parameters,
    the same classifiers, the same last day of data.
    """

    bgnbd: BetaGeoModel
    gamma_gamma: GammaGammaModel | None
    last_day: pd.Timestamp
    window_days: float
    horizon_days: int
    discount_rate: float
    churn: OutcomeClassifier | None = None
    high_value: OutcomeClassifier | None = None
    #: Shop shares of the habit features the classifiers read (see :func:`habit_priors`).
    share_priors: dict[str, float] | None = None

    def score(self, orders: pd.DataFrame, days: pd.DataFrame | None = None) -> pd.DataFrame:
        """One row per customer of canonical ``orders`` (index customer_id, :func:`value_columns`)."""
        orders = _checked(orders)
        days = purchase_days(orders) if days is None else days
        split = PeriodSplit(self.last_day, None)
        frame = pd.DataFrame(columns=list(value_columns(self.horizon_days)), dtype="float64")
        if not days.empty and (days[DAY_COLUMN] <= self.last_day).any():
            summary = calibration_summary(days=days, split=split)
            x, t_x, age = (summary[c].to_numpy(dtype="float64") for c in ("frequency", "recency", "T"))
            if self.gamma_gamma is not None:
                spend = self.gamma_gamma.conditional_expected_average_spend(x, summary["monetary_value"].to_numpy())
            else:
                spend = _mean_day_spend(summary, days)
            bgnbd, horizon = self.bgnbd, self.horizon_days
            frame = pd.DataFrame(index=summary.index)
            frame[CLV] = customer_lifetime_value(
                bgnbd, x, t_x, age, spend, horizon_days=horizon, discount_rate=self.discount_rate
            )
            frame[P_ALIVE] = bgnbd.p_alive(x, t_x, age)
            frame[expected_orders_column(horizon)] = bgnbd.conditional_expected_purchases(horizon, x, t_x, age)
            frame[CHURN_RISK] = bgnbd.p_no_purchase(self.window_days, x, t_x, age)
            frame[HIGH_VALUE_PROB] = TOP_SHARE
            frame[NEXT_ORDER] = next_order_date_estimate(bgnbd, x, t_x, age, self.last_day)
            if self.churn is not None or self.high_value is not None:
                features = model_features(
                    orders, summary, split, bgnbd, spend, window_days=self.window_days, share_priors=self.share_priors
                )
                for classifier, column in ((self.churn, CHURN_RISK), (self.high_value, HIGH_VALUE_PROB)):
                    if classifier is not None:
                        frame[column] = classifier.predict_proba(features)
        everyone = pd.Index(pd.unique(orders[s.CUSTOMER_ID]), name=s.CUSTOMER_ID)
        missing = everyone.difference(frame.index)
        if len(missing):  # only returns (or, scoring later data, nothing up to the last day)
            filler = pd.DataFrame(
                {
                    CLV: 0.0,
                    P_ALIVE: 0.0,
                    expected_orders_column(self.horizon_days): 0.0,
                    CHURN_RISK: 1.0,
                    HIGH_VALUE_PROB: 0.0,
                    NEXT_ORDER: self.last_day + pd.Timedelta(days=MAX_WAIT_DAYS),
                },
                index=missing,
            )
            frame = pd.concat([frame, filler]) if len(frame) else filler
        frame = frame.sort_index()
        frame.index.name = s.CUSTOMER_ID
        numeric = frame.columns.drop(NEXT_ORDER)
        frame[numeric] = frame[numeric].astype("float64").fillna(0.0)
        frame[NEXT_ORDER] = pd.to_datetime(frame[NEXT_ORDER])
        return frame


def _mean_day_spend(summary: pd.DataFrame, days: pd.DataFrame) -> np.ndarray:
    """Each customer's mean spend per purchase day (the fallback when Gamma-Gamma cannot be fitted)."""
    in_period = days.loc[days[DAY_COLUMN] <= summary["last_purchase"].max()]
    mean_day = in_period.groupby(s.CUSTOMER_ID)[SPEND_COLUMN].mean().reindex(summary.index).fillna(0.0)
    return np.clip(mean_day.to_numpy(dtype="float64"), 0.0, None)


def jsonable(value: object) -> object:
    """Plain JSON data: numpy scalars to Python, NaN/inf to None, timestamps to ISO strings."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        return value if np.isfinite(value) else None
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    return value


def _checked(orders: pd.DataFrame) -> pd.DataFrame:
    """Canonical order lines with the columns the value stage reads (is_return defaults to False)."""
    missing = [c for c in (s.CUSTOMER_ID, s.ORDER_ID, s.TS, s.AMOUNT) if c not in orders.columns]
    if missing:
        raise ShopsegError(
            f"The orders table has no column '{missing[0]}'; customer value needs customer_id, order_id, ts and "
            "amount (load the file with shopseg.load_shop, which derives amount from quantity x unit_price)."
        )
    if s.IS_RETURN not in orders.columns:
        orders = orders.assign(**{s.IS_RETURN: False})
    return orders


def _skipped(report: dict[str, object], note: str) -> ValueResult:
    report["notes"].append(note)
    report["available"] = False
    return ValueResult(frame=None, report=jsonable(report))


def _expected_spend(
    summary: pd.DataFrame, days: pd.DataFrame, notes: list[str], label: str
) -> tuple[np.ndarray, GammaGammaModel | None]:
    """Expected spend per purchase: Gamma-Gamma when it can be fitted, else each customer's mean day spend."""
    x = summary["frequency"].to_numpy(dtype="float64")
    m = summary["monetary_value"].to_numpy(dtype="float64")
    try:
        model = GammaGammaModel().fit(x, m)
        return model.conditional_expected_average_spend(x, m), model
    except ShopsegError as error:
        notes.append(f"{label}: {error} Using each customer's mean spend per purchase day instead.")
        return _mean_day_spend(summary, days), None


def customer_value(
    orders: pd.DataFrame,
    *,
    horizon_days: int = 365,
    discount_rate: float = 0.01,
    holdout_days: int | None = None,
    holdout_start: str | pd.Timestamp | None = None,
    min_history_days: int = 90,
    random_state: int = 0,
    sequence_model: bool = False,
    test_size: float = 0.3,
    n_threads: int | None = None,
) -> ValueResult:
    """Value and risk of every customer in canonical ``orders``; see the module docstring.

    ``horizon_days``: CLV and expected-orders horizon. ``discount_rate``: per 30-day month.
    ``holdout_days`` / ``holdout_start``: the time split for the supervised models and the
    holdout checks (default: the last min(horizon_days, history / 2) days).
    ``sequence_model``: also train the LSTM baseline in the evaluation (slower).
    ``n_threads``: OpenMP threads for gradient boosting (None: one below 100k customers,
    all cores above; see :class:`~shopseg.value.predict.OutcomeClassifier`).
    """
    if horizon_days < 1:
        raise ConfigError(f"--horizon-days must be at least 1, got {horizon_days}.")
    if discount_rate <= -1 or discount_rate >= 1:
        raise ConfigError(f"--discount-rate is a monthly rate like 0.01; got {discount_rate}.")
    notes: list[str] = []
    report: dict[str, object] = {
        "available": True,
        "horizon_days": int(horizon_days),
        "discount_rate_monthly": float(discount_rate),
        "conventions": (
            "purchases aggregated per customer and day (returns excluded); frequency = repeat purchase days; "
            "CLV discounted monthly (30-day months) as in lifetimes; times in days"
        ),
        "notes": notes,
    }
    orders = _checked(orders)
    days = purchase_days(orders)
    if days.empty:
        return _skipped(report, "No purchases in the orders (only returns or undated lines): value columns skipped.")
    first_day, last_day = days[DAY_COLUMN].min(), days[DAY_COLUMN].max()
    span = int((last_day - first_day) / pd.Timedelta(days=1))
    report["history"] = {"first_day": first_day, "last_day": last_day, "days": span}
    if span < min_history_days:
        return _skipped(
            report,
            f"The order history spans {span} days ({first_day.date()} to {last_day.date()}); customer value "
            f"(clv, p_alive, churn_risk, ...) needs at least {min_history_days} days, so it is left out.",
        )
    n_customers = days[s.CUSTOMER_ID].nunique()
    if n_customers < MIN_CUSTOMERS:
        return _skipped(
            report,
            f"Only {n_customers} customer(s) with purchases; value models need at least {MIN_CUSTOMERS}, "
            "so they are left out.",
        )
    if holdout_days is None and holdout_start is None:
        holdout_days = int(max(1, min(horizon_days, span // 2)))
    split = split_periods(days, holdout_start=holdout_start, holdout_days=holdout_days)
    full_split = PeriodSplit(last_day, None)
    report["calibration"] = {
        "calibration_end": split.calibration_end,
        "holdout_start": split.holdout_start,
        "holdout_end": split.holdout_end,
        "holdout_days": split.holdout_days,
    }
    summary_full = calibration_summary(days=days, split=full_split)
    try:
        bgnbd_full = BetaGeoModel().fit(summary_full["frequency"], summary_full["recency"], summary_full["T"])
    except ShopsegError as error:
        return _skipped(report, f"{error} Value columns skipped.")
    report["bgnbd"] = bgnbd_full.to_dict()
    spend_full, gamma_full = _expected_spend(summary_full, days, notes, "Gamma-Gamma (full history)")
    report["gamma_gamma"] = gamma_full.to_dict() if gamma_full is not None else None
    report["frequency_spend_correlation"] = frequency_spend_correlation(
        summary_full["frequency"], summary_full["monetary_value"]
    )

    window = float(split.holdout_days) if split.holdout_end is not None else float(horizon_days)
    history = _History(orders, days, split, full_split, summary_full, spend_full, bgnbd_full)
    supervised = _supervised(
        history, random_state=random_state, sequence_model=sequence_model, test_size=test_size, n_threads=n_threads
    )
    report.update(supervised.report)
    notes.extend(supervised.notes)
    scorer = ValueScorer(
        bgnbd=bgnbd_full,
        gamma_gamma=gamma_full,
        last_day=last_day,
        window_days=window,
        horizon_days=horizon_days,
        discount_rate=discount_rate,
        churn=supervised.scoring.get(CHURN),
        high_value=supervised.scoring.get(HIGH_VALUE),
        share_priors=habit_priors(orders.loc[orders[s.TS] < full_split.holdout_start]) if supervised.scoring else None,
    )
    frame = scorer.score(orders, days)
    only_returns = len(frame) - len(summary_full)
    if only_returns:
        notes.append(f"{only_returns:,} customer(s) with only returns: clv 0, p_alive 0, churn_risk 1.")
    report["customers"] = len(frame)
    models = {"bgnbd": bgnbd_full, "gamma_gamma": gamma_full, **supervised.models}
    return ValueResult(
        frame=frame,
        report=jsonable(report),
        outcomes=supervised.outcomes,
        split=split,
        models=models,
        scorer=scorer,
    )


@dataclass
class _History:
    """The inputs the supervised part shares with the production fit."""

    orders: pd.DataFrame
    days: pd.DataFrame
    split: PeriodSplit
    full_split: PeriodSplit
    summary_full: pd.DataFrame
    spend_full: np.ndarray
    bgnbd_full: BetaGeoModel


@dataclass
class _Supervised:
    """What the calibration/holdout part adds: classifiers to score with, report entries, outcomes, models, notes."""

    scoring: dict[str, OutcomeClassifier] = field(default_factory=dict)
    report: dict[str, object] = field(default_factory=dict)
    outcomes: pd.DataFrame | None = None
    models: dict[str, object] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def _supervised(
    history: _History, *, random_state: int, sequence_model: bool, test_size: float, n_threads: int | None
) -> _Supervised:
    """Calibration fit, holdout checks, and the churn / high-value models to apply to the full history."""
    result = _Supervised()
    split, days = history.split, history.days
    if split.holdout_end is None:
        result.notes.append("No holdout period: churn_risk is BG/NBD's P(no purchase); high_value_prob the base rate.")
        return result
    try:
        summary = calibration_summary(days=days, split=split)
        bgnbd = BetaGeoModel().fit(summary["frequency"], summary["recency"], summary["T"])
    except ShopsegError as error:
        result.notes.append(
            f"Calibration period (to {split.calibration_end.date()}): {error} churn_risk falls back to BG/NBD's "
            "P(no purchase) and high_value_prob to the base rate."
        )
        return result
    window = float(split.holdout_days)
    x, t_x, age = (summary[c].to_numpy(dtype="float64") for c in ("frequency", "recency", "T"))
    predicted = bgnbd.conditional_expected_purchases(window, x, t_x, age)
    actual = summary["frequency_holdout"].to_numpy(dtype="float64")
    result.report["bgnbd_calibration"] = bgnbd.to_dict()
    result.report["holdout_check"] = {
        "customers": len(summary),
        "predicted_purchases": float(predicted.sum()),
        "actual_purchases": float(actual.sum()),
        "relative_error": float((predicted.sum() - actual.sum()) / actual.sum()) if actual.sum() > 0 else None,
        "mean_absolute_error_per_customer": float(np.mean(np.abs(predicted - actual))),
    }
    spend, _ = _expected_spend(summary, days, result.notes, "Gamma-Gamma (calibration)")
    labels = outcome_labels(summary)
    features = model_features(history.orders, summary, split, bgnbd, spend, window_days=window)
    sequences = None
    if sequence_model:
        from shopseg.value.sequence import purchase_sequences

        calibration_days = days.loc[days[DAY_COLUMN] <= split.calibration_end]
        sequences = purchase_sequences(calibration_days, summary.index, split.holdout_start)
    evaluation = evaluate_outcomes(
        features, labels, sequences=sequences, random_state=random_state, test_size=test_size, n_threads=n_threads
    )
    result.notes.extend(evaluation.notes)
    result.report["holdout_metrics"] = evaluation.records()
    result.report["prediction_window_days"] = int(split.holdout_days)
    for target in (CHURN, HIGH_VALUE):
        classifier = OutcomeClassifier(random_state=random_state, n_threads=n_threads).fit(features, labels[target])
        result.models[target] = classifier
        if classifier.constant_ and target == CHURN:
            result.notes.append("churn: one outcome is too rare to learn; churn_risk is BG/NBD's P(no purchase).")
            continue
        result.scoring[target] = classifier
    result.outcomes = features[list(RFM_COLUMNS)].join(labels)
    return result


def segment_value_summary(frame: pd.DataFrame, labels: pd.Series) -> pd.DataFrame:
    """Totals and means of the value columns per segment, for profiles.

    ``frame``: :attr:`ValueResult.frame`; ``labels``: segment per customer (index
    customer_id; customers missing from ``frame`` are ignored). Returns one row per
    segment (index segment_id) with customers, clv_total, clv_mean, clv_share,
    expected_orders_total, expected_orders_mean, p_alive_mean, churn_risk_mean,
    high_value_prob_mean and expected_customers_churning (sum of churn_risk).
    """
    expected = next((c for c in frame.columns if c.startswith("expected_orders_")), None)
    if expected is None:
        raise ShopsegError("segment_value_summary needs the frame of customer_value (no expected_orders_ column).")
    common = frame.index.intersection(labels.index)
    data = frame.loc[common].assign(**{s.SEGMENT_ID: labels.loc[common].to_numpy()})
    grouped = data.groupby(s.SEGMENT_ID, sort=True)
    total_clv = float(data[CLV].sum())
    summary = pd.DataFrame(
        {
            "customers": grouped.size(),
            "clv_total": grouped[CLV].sum(),
            "clv_mean": grouped[CLV].mean(),
            "expected_orders_total": grouped[expected].sum(),
            "expected_orders_mean": grouped[expected].mean(),
            "p_alive_mean": grouped[P_ALIVE].mean(),
            "churn_risk_mean": grouped[CHURN_RISK].mean(),
            "high_value_prob_mean": grouped[HIGH_VALUE_PROB].mean(),
            "expected_customers_churning": grouped[CHURN_RISK].sum(),
        }
    )
    summary.insert(3, "clv_share", summary["clv_total"] / total_clv if total_clv > 0 else 0.0)
    return summary
