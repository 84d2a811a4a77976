"""The value stage in one call: CLV, P(alive), expected orders, churn risk, with 90% intervals.

:func:`customer_value` takes canonical order lines and returns a :class:`ValueResult`:
``frame`` has one row per customer (index customer_id) and the columns of
:data:`COLUMN_DOCS` (what each one means is also written into the report, so value.json
says it next to the numbers), ``holdout`` one row per calibration customer with predicted
and actual holdout orders and spend (holdout.csv), and ``report`` plain JSON-ready data
(value.json): the models compared on the holdout and the one chosen, fitted parameters with
standard errors (time parameters also in weeks, and what each fit saw), the churn decision,
warnings, tracking and frequency x recency data for the report's plots.

One story per customer:

* the **transaction model** (BG/NBD, MBG/NBD or Pareto/NBD, chosen per shop on the holdout
  by per-customer MAE; :mod:`~shopseg.value.selection`) is refitted on the **whole history**
  and gives p_alive, expected orders, their 90% interval, the next order date and the
  model's P(no order in the window);
* **churn_risk is that P(no order)** unless a calibrated classifier beats it *out of time*
  on *both* AUC and Brier score: trained one holdout-length window before the holdout and
  tested on the holdout, as it would be used in production (:func:`out_of_time_check`);
  only then is the classifier's probability used (value.json: churn says which and why).
  The in-time comparison on held-out customers stays in holdout_metrics for reference;
* spend per order is Gamma-Gamma when its guards pass, else a shrunk mean
  (:mod:`~shopseg.value.spend`); CLV is their discounted product, with expected orders
  capped by the documented purchase-rate bound (:func:`~shopseg.value.clv.order_rate_bound`).

Time split: calibration = all but the last ``holdout_days`` days, holdout = those days. The
candidates, the churn baseline and the classifiers are judged there; production values are
then computed from the full history, so they look ``holdout_days`` (churn) and
``horizon_days`` (CLV, orders) ahead of the last day of data.

When the history is shorter than ``min_history_days`` or cannot identify the models (e.g.
no customer bought twice) the result has ``frame = None`` and a note saying why, so a
pipeline can continue without value columns. Every number in ``frame`` is finite; the next
order date is empty when no order is expected within the horizon.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from shopseg import schema as s
from shopseg.errors import ConfigError, ShopsegError
from shopseg.features.behaviour import habit_priors
from shopseg.value.clv import MIN_OBSERVED_DAYS, customer_lifetime_value, next_order_date_estimate, order_rate_bound
from shopseg.value.gamma_gamma import GammaGammaModel
from shopseg.value.intervals import clv_interval, draw_count, order_quantiles
from shopseg.value.predict import (
    CHURN,
    CHURN_BASELINE,
    HIGH_VALUE,
    TOP_SHARE,
    OutcomeClassifier,
    evaluate_outcomes,
    model_features,
    outcome_labels,
    score,
)
from shopseg.value.selection import CANDIDATES, Comparison, compare_models
from shopseg.value.spend import GammaGammaSpend, ShrunkSpendModel, choose_spend_model
from shopseg.value.summary import DAY_COLUMN, PeriodSplit, calibration_summary, purchase_days, split_periods
from shopseg.value.tracking import frequency_recency_grid, tracking_curve
from shopseg.value.transaction import TRANSACTION_MODELS, TransactionModel, model_from_dict
from shopseg.value.validity import RFM_COLUMNS

#: Fewer customers than this and population models are not worth fitting.
MIN_CUSTOMERS = 20
#: Fewer repeat buyers than this and the transaction model's estimates come with a warning.
MIN_REPEAT_BUYERS = 50
WEEK_DAYS = 7.0

CLV = "clv"
P_ALIVE = "p_alive"
CHURN_RISK = "churn_risk"
HIGH_VALUE_PROB = "high_value_prob"
NEXT_ORDER = "next_order_date_estimate"
LOW, HIGH = "p05", "p95"
#: The columns of holdout.csv, in order.
HOLDOUT_COLUMNS = (
    s.CUSTOMER_ID,
    "expected_orders",
    "actual_orders",
    "orders_p05",
    "orders_p95",
    "p_no_orders",
    "expected_spend",
    "actual_spend",
)


def expected_orders_column(horizon_days: int) -> str:
    """Name of the expected-orders column for a horizon: ``expected_orders_365d``."""
    return f"expected_orders_{int(horizon_days)}d"


def value_columns(horizon_days: int = 365) -> tuple[str, ...]:
    """The columns of :attr:`ValueResult.frame`, in order."""
    orders = expected_orders_column(horizon_days)
    return (
        CLV,
        f"{CLV}_{LOW}",
        f"{CLV}_{HIGH}",
        P_ALIVE,
        orders,
        f"{orders}_{LOW}",
        f"{orders}_{HIGH}",
        CHURN_RISK,
        HIGH_VALUE_PROB,
        NEXT_ORDER,
    )


def column_docs(horizon_days: int, window_days: int) -> dict[str, str]:
    """What each value column means (written into value.json next to the numbers)."""
    orders = expected_orders_column(horizon_days)
    return {
        CLV: f"discounted expected spend over the next {horizon_days} days (expected orders x spend per order, "
        "monthly discount; expected orders capped by the purchase-rate bound)",
        f"{CLV}_{LOW}": "lower end of the 90% interval of CLV (orders' 5% quantile x discounted value per order)",
        f"{CLV}_{HIGH}": "upper end of the 90% interval of CLV (orders' 95% quantile x discounted value per order)",
        P_ALIVE: "the transaction model's probability that the customer has not dropped out for good by the last "
        "day of data; it says nothing about how soon they buy (a rare buyer can be alive and still unlikely to "
        "order in the window: read churn_risk for that). In BG/NBD every one-time buyer has P(alive) = 1 by "
        "construction; MBG/NBD and Pareto/NBD let one-time buyers drop out",
        orders: f"expected orders (purchase days) in the next {horizon_days} days",
        f"{orders}_{LOW}": "5% quantile of the orders in the next "
        f"{horizon_days} days (predictive distribution with parameter uncertainty)",
        f"{orders}_{HIGH}": f"95% quantile of the orders in the next {horizon_days} days",
        CHURN_RISK: f"probability of no order in the next {window_days} days: the transaction model's P(no order) "
        "(dropped out, or alive and silent) unless a classifier beat it on the holdout (value.json: churn)",
        HIGH_VALUE_PROB: f"probability of being in the top {TOP_SHARE:.0%} of spend in the next {window_days} days",
        NEXT_ORDER: "the day by which an order is as likely as not (median wait, counting that the customer may "
        f"have left); empty when that is not within the next {horizon_days} days",
    }


@dataclass
class ValueResult:
    """What :func:`customer_value` returns.

    ``frame``: one row per customer (index customer_id, columns :func:`value_columns`),
    or None when the history is too short or unsuitable (``report["notes"]`` says why).
    ``report``: JSON-ready dict (value.json). ``holdout``: one row per calibration
    customer, columns :data:`HOLDOUT_COLUMNS` (None without a holdout). ``outcomes``: per
    calibration customer, the calibration RFM columns and holdout outcomes, for
    :func:`~shopseg.value.validity.predictive_validity`. ``split``: the time split used.
    """

    frame: pd.DataFrame | None
    report: dict[str, object]
    outcomes: pd.DataFrame | None = None
    split: PeriodSplit | None = None
    models: dict[str, object] = field(default_factory=dict, repr=False)
    scorer: ValueScorer | None = field(default=None, repr=False)
    holdout: pd.DataFrame | None = None

    @property
    def available(self) -> bool:
        return self.frame is not None


@dataclass
class ValueScorer:
    """The fitted production models, able to score any customer's order lines.

    ``customer_value`` builds its ``frame`` with :meth:`score` on the shop it fitted, so
    scoring other customers later (a chunk of a shop too large for memory, Spark partitions)
    gives exactly the values they would have had in that frame: the same transaction and
    spend models, parameter draws, bound, classifiers and last day of data.
    """

    transaction: TransactionModel
    spend: GammaGammaSpend | ShrunkSpendModel
    last_day: pd.Timestamp
    window_days: float
    horizon_days: int
    discount_rate: float
    churn: OutcomeClassifier | None = None
    high_value: OutcomeClassifier | None = None
    #: Shop shares of the habit features the classifiers read (see :func:`habit_priors`).
    share_priors: dict[str, float] | None = None
    #: Purchases per day no customer is expected to exceed (:func:`order_rate_bound`); None: no bound.
    rate_bound: float | None = None
    #: Parameter draws for the intervals (fixed per fit) and their seed.
    n_draws: int = 32
    seed: int = 0

    def score(self, orders: pd.DataFrame, days: pd.DataFrame | None = None) -> pd.DataFrame:
        """One row per customer of canonical ``orders`` (index customer_id, :func:`value_columns`)."""
        return self.score_with_facts(orders, days)[0]

    def score_with_facts(
        self, orders: pd.DataFrame, days: pd.DataFrame | None = None
    ) -> tuple[pd.DataFrame, dict[str, int]]:
        """:meth:`score` and how many customers the rate bound capped (``{"capped": n}``)."""
        orders = _checked(orders)
        days = purchase_days(orders) if days is None else days
        split = PeriodSplit(self.last_day, None)
        columns = value_columns(self.horizon_days)
        frame = pd.DataFrame(columns=list(columns), dtype="float64")
        capped = 0
        if not days.empty and (days[DAY_COLUMN] <= self.last_day).any():
            summary = calibration_summary(days=days, split=split)
            frame, capped = self._predict(orders, summary, days, split)
        everyone = pd.Index(pd.unique(orders[s.CUSTOMER_ID]), name=s.CUSTOMER_ID)
        missing = everyone.difference(frame.index)
        if len(missing):  # only returns (or, scoring later data, nothing up to the last day)
            filler = pd.DataFrame({c: 0.0 for c in columns}, index=missing)
            filler[CHURN_RISK] = 1.0
            filler[NEXT_ORDER] = pd.NaT
            frame = pd.concat([frame, filler]) if len(frame) else filler
        frame = frame.sort_index()
        frame.index.name = s.CUSTOMER_ID
        numeric = frame.columns.drop(NEXT_ORDER)
        frame[numeric] = frame[numeric].astype("float64").fillna(0.0)
        frame[NEXT_ORDER] = pd.to_datetime(frame[NEXT_ORDER])
        return frame[list(columns)], {"capped": capped}

    def _predict(
        self, orders: pd.DataFrame, summary: pd.DataFrame, days: pd.DataFrame, split: PeriodSplit
    ) -> tuple[pd.DataFrame, int]:
        x, t_x, age = (summary[c].to_numpy(dtype="float64") for c in ("frequency", "recency", "T"))
        spend = self.spend.expected_spend(summary, days)
        columns, capped = self.predict_arrays(x, t_x, age, spend)
        frame = pd.DataFrame(columns, index=summary.index)
        frame[NEXT_ORDER] = next_order_date_estimate(
            self.transaction, x, t_x, age, self.last_day, horizon_days=self.horizon_days
        )
        if self.churn is not None or self.high_value is not None:
            features = model_features(
                orders,
                summary,
                split,
                self.transaction,
                spend,
                window_days=self.window_days,
                share_priors=self.share_priors,
            )
            for classifier, column in ((self.churn, CHURN_RISK), (self.high_value, HIGH_VALUE_PROB)):
                if classifier is not None:
                    frame[column] = classifier.predict_proba(features)
        return frame, int(capped.sum())

    def predict_arrays(
        self, x: np.ndarray, t_x: np.ndarray, age: np.ndarray, spend: np.ndarray, *, intervals: bool = True
    ) -> tuple[dict[str, np.ndarray], np.ndarray]:
        """The model-based value columns from calibration summaries (days) and spend per order.

        Everything but the next order date and the classifiers' columns; with ``intervals=False``
        the p05/p95 columns are left out (the real-time update skips the parameter draws).
        Returns the columns and which customers the rate bound capped.
        """
        model, horizon = self.transaction, self.horizon_days
        expected = model.conditional_expected_purchases(horizon, x, t_x, age)
        clv = customer_lifetime_value(model, x, t_x, age, spend, horizon_days=horizon, discount_rate=self.discount_rate)
        if intervals:
            low, high = order_quantiles(model, horizon, x, t_x, age, n_draws=self.n_draws, seed=self.seed)
        capped = np.zeros(len(x), dtype=bool)
        if self.rate_bound is not None:
            cap = self.rate_bound * horizon
            capped = (age < MIN_OBSERVED_DAYS) & (expected > cap)  # T in days: the scorer's unit
            factor = np.where(capped, cap / np.where(expected > 0, expected, 1.0), 1.0)
            expected, clv = expected * factor, clv * factor
            if intervals:
                high = np.minimum(high, np.ceil(cap))
                low = np.minimum(low, high)
        orders_column = expected_orders_column(horizon)
        columns: dict[str, np.ndarray] = {CLV: clv}
        if intervals:
            columns[f"{CLV}_{LOW}"], columns[f"{CLV}_{HIGH}"] = clv_interval(clv, expected, low, high)
        columns[P_ALIVE] = model.p_alive(x, t_x, age)
        columns[orders_column] = expected
        if intervals:
            columns[f"{orders_column}_{LOW}"], columns[f"{orders_column}_{HIGH}"] = low, high
        columns[CHURN_RISK] = model.p_no_purchase(self.window_days, x, t_x, age)
        columns[HIGH_VALUE_PROB] = np.full(len(x), TOP_SHARE)
        return columns, capped

    def to_dict(self) -> dict[str, object]:
        """The scorer as JSON (value.json ``scorer``): enough to score new customers without refitting.

        The classifiers are not saved (no pickle); ``classifier_columns`` names the columns they
        gave, which :meth:`from_dict`'s scorer gives from the transaction model instead.
        """
        return {
            "transaction_model": self.transaction.to_dict(),
            "spend_model": self.spend.to_dict(),
            "last_day": self.last_day.isoformat(),
            "window_days": self.window_days,
            "horizon_days": self.horizon_days,
            "discount_rate": self.discount_rate,
            "rate_bound": self.rate_bound,
            "n_draws": self.n_draws,
            "seed": self.seed,
            "classifier_columns": [
                column for model, column in ((self.churn, CHURN_RISK), (self.high_value, HIGH_VALUE_PROB)) if model
            ],
        }

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> ValueScorer:
        """A scorer from :meth:`to_dict` output (without classifiers: see there)."""
        spend_data = dict(data["spend_model"])  # type: ignore[arg-type]
        if spend_data.get("model") == "shrunk_mean":
            spend: GammaGammaSpend | ShrunkSpendModel = ShrunkSpendModel.from_dict(spend_data)
        else:
            spend = GammaGammaSpend(GammaGammaModel.from_dict(spend_data))
        bound = data.get("rate_bound")
        return cls(
            transaction=model_from_dict(dict(data["transaction_model"])),  # type: ignore[arg-type]
            spend=spend,
            last_day=pd.Timestamp(str(data["last_day"])),
            window_days=float(data["window_days"]),  # type: ignore[arg-type]
            horizon_days=int(data["horizon_days"]),  # type: ignore[arg-type]
            discount_rate=float(data["discount_rate"]),  # type: ignore[arg-type]
            rate_bound=float(bound) if bound is not None else None,  # type: ignore[arg-type]
            n_draws=int(data.get("n_draws", 32)),  # type: ignore[arg-type]
            seed=int(data.get("seed", 0)),  # type: ignore[arg-type]
        )


def jsonable(value: object) -> object:
    """Plain JSON data: numpy scalars to Python, NaN/inf to None, timestamps to ISO strings."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return jsonable(value.tolist())
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


