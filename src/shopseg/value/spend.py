"""Expected spend per order: Gamma-Gamma when its assumptions hold, a shrunk mean when they do not.

Gamma-Gamma (:mod:`shopseg.value.gamma_gamma`) is trusted only when every guard passes:

* it converged, with finite parameters (a p of 2.4e6 is a fit that ran away, not a shop);
* q > 1 (else the population mean spend is infinite);
* at least :data:`MIN_REPEAT_BUYERS` repeat buyers to estimate three parameters from;
* |corr(frequency, mean repeat spend)| <= :data:`MAX_CORRELATION` among repeat buyers (the
  model assumes spend does not depend on how often a customer buys).

Otherwise each customer's spend per order is their mean purchase-day spend shrunk towards
the shop mean by Buhlmann-Straub credibility (:class:`ShrunkSpendModel`): weight
n / (n + K) on their own mean after n purchase days, K = (within-customer variance) /
(between-customer variance), both estimated from the shop's purchase days. It needs no
independence assumption and never extrapolates past what customers spent; every fallback is
a warning with the reason.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from shopseg import schema as s
from shopseg.errors import ShopsegError
from shopseg.value.gamma_gamma import GammaGammaModel, frequency_spend_correlation
from shopseg.value.summary import DAY_COLUMN, SPEND_COLUMN

#: Fewer repeat buyers than this and Gamma-Gamma's three parameters are not trusted.
MIN_REPEAT_BUYERS = 30
#: Above this |Pearson correlation| of frequency and mean repeat spend, Gamma-Gamma's independence fails.
MAX_CORRELATION = 0.3
#: A Gamma-Gamma parameter above this has run away (the optimiser followed a flat ridge).
MAX_PARAMETER = 1e4


def day_stats(summary: pd.DataFrame, days: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """(purchase days, mean spend per purchase day) per customer of ``summary``, up to their last purchase.

    ``days`` are :func:`~shopseg.value.summary.purchase_days`; only days on or before the
    summary's latest ``last_purchase`` count (the calibration period). Shapes (n,).
    """
    end = summary["last_purchase"].max()
    in_period = days.loc[days[DAY_COLUMN] <= end]
    grouped = in_period.groupby(s.CUSTOMER_ID)[SPEND_COLUMN].agg(["size", "mean"]).reindex(summary.index)
    count = grouped["size"].fillna(0.0).to_numpy(dtype="float64")
    mean = np.clip(grouped["mean"].fillna(0.0).to_numpy(dtype="float64"), 0.0, None)
    return count, mean


@dataclass
class ShrunkSpendModel:
    """Buhlmann-Straub credibility estimate of spend per order (see the module docstring).

    ``fit(days)``: ``mean_`` (the shop's mean spend per purchase day), ``k_`` (days of a
    customer's own history that weigh as much as the shop mean; inf when customers do not
    differ), ``within_variance_``, ``between_variance_``.
    """

    mean_: float | None = field(default=None)
    k_: float | None = field(default=None)
    within_variance_: float | None = field(default=None)
    between_variance_: float | None = field(default=None)

    def fit(self, days: pd.DataFrame) -> ShrunkSpendModel:
        """Estimate the shop mean and K from purchase days (customer_id, day, spend)."""
        spend = np.clip(days[SPEND_COLUMN].to_numpy(dtype="float64"), 0.0, None)
        if spend.size == 0:
            raise ShopsegError("No purchase days to estimate spend per order from.")
        codes, _ = pd.factorize(days[s.CUSTOMER_ID])
        n_i = np.bincount(codes).astype("float64")
        sums = np.bincount(codes, weights=spend)
        means = sums / n_i
        total = float(n_i.sum())
        grand = float(sums.sum() / total)
        squares = np.bincount(codes, weights=(spend - means[codes]) ** 2)
        degrees = float((n_i - 1).sum())
        within = float(squares.sum() / degrees) if degrees > 0 else 0.0
        between_raw = float((n_i * (means - grand) ** 2).sum()) - (len(n_i) - 1) * within
        normaliser = total - float((n_i**2).sum()) / total
        between = max(0.0, between_raw / normaliser) if normaliser > 0 else 0.0
        self.mean_ = grand
        self.within_variance_ = within
        self.between_variance_ = between
        self.k_ = within / between if between > 0 else float("inf")
        return self

    def predict(self, count: object, mean: object) -> np.ndarray:
        """Shrunk spend per order from each customer's purchase days and mean day spend; shape (n,)."""
        n = np.asarray(count, dtype="float64")
        own = np.asarray(mean, dtype="float64")
        if self.mean_ is None or self.k_ is None:
            raise ShopsegError("This ShrunkSpendModel is not fitted yet: call fit(days).")
        weight = n / (n + self.k_) if np.isfinite(self.k_) else np.zeros_like(n)
        return weight * own + (1.0 - weight) * self.mean_

    def expected_spend(self, summary: pd.DataFrame, days: pd.DataFrame) -> np.ndarray:
        """The scorer's interface: spend per order for the customers of ``summary``."""
        return self.predict(*day_stats(summary, days))

    def spend_from_stats(self, frequency: object, monetary: object, day_count: object, day_mean: object) -> np.ndarray:
        """Spend per order from per-customer statistics (this model reads the purchase days and their mean spend)."""
        return self.predict(day_count, np.clip(np.asarray(day_mean, dtype="float64"), 0.0, None))

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> ShrunkSpendModel:
        """A fitted model from :meth:`to_dict` output (no K: customers do not differ, K = inf)."""
        k = data.get("credibility_k_days")
        return cls(
            mean_=float(data["shop_mean_spend_per_order"]),  # type: ignore[arg-type]
            k_=float(k) if k is not None else float("inf"),  # type: ignore[arg-type]
            within_variance_=data.get("within_customer_variance"),  # type: ignore[arg-type]
            between_variance_=data.get("between_customer_variance"),  # type: ignore[arg-type]
        )

    def to_dict(self) -> dict[str, object]:
        return {
            "model": "shrunk_mean",
            "shop_mean_spend_per_order": self.mean_,
            "credibility_k_days": self.k_ if self.k_ is not None and np.isfinite(self.k_) else None,
            "within_customer_variance": self.within_variance_,
            "between_customer_variance": self.between_variance_,
        }


