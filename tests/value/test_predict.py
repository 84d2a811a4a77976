"""Holdout labels, the calibrated classifier and the evaluation table."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from shopseg.value.predict import OutcomeClassifier, evaluate_outcomes, outcome_labels, score


def test_labels_churn_and_top_fifth_of_spend() -> None:
    summary = pd.DataFrame(
        {"frequency_holdout": [0, 1, 2, 0, 3, 1, 0, 0, 0, 5], "spend_holdout": [0, 10, 20, 0, 30, 5, 0, 0, 0, 90.0]},
        index=[f"c{i}" for i in range(10)],
    )
    labels = outcome_labels(summary)
    assert list(labels["churn"]) == [True, False, False, True, False, False, True, True, True, False]
    assert sorted(labels.index[labels["high_value"]]) == ["c4", "c9"]  # spend >= 80th percentile (28)
    mostly_zero = summary.assign(spend_holdout=[0, 0, 0, 0, 0, 0, 0, 0, 0, 7.0])
    assert outcome_labels(mostly_zero)["high_value"].sum() == 1  # never labels zero spend as high value


def test_classifier_is_calibrated_enough_and_falls_back_on_rare_classes() -> None:
    rng = np.random.default_rng(0)
    n = 1200
    features = pd.DataFrame({"signal": rng.normal(size=n), "noise": rng.normal(size=n)})
    target = rng.uniform(size=n) < 1 / (1 + np.exp(-2 * features["signal"]))
    model = OutcomeClassifier(n_threads=1).fit(features.iloc[:800], target[:800])
    probability = model.predict_proba(features.iloc[800:])
    assert score(target[800:], probability)["auc"] > 0.75
    assert abs(probability.mean() - target[800:].mean()) < 0.06
    rare = OutcomeClassifier().fit(features, np.arange(n) < 3)
    assert rare.constant_ and rare.predict_proba(features.iloc[:5]) == pytest.approx([3 / n] * 5)


def test_evaluation_scores_models_and_baselines_on_the_same_customers() -> None:
    rng = np.random.default_rng(1)
    n = 900
    recency = rng.uniform(0, 300, n)
    churn = rng.uniform(size=n) < recency / 300
    spend = np.where(churn, 0.0, rng.gamma(2, 30, n))
    labels = outcome_labels(pd.DataFrame({"frequency_holdout": (~churn).astype(int), "spend_holdout": spend}))
    features = pd.DataFrame(
        {
            "recency_days": recency,
            "model_p_dead": 1 - recency / 300,  # inverted on purpose: raw scores are not flipped
            "model_p_no_purchase": np.clip(recency / 300, 0, 1),
            "model_expected_spend": 1 - recency / 300,
        }
    )
    evaluation = evaluate_outcomes(features, labels, random_state=0, n_threads=1)
    table = evaluation.metrics
    assert set(table.index) == {
        ("churn", "gradient_boosting"),
        ("churn", "recency_only"),
        ("churn", "model_p_dead"),
        ("churn", "model_no_order"),
        ("high_value", "gradient_boosting"),
        ("high_value", "recency_only"),
        ("high_value", "model_expected_spend"),
    }
    assert (table["n_test"] == 270).all()
    assert table.loc[("churn", "recency_only"), "auc"] == pytest.approx(table.loc[("churn", "model_no_order"), "auc"])
    # an inverted score stays inverted (AUC < 0.5), so a reader sees it is the wrong way round
    assert table.loc[("churn", "model_p_dead"), "auc"] == pytest.approx(1 - table.loc[("churn", "recency_only"), "auc"])
    assert table.loc[("churn", "recency_only"), "auc"] > 0.7
    assert table["brier"].between(0, 1).all()
    assert all(row["auc"] is None or 0 <= row["auc"] <= 1 for row in evaluation.records())