def model_record(model: TransactionModel, summary: pd.DataFrame, period_end: pd.Timestamp) -> dict[str, object]:
    """A fitted transaction model as the report shows it: parameters in days and weeks, and what it saw."""
    first = summary["first_purchase"].min()
    span_days = float((period_end - first) / pd.Timedelta(days=1))
    weekly = {k: (v / WEEK_DAYS if k in model.TIME_PARAMS else v) for k, v in model.params_.items()}
    weekly_se = {k: (v / WEEK_DAYS if k in model.TIME_PARAMS else v) for k, v in model.standard_errors_.items()}
    return {
        **model.to_dict(),
        "label": model.label,
        "time_unit": "days",
        "params_weeks": weekly,
        "standard_errors_weeks": weekly_se,
        "fitted_on": {
            "customers": len(summary),
            "repeat_buyers": int((summary["frequency"] > 0).sum()),
            "first_day": first,
            "last_day": period_end,
            "days": span_days,
            "weeks": round(span_days / WEEK_DAYS, 2),
        },
        "fit_message": model.fit_message_,
    }


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
    candidates: tuple[str, ...] = CANDIDATES,
    bayesian: bool = False,
) -> ValueResult:
    """Value and risk of every customer in canonical ``orders``; see the module docstring.

    ``horizon_days``: CLV and expected-orders horizon. ``discount_rate``: per 30-day month.
    ``holdout_days`` / ``holdout_start``: the time split for choosing the model, the churn
    decision and the holdout checks (default: the last min(horizon_days, history / 2) days).
    ``sequence_model``: also train the LSTM baseline in the evaluation (slower).
    ``n_threads``: OpenMP threads for gradient boosting (None: one below 100k customers,
    all cores above). ``candidates``: transaction models to compare (registry names).
    ``bayesian``: refit the chosen model on the whole history by MCMC through pymc-marketing
    (must be installed; :mod:`~shopseg.value.bayes`), so the intervals use posterior draws.
    """
    if horizon_days < 1:
        raise ConfigError(f"--horizon-days must be at least 1, got {horizon_days}.")
    if discount_rate <= -1 or discount_rate >= 1:
        raise ConfigError(f"--discount-rate is a monthly rate like 0.01; got {discount_rate}.")
    unknown = [c for c in candidates if c not in TRANSACTION_MODELS]
    if unknown or not candidates:
        raise ConfigError(
            f"Unknown transaction model '{unknown[0] if unknown else ''}'; known: {', '.join(CANDIDATES)}."
        )
    notes: list[str] = []
    warnings: list[str] = []
    report: dict[str, object] = {
        "available": True,
        "horizon_days": int(horizon_days),
        "discount_rate_monthly": float(discount_rate),
        "conventions": (
            "purchases aggregated per customer and day (returns excluded); frequency = repeat purchase days; "
            "CLV discounted monthly (30-day months) as in lifetimes; model times in days (params_weeks: in weeks)"
        ),
        "warnings": warnings,
        "notes": notes,
    }
    orders = _checked(orders)
    days = purchase_days(orders)
    if days.empty:
        return _skipped(report, "No purchases in the orders (only returns or undated lines): value columns skipped.")
    first_day, last_day = days[DAY_COLUMN].min(), days[DAY_COLUMN].max()
    span = int((last_day - first_day) / pd.Timedelta(days=1))
    report["history"] = {"first_day": first_day, "last_day": last_day, "days": span, "weeks": round(span / 7, 1)}
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
        "holdout_weeks": round(split.holdout_days / WEEK_DAYS, 2),
    }
    summary_full = calibration_summary(days=days, split=full_split)
    calibration = _calibration(days, split, candidates, notes)
    comparison = calibration.comparison if calibration is not None else compare_models(summary_full, None, candidates)
    report["model_selection"] = {
        "criterion": comparison.criterion,
        "chosen": comparison.chosen,
        "candidates": comparison.records,
        "fitted_on": "calibration period" if comparison.criterion == "holdout_mae" else "whole history",
    }
    for record in comparison.records:
        if not record.get("converged"):
            reason = record.get("error") or "the optimiser did not converge"
            warnings.append(f"{record['label']} ({report['model_selection']['fitted_on']}): {reason}.")
    transaction = _production_model(comparison, summary_full, warnings)
    if transaction is not None and bayesian:
        from shopseg.value.bayes import fit_bayesian

        transaction = fit_bayesian(summary_full, transaction.name, random_seed=random_state)
    if transaction is None:
        errors = [str(r["error"]) for r in comparison.records if r.get("error")]
        reason = errors[0] if errors else "see warnings"
        return _skipped(report, f"No transaction model could be fitted: {reason} Value columns skipped.")
    report["transaction_model"] = model_record(transaction, summary_full, last_day)
    spend_choice = choose_spend_model(summary_full, days, "whole history")
    warnings.extend(spend_choice.warnings)
    report["spend"] = spend_choice.report
    _history_warnings(summary_full, span, horizon_days, warnings)

    window = float(split.holdout_days) if split.holdout_end is not None else float(horizon_days)
    supervised = _supervised(
        orders,
        calibration,
        random_state=random_state,
        sequence_model=sequence_model,
        test_size=test_size,
        n_threads=n_threads,
    )
    report.update(supervised.report)
    notes.extend(supervised.notes)
    x_full = summary_full[["frequency", "recency", "T"]].to_numpy(dtype="float64")
    scorer = ValueScorer(
        transaction=transaction,
        spend=spend_choice.model,
        last_day=last_day,
        window_days=window,
        horizon_days=horizon_days,
        discount_rate=discount_rate,
        churn=supervised.scoring.get(CHURN),
        high_value=supervised.scoring.get(HIGH_VALUE),
        share_priors=habit_priors(orders.loc[orders[s.TS] < full_split.holdout_start]) if supervised.scoring else None,
        rate_bound=order_rate_bound(summary_full["frequency"], summary_full["T"]),
        n_draws=draw_count(len(np.unique(x_full, axis=0))),
        seed=random_state,
    )
    frame, facts = scorer.score_with_facts(orders, days)
    report["scorer"] = scorer.to_dict()
    report["clv_bound"] = {
        "max_purchases_per_day": scorer.rate_bound,
        "max_orders_over_horizon": scorer.rate_bound * horizon_days if scorer.rate_bound is not None else None,
        "customers_capped": facts["capped"],
        "rule": "customers observed < 30 days: expected orders <= horizon x the 99th percentile of x / T among "
        "customers observed >= 30 days",
    }
    if facts["capped"]:
        warnings.append(
            f"{facts['capped']:,} customer(s) observed for under {MIN_OBSERVED_DAYS:.0f} days had more expected "
            f"orders than the purchase-rate bound allows ({scorer.rate_bound * horizon_days:,.1f} over "
            f"{horizon_days} days, the 99th percentile of observed rates): their expected orders and CLV are "
            "capped there."
        )
    report["interval_draws"] = scorer.n_draws if transaction.uncertainty_known else 0
    only_returns = len(frame) - len(summary_full)
    if only_returns:
        notes.append(f"{only_returns:,} customer(s) with only returns: clv 0, p_alive 0, churn_risk 1.")
    report["customers"] = len(frame)
    report["columns"] = column_docs(horizon_days, int(window))
    report["matrices"] = frequency_recency_grid(transaction, float(summary_full["T"].max()), float(horizon_days))
    models = {"transaction": transaction, "spend": spend_choice.model, **supervised.models}
    return ValueResult(
        frame=frame,
        report=jsonable(report),
        outcomes=supervised.outcomes,
        split=split,
        models=models,
        scorer=scorer,
        holdout=supervised.holdout,
    )