@dataclass
class GammaGammaSpend:
    """A fitted Gamma-Gamma behind the scorer's ``expected_spend(summary, days)`` interface."""

    model: GammaGammaModel

    def expected_spend(self, summary: pd.DataFrame, days: pd.DataFrame) -> np.ndarray:
        return self.spend_from_stats(summary["frequency"].to_numpy(dtype="float64"), summary["monetary_value"], 0, 0)

    def spend_from_stats(self, frequency: object, monetary: object, day_count: object, day_mean: object) -> np.ndarray:
        """Spend per order from per-customer statistics (this model reads repeat purchases and their mean spend)."""
        return self.model.conditional_expected_average_spend(frequency, np.asarray(monetary, dtype="float64"))

    def to_dict(self) -> dict[str, object]:
        return self.model.to_dict()


@dataclass
class SpendChoice:
    """What :func:`choose_spend_model` decided: the model to use, its spend per order, and why."""

    model: GammaGammaSpend | ShrunkSpendModel
    spend: np.ndarray
    report: dict[str, object]
    warnings: list[str]


def gamma_gamma_problems(model: GammaGammaModel | None, repeat_buyers: int, correlation: float) -> list[str]:
    """The guards Gamma-Gamma failed (empty when it can be trusted)."""
    problems = []
    if repeat_buyers < MIN_REPEAT_BUYERS:
        problems.append(f"only {repeat_buyers} repeat buyers (Gamma-Gamma needs at least {MIN_REPEAT_BUYERS})")
    if abs(correlation) > MAX_CORRELATION:
        problems.append(
            f"frequency and spend per order are correlated ({correlation:+.2f}; Gamma-Gamma assumes they are "
            f"independent, |corr| <= {MAX_CORRELATION})"
        )
    if model is not None:
        values = np.array(list(model.params_.values()))
        if not model.converged_:
            problems.append("its fit did not converge")
        if not np.all(np.isfinite(values)) or np.any(values > MAX_PARAMETER):
            shown = ", ".join(f"{k} = {v:.3g}" for k, v in model.params_.items())
            problems.append(f"its parameters ran away ({shown})")
        if model.params_["q"] <= 1:
            problems.append(f"q = {model.params_['q']:.3g} <= 1 (infinite mean spend)")
    return problems


def choose_spend_model(summary: pd.DataFrame, days: pd.DataFrame, label: str) -> SpendChoice:
    """Gamma-Gamma when every guard passes, else the shrunk mean; see the module docstring.

    ``summary``: calibration summary (frequency, monetary_value, last_purchase); ``days``:
    purchase days. ``label`` names the period in warnings ("whole history", "calibration").
    """
    x = summary["frequency"].to_numpy(dtype="float64")
    m = summary["monetary_value"].to_numpy(dtype="float64")
    repeat_buyers = int(((x > 0) & (m > 0)).sum())
    correlation = frequency_spend_correlation(x, m)
    fitted: GammaGammaModel | None = None
    problems: list[str] = []
    try:
        fitted = GammaGammaModel().fit(x, m)
    except ShopsegError as error:
        problems.append(str(error).rstrip("."))
    problems += gamma_gamma_problems(fitted, repeat_buyers, correlation)
    report: dict[str, object] = {
        "repeat_buyers": repeat_buyers,
        "frequency_spend_correlation": correlation,
        "gamma_gamma": fitted.to_dict() if fitted is not None else None,
    }
    if not problems and fitted is not None:
        choice = GammaGammaSpend(fitted)
        report["method"] = "gamma_gamma"
        return SpendChoice(choice, choice.expected_spend(summary, days), report, [])
    shrunk = ShrunkSpendModel().fit(days.loc[days[DAY_COLUMN] <= summary["last_purchase"].max()])
    report["method"] = "shrunk_mean"
    report["shrunk_mean"] = shrunk.to_dict()
    warning = (
        f"Spend per order ({label}): Gamma-Gamma not used because {'; '.join(problems)}. Each customer's mean "
        "spend per purchase day is shrunk towards the shop mean instead (credibility weight n / (n + "
        f"{shrunk.k_:.1f}) after n purchase days)."
    )
    return SpendChoice(shrunk, shrunk.expected_spend(summary, days), report, [warning])
