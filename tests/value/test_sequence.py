"""Purchase sequences for the LSTM baseline, and a tiny training run (skipped without PyTorch)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from shopseg import schema as s
from shopseg.value.sequence import purchase_sequences

DAYS = pd.DataFrame(
    {
        s.CUSTOMER_ID: ["b", "a", "a", "a"],
        "day": pd.to_datetime(["2024-01-05", "2024-01-01", "2024-01-04", "2024-01-10"]),
        "spend": [20.0, 10.0, 0.0, 5.0],
    }
)


def test_sequences_by_hand() -> None:
    customers = pd.Index(["a", "b", "c"])
    inputs, lengths = purchase_sequences(DAYS, customers, pd.Timestamp("2024-01-11"), max_length=2)
    assert inputs.shape == (3, 3, 3) and list(lengths) == [3, 2, 1]
    a = inputs[0]
    # last two purchase days of a: 01-04 (gap 3 days, spend 0), 01-10 (gap 6, spend 5); then recency 1 day.
    assert a[0] == pytest.approx([np.log1p(3), 0.0, 0.0])
    assert a[1] == pytest.approx([np.log1p(6), np.log1p(5), 0.0])
    assert a[2] == pytest.approx([np.log1p(1), 0.0, 1.0])
    assert inputs[1][0] == pytest.approx([0.0, np.log1p(20), 0.0])
    assert inputs[1][1] == pytest.approx([np.log1p(6), 0.0, 1.0])
    assert inputs[2][0] == pytest.approx([0.0, 0.0, 1.0])  # no purchases: only the closing step


def test_lstm_learns_a_simple_rule() -> None:
    pytest.importorskip("torch")
    from shopseg.value.sequence import SequenceClassifier

    rng = np.random.default_rng(0)
    n = 600
    inputs = np.zeros((n, 4, 3), dtype="float32")
    lengths = rng.integers(1, 5, n)
    inputs[np.arange(n), lengths - 1, 2] = 1.0
    inputs[np.arange(n), lengths - 1, 0] = rng.uniform(0, 5, n)  # recency
    target = (inputs[np.arange(n), lengths - 1, 0] > 2.5).astype("float32")[:, None]
    model = SequenceClassifier(epochs=15, hidden_size=8, learning_rate=0.02, random_state=0).fit(
        inputs, lengths, target
    )
    probability = model.predict_proba(inputs, lengths)[:, 0]
    assert probability.shape == (n,) and np.all((probability >= 0) & (probability <= 1))
    assert np.mean((probability > 0.5) == (target[:, 0] > 0.5)) > 0.9
    again = SequenceClassifier(epochs=15, hidden_size=8, learning_rate=0.02, random_state=0).fit(
        inputs, lengths, target
    )
    assert again.predict_proba(inputs, lengths)[:, 0] == pytest.approx(probability)