def _history_warnings(summary: pd.DataFrame, span: int, horizon_days: int, warnings: list[str]) -> None:
    """Warnings about histories too thin for confident predictions."""
    repeat = int((summary["frequency"] > 0).sum())
    if repeat < MIN_REPEAT_BUYERS:
        warnings.append(
            f"Only {repeat} customer(s) bought more than once (fewer than {MIN_REPEAT_BUYERS}): purchase rates and "
            "dropout are poorly pinned down; read the 90% intervals, not the point values."
        )
    if span < horizon_days:
        warnings.append(
            f"The history covers {span} days ({span / WEEK_DAYS:.1f} weeks) but CLV and expected orders look "
            f"{horizon_days} days ahead: the models extrapolate {horizon_days / max(span, 1):.1f}x beyond what "
            "they saw, and expected orders are bounded by the shop's observed purchase rates."
        )


def _production_model(comparison: Comparison, summary: pd.DataFrame, warnings: list[str]) -> TransactionModel | None:
    """The chosen model refitted on the whole history; the next candidate when it does not converge there."""
    x, t_x, age = (summary[c].to_numpy(dtype="float64") for c in ("frequency", "recency", "T"))
    fitted: list[TransactionModel] = []
    for name in comparison.ranking():
        if comparison.criterion == "bic":
            model = comparison.models[name]
        else:
            try:
                model = TRANSACTION_MODELS[name]().fit(x, t_x, age)
            except ShopsegError as error:
                warnings.append(f"{TRANSACTION_MODELS[name].label} (whole history): {error}")
                continue
        if model.converged_:
            if fitted:
                warnings.append(f"Using {model.label}, the next best on the holdout, on the whole history instead.")
            return model
        warnings.append(f"{model.label} (whole history) did not converge ({model.fit_message_}).")
        fitted.append(model)
    if fitted:
        warnings.append(f"No model converged on the whole history; using {fitted[0].label} as fitted.")
        return fitted[0]
    return None


