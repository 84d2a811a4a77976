"""Which transaction model a shop gets: every candidate fitted on the calibration period, judged on the holdout.

Each model of :data:`~shopseg.value.transaction.TRANSACTION_MODELS` (BG/NBD, MBG/NBD,
Pareto/NBD) is fitted on the calibration summary and predicts each customer's purchases in
the holdout window. The candidate with the lowest **per-customer mean absolute error** wins
(the error a shop sees customer by customer); among fits that converged, so a fit that ran
to a parameter bound cannot win on a lucky number. Every candidate's metrics go to the
report: converged, log-likelihood, BIC, predicted and actual holdout purchases, total
(relative) error and MAE, so the choice can be checked. Without a holdout the lowest BIC on
the whole history decides instead.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from shopseg.errors import ShopsegError
from shopseg.value.transaction import TRANSACTION_MODELS, TransactionModel

#: The order candidates are tried and reported in (also the tie-break: simpler first).
CANDIDATES = ("bgnbd", "mbgnbd", "pareto_nbd")


@dataclass
class Comparison:
    """The candidates' fits and metrics, and the name of the one chosen (None when none could be fitted)."""

    chosen: str | None
    models: dict[str, TransactionModel] = field(default_factory=dict)
    records: list[dict[str, object]] = field(default_factory=list)
    criterion: str = "holdout_mae"

    def ranking(self) -> list[str]:
        """Fitted candidates, best first by the criterion (converged ones before the others)."""
        key = "mae_per_customer" if self.criterion == "holdout_mae" else "bic"
        usable = [r for r in self.records if r.get(key) is not None]
        usable.sort(key=lambda r: (not r["converged"], r[key], CANDIDATES.index(r["model"])))
        return [str(r["model"]) for r in usable]


def _bic(log_likelihood: float, n_params: int, customers: int) -> float:
    return float(-2.0 * log_likelihood + n_params * np.log(max(customers, 1)))


def compare_models(summary: pd.DataFrame, window: float | None, candidates: tuple[str, ...] = CANDIDATES) -> Comparison:
    """Fit each candidate on ``summary`` (x, t_x, T; plus frequency_holdout with a holdout) and choose.

    ``window``: holdout length in the summary's time unit, or None (no holdout: BIC decides).
    """
    x, t_x, age = (summary[c].to_numpy(dtype="float64") for c in ("frequency", "recency", "T"))
    actual = summary["frequency_holdout"].to_numpy(dtype="float64") if window else None
    comparison = Comparison(chosen=None, criterion="holdout_mae" if window else "bic")
    for name in candidates:
        started = time.perf_counter()
        record: dict[str, object] = {"model": name, "label": TRANSACTION_MODELS[name].label}
        try:
            model = TRANSACTION_MODELS[name]().fit(x, t_x, age)
        except ShopsegError as error:
            comparison.records.append({**record, "converged": False, "error": str(error)})
            continue
        record.update(
            converged=bool(model.converged_),
            params=dict(model.params_),
            log_likelihood=model.log_likelihood_,
            bic=_bic(model.log_likelihood_, len(model.PARAMS), len(x)),
            fit_seconds=round(time.perf_counter() - started, 4),
        )
        if actual is not None:
            predicted = model.conditional_expected_purchases(window, x, t_x, age)
            total = float(actual.sum())
            record.update(
                predicted_purchases=float(predicted.sum()),
                actual_purchases=total,
                total_error=float((predicted.sum() - total) / total) if total > 0 else None,
                mae_per_customer=float(np.mean(np.abs(predicted - actual))),
            )
        comparison.models[name] = model
        comparison.records.append(record)
    ranking = comparison.ranking()
    comparison.chosen = ranking[0] if ranking else None
    for record in comparison.records:
        record["chosen"] = record["model"] == comparison.chosen
    return comparison
