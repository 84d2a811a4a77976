"""Spend per order: Gamma-Gamma behind its guards, and the shrunk-mean fallback."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from shopseg import schema as s
from shopseg.value.simulate import simulate_orders
from shopseg.value.spend import ShrunkSpendModel, choose_spend_model
from shopseg.value.summary import calibration_summary, purchase_days


def test_gamma_gamma_is_used_when_its_assumptions_hold() -> None:
    orders = simulate_orders(1500, seed=3, history_days=400)
    days = purchase_days(orders)
    summary = calibration_summary(days=days, holdout_days=None)
    choice = choose_spend_model(summary, days, "whole history")
    assert choice.report["method"] == "gamma_gamma" and not choice.warnings
    assert abs(choice.report["frequency_spend_correlation"]) < 0.3


def test_correlated_spend_falls_back_to_the_shrunk_mean_with_a_warning() -> None:
    orders = simulate_orders(1500, seed=3, history_days=400)
    counts = orders.groupby(s.CUSTOMER_ID)[s.TS].transform("size")
    orders[s.AMOUNT] = 10.0 * counts + np.random.default_rng(0).uniform(0, 1, len(orders))  # frequent = big
    days = purchase_days(orders)
    summary = calibration_summary(days=days)
    choice = choose_spend_model(summary, days, "whole history")
    assert choice.report["method"] == "shrunk_mean"
    assert "correlated" in choice.warnings[0] and "shrunk" in choice.warnings[0]
    assert np.all(np.isfinite(choice.spend)) and np.all(choice.spend >= 0)


def test_shrunk_mean_by_hand() -> None:
    days = pd.DataFrame(
        {
            s.CUSTOMER_ID: ["a", "a", "a", "b", "b", "c"],
            "day": pd.date_range("2024-01-01", periods=6),
            "spend": [10.0, 12.0, 14.0, 30.0, 34.0, 20.0],
        }
    )
    model = ShrunkSpendModel().fit(days)
    # within: ((4 + 0 + 4) + (4 + 4)) / (2 + 1) = 16 / 3; grand mean 120 / 6 = 20
    assert model.within_variance_ == pytest.approx(16 / 3) and model.mean_ == pytest.approx(20.0)
    between = ((3 * 64 + 2 * 144 + 0) - 2 * 16 / 3) / (6 - (9 + 4 + 1) / 6)
    assert model.between_variance_ == pytest.approx(between)
    k = (16 / 3) / between
    assert model.predict([3], [12.0])[0] == pytest.approx(3 / (3 + k) * 12 + k / (3 + k) * 20)
    assert model.predict([0], [0.0])[0] == pytest.approx(20.0)  # no history: the shop mean
