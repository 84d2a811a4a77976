"""A small LSTM over each customer's purchase sequence: the seeds' approach, as a baseline.

Each customer is a sequence of purchase days (the last ``max_length``), one step per day
with three inputs: log1p(days since the previous purchase day), log1p(spend that day)
and 0; then one closing step log1p(days from the last purchase to the reference
moment), 0, 1, so the network sees recency. Padded to a common length and packed
(``pack_padded_sequence``), so padding never enters the LSTM. One network predicts
several binary targets at once (churn and high value) with a sigmoid head.

PyTorch is optional: :data:`TORCH_AVAILABLE` says whether it is installed, and callers
skip this baseline with a note when it is not. Training is on CPU, seeded, for a few
epochs; it is a baseline, reported honestly even when it loses to gradient boosting.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from shopseg import schema as s
from shopseg.value.summary import DAY_COLUMN, SPEND_COLUMN

TORCH_AVAILABLE = importlib.util.find_spec("torch") is not None
N_INPUTS = 3


def purchase_sequences(
    days: pd.DataFrame, customers: pd.Index, reference: pd.Timestamp, *, max_length: int = 50
) -> tuple[np.ndarray, np.ndarray]:
    """Padded input sequences (n, max_length + 1, 3) float32 and their lengths (n,) int64.

    ``days`` are purchase days (:func:`~shopseg.value.summary.purchase_days`) already cut
    to the period before ``reference``; row i describes ``customers[i]`` (a customer with
    no purchase day gets only the closing step). Built with numpy indexing, no loop.
    """
    n = len(customers)
    sequences = np.zeros((n, max_length + 1, N_INPUTS), dtype="float32")
    code = customers.get_indexer(days[s.CUSTOMER_ID])
    known = code >= 0
    code = code[known]
    day = days[DAY_COLUMN].to_numpy()[known]
    spend = days[SPEND_COLUMN].to_numpy(dtype="float64")[known]
    order = np.lexsort((day, code))
    code, day, spend = code[order], day[order], spend[order]
    counts = np.bincount(code, minlength=n)
    starts = np.cumsum(counts) - counts
    rank = np.arange(code.size) - starts[code]  # 0 for each customer's first purchase day
    gap = np.zeros(code.size)
    if code.size > 1:
        same = code[1:] == code[:-1]
        gap[1:] = np.where(same, (day[1:] - day[:-1]) / np.timedelta64(1, "D"), 0.0)
    kept = np.minimum(counts, max_length)
    position = rank - (counts[code] - kept[code])  # keep the last max_length days
    keep = position >= 0
    sequences[code[keep], position[keep], 0] = np.log1p(gap[keep])
    sequences[code[keep], position[keep], 1] = np.log1p(np.clip(spend[keep], 0.0, None))
    last_day = np.full(n, np.datetime64("NaT"), dtype="datetime64[ns]")
    last_index = starts + counts - 1
    has = counts > 0
    last_day[has] = day[last_index[has]]
    recency = np.where(has, (np.datetime64(pd.Timestamp(reference)) - last_day) / np.timedelta64(1, "D"), 0.0)
    rows = np.arange(n)
    sequences[rows, kept, 0] = np.log1p(np.clip(recency, 0.0, None))
    sequences[rows, kept, 2] = 1.0
    return sequences, (kept + 1).astype("int64")


@contextmanager
def _threads(n_threads: int) -> Iterator[None]:
    """Run torch with ``n_threads`` intra-op threads, restoring the previous setting after."""
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(n_threads)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def _network(hidden_size: int, n_outputs: int):  # -> torch.nn.Module (torch is imported lazily)
    import torch
    from torch import nn
    from torch.nn.utils.rnn import pack_padded_sequence

    class SequenceNet(nn.Module):
        """LSTM over packed sequences; the last hidden state feeds a linear head (logits)."""

        def __init__(self) -> None:
            super().__init__()
            self.lstm = nn.LSTM(N_INPUTS, hidden_size, batch_first=True)
            self.head = nn.Linear(hidden_size, n_outputs)

        def forward(self, inputs: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
            packed = pack_padded_sequence(inputs, lengths, batch_first=True, enforce_sorted=False)
            _, (hidden, _) = self.lstm(packed)
            return self.head(hidden[-1])

    return SequenceNet()


@dataclass
class SequenceClassifier:
    """Multi-target binary classifier over purchase sequences (see the module docstring).

    ``fit(sequences, lengths, targets)`` with shapes (n, L, 3), (n,), (n, k);
    ``predict_proba`` returns (n, k) probabilities. Seeded by ``random_state``.
    """

    hidden_size: int = 32
    epochs: int = 6
    batch_size: int = 256
    learning_rate: float = 0.005
    random_state: int = 0
    #: Intra-op threads while training/predicting. The network is tiny, so more threads only
    #: add synchronisation (on a busy 2-core machine 2 threads were 30x slower than 1).
    n_threads: int = 1

    network_: object | None = field(default=None, repr=False)
    losses_: list[float] = field(default_factory=list, repr=False)

    def fit(self, sequences: np.ndarray, lengths: np.ndarray, targets: np.ndarray) -> SequenceClassifier:
        with _threads(self.n_threads):
            return self._fit(sequences, lengths, targets)

    def _fit(self, sequences: np.ndarray, lengths: np.ndarray, targets: np.ndarray) -> SequenceClassifier:
        import torch

        torch.manual_seed(self.random_state)
        targets = np.asarray(targets, dtype="float32").reshape(len(sequences), -1)
        network = _network(self.hidden_size, targets.shape[1])
        optimiser = torch.optim.Adam(network.parameters(), lr=self.learning_rate)
        loss_function = torch.nn.BCEWithLogitsLoss()
        inputs = torch.from_numpy(np.ascontiguousarray(sequences, dtype="float32"))
        lengths_t = torch.from_numpy(np.asarray(lengths, dtype="int64"))
        labels = torch.from_numpy(targets)
        generator = torch.Generator().manual_seed(self.random_state)
        network.train()
        self.losses_ = []
        for _ in range(self.epochs):  # a few epochs over mini-batches, not a loop over customers
            order = torch.randperm(len(inputs), generator=generator)
            total = 0.0
            for start in range(0, len(inputs), self.batch_size):
                batch = order[start : start + self.batch_size]
                width = int(lengths_t[batch].max())
                optimiser.zero_grad()
                loss = loss_function(network(inputs[batch, :width], lengths_t[batch]), labels[batch])
                loss.backward()
                optimiser.step()
                total += float(loss.detach()) * len(batch)
            self.losses_.append(total / len(inputs))
        self.network_ = network
        return self

    def predict_proba(self, sequences: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        with _threads(self.n_threads):
            return self._predict_proba(sequences, lengths)

    def _predict_proba(self, sequences: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        import torch

        if self.network_ is None:
            raise RuntimeError("SequenceClassifier is not fitted")
        self.network_.eval()
        inputs = torch.from_numpy(np.ascontiguousarray(sequences, dtype="float32"))
        lengths_t = torch.from_numpy(np.asarray(lengths, dtype="int64"))
        outputs = []
        with torch.no_grad():
            for start in range(0, len(inputs), 4096):
                chunk = slice(start, start + 4096)
                width = int(lengths_t[chunk].max())
                outputs.append(torch.sigmoid(self.network_(inputs[chunk, :width], lengths_t[chunk])).numpy())
        return np.concatenate(outputs).astype("float64")