@dataclass
class _Calibration:
    """The calibration period: its summary, the candidates compared on the holdout, the split."""

    summary: pd.DataFrame
    comparison: Comparison
    split: PeriodSplit
    days: pd.DataFrame


def _calibration(
    days: pd.DataFrame, split: PeriodSplit, candidates: tuple[str, ...], notes: list[str]
) -> _Calibration | None:
    """Fit every candidate on the calibration period and judge them on the holdout (None without one)."""
    if split.holdout_end is None:
        notes.append("No holdout period: the model is chosen by BIC; churn_risk is the model's P(no order).")
        return None
    try:
        summary = calibration_summary(days=days, split=split)
    except ShopsegError as error:
        notes.append(f"Calibration period (to {split.calibration_end.date()}): {error} The model is chosen by BIC.")
        return None
    comparison = compare_models(summary, float(split.holdout_days), candidates)
    if comparison.chosen is None:
        notes.append(
            f"Calibration period (to {split.calibration_end.date()}): no model could be fitted; chosen by BIC on "
            "the whole history instead."
        )
        return None
    return _Calibration(summary, comparison, split, days)


@dataclass
class _Supervised:
    """What the calibration/holdout part adds: classifiers to score with, report entries, outcomes, models, notes."""

    scoring: dict[str, OutcomeClassifier] = field(default_factory=dict)
    report: dict[str, object] = field(default_factory=dict)
    outcomes: pd.DataFrame | None = None
    models: dict[str, object] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    holdout: pd.DataFrame | None = None


