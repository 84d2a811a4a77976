"""The value stage: who is worth what, and who is leaving.

One entry for the pipeline, :func:`customer_value` (orders -> :class:`ValueResult` with a
per-customer frame and a JSON report), plus the building blocks:

* :mod:`~shopseg.value.summary` -- calibration/holdout summaries (frequency, recency, T);
* :mod:`~shopseg.value.bgnbd` -- BG/NBD (:class:`BetaGeoModel`): P(alive), expected purchases;
* :mod:`~shopseg.value.gamma_gamma` -- Gamma-Gamma (:class:`GammaGammaModel`): spend per purchase;
* :mod:`~shopseg.value.clv` -- discounted CLV and the next order date estimate;
* :mod:`~shopseg.value.predict` -- calibrated churn / high-value classifiers and baselines;
* :mod:`~shopseg.value.sequence` -- the LSTM baseline (optional PyTorch);
* :mod:`~shopseg.value.validity` -- eta squared of holdout outcomes by segment vs RFM;
* :mod:`~shopseg.value.simulate` -- synthetic customers from the models' generative process.

Stages are pure: nothing here reads files or prints.
"""

from shopseg.value.bgnbd import BetaGeoModel
from shopseg.value.clv import customer_lifetime_value, next_order_date_estimate
from shopseg.value.customer_value import (
    ValueResult,
    ValueScorer,
    customer_value,
    expected_orders_column,
    segment_value_summary,
    value_columns,
)
from shopseg.value.gamma_gamma import GammaGammaModel
from shopseg.value.summary import PeriodSplit, calibration_summary, purchase_days, split_periods
from shopseg.value.validity import eta_squared, predictive_validity, rfm_scores

__all__ = [
    "BetaGeoModel",
    "GammaGammaModel",
    "PeriodSplit",
    "ValueResult",
    "ValueScorer",
    "calibration_summary",
    "customer_lifetime_value",
    "customer_value",
    "eta_squared",
    "expected_orders_column",
    "next_order_date_estimate",
    "predictive_validity",
    "purchase_days",
    "rfm_scores",
    "segment_value_summary",
    "split_periods",
    "value_columns",
]
