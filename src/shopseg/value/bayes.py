"""An optional Bayesian fit of the transaction model through pymc-marketing (when it is installed).

shopseg's own fits are maximum likelihood, with parameter uncertainty from the asymptotic
normal of the log-parameters. pymc-marketing (``pip install pymc-marketing``; not a shopseg
dependency: it brings PyMC and PyTensor) samples the posterior instead. :func:`fit_bayesian`
runs it on a calibration summary and returns a shopseg model whose parameters are the
posterior means and whose ``posterior_draws_`` hold the sampled parameter sets, so the 90%
intervals (:mod:`shopseg.value.intervals`) average over real posterior draws rather than the
normal approximation. Every prediction is then shopseg's own formula at those draws.
"""

from __future__ import annotations

import importlib.util

import numpy as np
import pandas as pd

from shopseg import schema as s
from shopseg.errors import ConfigError
from shopseg.value.transaction import TRANSACTION_MODELS, TransactionModel

#: shopseg model name -> pymc_marketing.clv class name.
PYMC_MODELS = {"bgnbd": "BetaGeoModel", "mbgnbd": "ModifiedBetaGeoModel", "pareto_nbd": "ParetoNBDModel"}


def pymc_marketing_available() -> bool:
    """Whether pymc-marketing can be imported here."""
    return importlib.util.find_spec("pymc_marketing") is not None


def fit_bayesian(
    summary: pd.DataFrame,
    model: str = "pareto_nbd",
    *,
    method: str = "mcmc",
    draws: int = 500,
    chains: int = 2,
    random_seed: int = 0,
) -> TransactionModel:
    """Posterior of ``model`` (a registry name) on ``summary`` (frequency, recency, T) via pymc-marketing.

    ``method``: "mcmc" (NUTS; ``draws`` per chain) or "map" (a point estimate, no draws).
    Raises a :class:`~shopseg.errors.ConfigError` naming the install command when
    pymc-marketing is missing, or when it has no such model.
    """
    if not pymc_marketing_available():
        raise ConfigError("The Bayesian fit needs pymc-marketing: pip install pymc-marketing")
    if model not in PYMC_MODELS:
        raise ConfigError(f"No pymc-marketing model for '{model}'; choose one of {', '.join(PYMC_MODELS)}.")
    from pymc_marketing import clv

    frame = pd.DataFrame(
        {
            s.CUSTOMER_ID: np.arange(len(summary)),
            "frequency": summary["frequency"].to_numpy(dtype="float64"),
            "recency": summary["recency"].to_numpy(dtype="float64"),
            "T": summary["T"].to_numpy(dtype="float64"),
        }
    )
    fitted = getattr(clv, PYMC_MODELS[model])(data=frame)
    options = {"draws": draws, "chains": chains, "random_seed": random_seed, "progressbar": False}
    fitted.fit(method=method, **(options if method == "mcmc" else {}))
    posterior = fitted.idata.posterior
    result = TRANSACTION_MODELS[model]()
    samples = np.column_stack([np.asarray(posterior[name]).ravel() for name in result.PARAMS])
    result.params_ = dict(zip(result.PARAMS, (float(v) for v in samples.mean(axis=0)), strict=True))
    covariance = np.cov(samples.T) if len(samples) > 1 else np.full((len(result.PARAMS),) * 2, np.nan)
    result.covariance_ = covariance
    result.standard_errors_ = dict(zip(result.PARAMS, np.sqrt(np.clip(np.diag(covariance), 0, None)), strict=True))
    x, t_x, age = (frame[c].to_numpy() for c in ("frequency", "recency", "T"))
    result.log_likelihood_ = float(result.log_likelihood_terms(np.array(result.values()), x, t_x, age)[0].sum())
    result.n_customers_ = len(frame)
    result.converged_ = True
    result.fit_message_ = f"pymc-marketing {PYMC_MODELS[model]} posterior mean ({method}, {len(samples)} draws)"
    result.posterior_draws_ = samples if len(samples) > 1 else None
    return result