def holdout_table(
    model: TransactionModel, summary: pd.DataFrame, spend: np.ndarray, window: float, *, seed: int = 0
) -> pd.DataFrame:
    """Per calibration customer: predicted vs actual holdout orders and spend (:data:`HOLDOUT_COLUMNS`)."""
    x, t_x, age = (summary[c].to_numpy(dtype="float64") for c in ("frequency", "recency", "T"))
    expected = model.conditional_expected_purchases(window, x, t_x, age)
    low, high = order_quantiles(model, window, x, t_x, age, seed=seed)
    table = pd.DataFrame(
        {
            s.CUSTOMER_ID: summary.index.to_numpy(),
            "expected_orders": expected,
            "actual_orders": summary["frequency_holdout"].to_numpy(dtype="int64"),
            "orders_p05": low.astype("int64"),
            "orders_p95": high.astype("int64"),
            "p_no_orders": model.p_no_purchase(window, x, t_x, age),
            "expected_spend": expected * spend,
            "actual_spend": summary["spend_holdout"].to_numpy(dtype="float64"),
        }
    )
    return table[list(HOLDOUT_COLUMNS)]


def _supervised(
    orders: pd.DataFrame,
    calibration: _Calibration | None,
    *,
    random_state: int,
    sequence_model: bool,
    test_size: float,
    n_threads: int | None,
) -> _Supervised:
    """Holdout checks of the chosen model, the churn decision, and the classifiers to apply to the full history."""
    result = _Supervised()
    if calibration is None:
        result.report["churn"] = {
            "source": CHURN_BASELINE,
            "reason": "no holdout period to train or check a classifier",
        }
        return result
    summary, split, days = calibration.summary, calibration.split, calibration.days
    model = calibration.comparison.models[calibration.comparison.chosen]
    window = float(split.holdout_days)
    spend_choice = choose_spend_model(summary, days, "calibration")
    holdout = holdout_table(model, summary, spend_choice.spend, window, seed=random_state)
    result.holdout = holdout
    actual = holdout["actual_orders"].to_numpy(dtype="float64")
    predicted = holdout["expected_orders"].to_numpy()
    inside = (actual >= holdout["orders_p05"]) & (actual <= holdout["orders_p95"])
    result.report["holdout_check"] = {
        "model": model.name,
        "calibration_model": model_record(model, summary, split.calibration_end),
        "customers": len(summary),
        "window_days": int(split.holdout_days),
        "predicted_purchases": float(predicted.sum()),
        "actual_purchases": float(actual.sum()),
        "relative_error": float((predicted.sum() - actual.sum()) / actual.sum()) if actual.sum() > 0 else None,
        "mean_absolute_error_per_customer": float(np.mean(np.abs(predicted - actual))),
        "interval_coverage": float(inside.mean()),
        "predicted_spend": float(holdout["expected_spend"].sum()),
        "actual_spend": float(holdout["actual_spend"].sum()),
        "spend_method": spend_choice.report["method"],
    }
    result.report["tracking"] = tracking_curve(days, split, model)
    labels = outcome_labels(summary)
    features = model_features(orders, summary, split, model, spend_choice.spend, window_days=window)
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
    decision = churn_decision(
        out_of_time_check(orders, calibration, features, labels, random_state=random_state, n_threads=n_threads)
    )
    result.report["churn"] = decision
    for target in (CHURN, HIGH_VALUE):
        if target == CHURN and decision["source"] != "gradient_boosting":
            continue
        classifier = OutcomeClassifier(random_state=random_state, n_threads=n_threads).fit(features, labels[target])
        result.models[target] = classifier
        if classifier.constant_:
            result.notes.append(f"{target}: one outcome is too rare to learn; the base rate is used.")
            if target == CHURN:
                result.report["churn"] = {"source": CHURN_BASELINE, "reason": "churn outcome too rare to learn"}
                continue
        result.scoring[target] = classifier
    result.outcomes = features[list(RFM_COLUMNS)].join(labels)
    return result


