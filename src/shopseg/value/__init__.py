"""The value stage: who is worth what, and who is leaving.

One entry for the pipeline, :func:`customer_value` (orders -> :class:`ValueResult` with a
per-customer frame and a JSON report), plus the building blocks:

* :mod:`~shopseg.value.summary` -- calibration/holdout summaries (frequency, recency, T);
* :mod:`~shopseg.value.transaction` -- the transaction models' shared interface and registry;
* :mod:`~shopseg.value.bgnbd`, :mod:`~shopseg.value.mbgnbd`, :mod:`~shopseg.value.pareto_nbd` --
  BG/NBD, MBG/NBD and Pareto/NBD: P(alive), expected purchases, P(no purchase), their distribution;
* :mod:`~shopseg.value.selection` -- the model chosen per shop on the holdout;
* :mod:`~shopseg.value.gamma_gamma`, :mod:`~shopseg.value.spend` -- Gamma-Gamma and its guarded
  fallback (shrunk mean spend per order);
* :mod:`~shopseg.value.clv`, :mod:`~shopseg.value.intervals` -- discounted CLV with its bound, the
  next order date, 90% intervals of orders and CLV;
* :mod:`~shopseg.value.tracking` -- tracking curves and frequency x recency grids for the report;
* :mod:`~shopseg.value.bayes` -- an optional Bayesian fit through pymc-marketing;
* :mod:`~shopseg.value.predict` -- calibrated churn / high-value classifiers and baselines;
* :mod:`~shopseg.value.sequence` -- the LSTM baseline (optional PyTorch);
* :mod:`~shopseg.value.validity` -- eta squared of holdout outcomes by segment vs RFM;
* :mod:`~shopseg.value.simulate` -- synthetic customers from the models' generative process.

Stages are pure: nothing here reads files or prints.
"""

from shopseg.value.bgnbd import BetaGeoModel
from shopseg.value.clv import customer_lifetime_value, next_order_date_estimate
from shopseg.value.customer_value import (
    HOLDOUT_COLUMNS,
    ValueResult,
    ValueScorer,
    customer_value,
    expected_orders_column,
    run_summary,
    segment_value_summary,
    value_columns,
)
from shopseg.value.gamma_gamma import GammaGammaModel
from shopseg.value.mbgnbd import ModifiedBetaGeoModel
from shopseg.value.pareto_nbd import ParetoNBDModel
from shopseg.value.summary import PeriodSplit, calibration_summary, purchase_days, split_periods
from shopseg.value.transaction import TRANSACTION_MODELS, TransactionModel, model_from_dict
from shopseg.value.validity import eta_squared, predictive_validity, rfm_scores

__all__ = [
    "HOLDOUT_COLUMNS",
    "TRANSACTION_MODELS",
    "BetaGeoModel",
    "GammaGammaModel",
    "ModifiedBetaGeoModel",
    "ParetoNBDModel",
    "PeriodSplit",
    "TransactionModel",
    "ValueResult",
    "ValueScorer",
    "calibration_summary",
    "customer_lifetime_value",
    "customer_value",
    "eta_squared",
    "expected_orders_column",
    "model_from_dict",
    "next_order_date_estimate",
    "predictive_validity",
    "purchase_days",
    "rfm_scores",
    "run_summary",
    "segment_value_summary",
    "split_periods",
    "value_columns",
]
