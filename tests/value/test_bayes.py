"""The optional Bayesian fit through pymc-marketing: a clear error without it, a posterior with it."""

from __future__ import annotations

import numpy as np
import pytest

from shopseg.errors import ConfigError
from shopseg.value.bayes import fit_bayesian, pymc_marketing_available
from shopseg.value.intervals import order_quantiles
from shopseg.value.simulate import simulate_summary


def test_without_pymc_marketing_the_error_says_how_to_install_it(monkeypatch) -> None:
    monkeypatch.setattr("shopseg.value.bayes.pymc_marketing_available", lambda: False)
    with pytest.raises(ConfigError, match="pip install pymc-marketing"):
        fit_bayesian(simulate_summary(50, seed=1))


@pytest.mark.slow
@pytest.mark.skipif(not pymc_marketing_available(), reason="pymc-marketing is not installed (optional)")
def test_posterior_draws_feed_the_intervals() -> None:
    summary = simulate_summary(400, seed=2)
    model = fit_bayesian(summary, "bgnbd", draws=200, chains=1, random_seed=0)
    assert model.posterior_draws_.shape == (200, 4) and model.uncertainty_known
    x, t_x, T = (summary[c].to_numpy(dtype="float64") for c in ("frequency", "recency", "T"))
    low, high = order_quantiles(model, 90.0, x, t_x, T, n_draws=16)
    assert np.all(low <= high)