def run_summary(report: dict[str, object]) -> dict[str, object]:
    """The short view of a value report for run.json; the whole report is value.json beside it."""
    if not report.get("available"):
        return {"available": False, "notes": report.get("notes", [])}
    check = report.get("holdout_check") or {}
    summary = {
        "available": True,
        "file": "value.json",
        "holdout_file": "holdout.csv" if check else None,
        "model": (report.get("transaction_model") or {}).get("model"),
        "spend_model": (report.get("spend") or {}).get("method"),
        "churn_risk_source": (report.get("churn") or {}).get("source"),
        "holdout_mae_per_customer": check.get("mean_absolute_error_per_customer"),
        "holdout_interval_coverage": check.get("interval_coverage"),
        "warnings": report.get("warnings", []),
        "notes": report.get("notes", []),
    }
    if "predictive_validity" in report:
        summary["predictive_validity"] = report["predictive_validity"]
    return summary


#: The earlier training period of the out-of-time check must span at least this many days before its cut.
MIN_TRAINING_DAYS = 90


def out_of_time_check(
    orders: pd.DataFrame,
    calibration: _Calibration,
    features: pd.DataFrame,
    labels: pd.DataFrame,
    *,
    random_state: int,
    n_threads: int | None,
) -> dict[str, object]:
    """Churn AUC / Brier on the holdout of a classifier trained one window *earlier*, and of the model's P(no order).

    In production the classifier is trained on the latest window and applied to the next,
    unseen one; the fair check does the same one step back: features at the calibration end
    minus the holdout length, labels in the window up to the calibration end, then scored on
    the holdout customers (features at the calibration end), next to the model's P(no order)
    from the calibration fit, which saw no holdout label either. (A customer split inside one
    window lets the classifier learn that window's own patterns, which need not last.)
    Returns ``{"available": False, "reason": ...}`` when the history is too short for it.
    """
    split, days = calibration.split, calibration.days
    window = split.holdout_days
    earlier = PeriodSplit(split.calibration_end - pd.Timedelta(days=window), split.calibration_end)
    first_day = days[DAY_COLUMN].min()
    span = int((earlier.calibration_end - first_day) / pd.Timedelta(days=1))
    if span < MIN_TRAINING_DAYS:
        return {
            "available": False,
            "reason": f"the history before the holdout ({span + window} days) is too short to train a classifier "
            f"one {window}-day window earlier and test it out of time (needs {MIN_TRAINING_DAYS + 2 * window} days)",
        }
    try:
        summary = calibration_summary(days=days, split=earlier)
        model = type(calibration.comparison.models[calibration.comparison.chosen])().fit(
            summary["frequency"], summary["recency"], summary["T"]
        )
    except ShopsegError as error:
        return {"available": False, "reason": f"the earlier window cannot be modelled: {error}"}
    spend = choose_spend_model(summary, days, "earlier window").spend
    earlier_features = model_features(orders, summary, earlier, model, spend, window_days=float(window))
    classifier = OutcomeClassifier(random_state=random_state, n_threads=n_threads).fit(
        earlier_features, outcome_labels(summary)[CHURN]
    )
    if classifier.constant_:
        return {"available": False, "reason": "churn in the earlier window is too rare to learn"}
    y = labels[CHURN].to_numpy(dtype="int64")
    return {
        "available": True,
        "trained_on": {"features_at": earlier.calibration_end, "labels_until": split.calibration_end},
        "tested_on": {"features_at": split.calibration_end, "labels_until": split.holdout_end},
        "customers": len(y),
        "classifier": score(y, classifier.predict_proba(features)),
        "baseline": score(y, features["model_p_no_purchase"].to_numpy(dtype="float64")),
    }


def churn_decision(check: dict[str, object]) -> dict[str, object]:
    """The churn risk to use: a classifier only when it beats the model's P(no order) out of time (AUC and Brier)."""
    if not check.get("available"):
        return {"source": CHURN_BASELINE, "reason": str(check.get("reason")), "out_of_time": check}
    classifier, baseline = check["classifier"], check["baseline"]
    facts = {
        "classifier_auc": classifier["auc"],
        "classifier_brier": classifier["brier"],
        "baseline_auc": baseline["auc"],
        "baseline_brier": baseline["brier"],
        "out_of_time": check,
    }
    if classifier["auc"] is None or baseline["auc"] is None:
        return {"source": CHURN_BASELINE, "reason": "AUC undefined on the holdout (one outcome only)", **facts}
    if classifier["auc"] > baseline["auc"] and classifier["brier"] < baseline["brier"]:
        reason = "a classifier trained one window earlier beat the model's P(no order) on the holdout (AUC and Brier)"
        return {"source": "gradient_boosting", "reason": reason, **facts}
    return {
        "source": CHURN_BASELINE,
        "reason": "a classifier trained one window earlier did not beat the model's P(no order) on the holdout on "
        "both AUC and Brier",
        **facts,
    }


def segment_value_summary(frame: pd.DataFrame, labels: pd.Series) -> pd.DataFrame:
    """Totals and means of the value columns per segment, for profiles.

    ``frame``: :attr:`ValueResult.frame`; ``labels``: segment per customer (index
    customer_id; customers missing from ``frame`` are ignored). Returns one row per
    segment (index segment_id) with customers, clv_total, clv_mean, clv_share,
    expected_orders_total, expected_orders_mean, p_alive_mean, churn_risk_mean,
    high_value_prob_mean and expected_customers_churning (sum of churn_risk).
    """
    expected = next(
        (c for c in frame.columns if c.startswith("expected_orders_") and not c.endswith((LOW, HIGH))), None
    )
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
