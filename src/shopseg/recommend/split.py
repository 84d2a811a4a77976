"""Time-based splits: learn from the past, test on the last days.

Recommendations are judged on what customers bought *after* the model was fitted, so every
split here cuts by time, never at random: ``train`` holds every action (purchase, view, cart,
review) before the cut, ``test`` the purchases from the cut to the end. Events after the cut
are dropped from training too: a shop's purchase sessions view and cart exactly the products
bought minutes later, and keeping them would leak the answer.

The test period is the last :data:`DEFAULT_TEST_DAYS` days, or 10 % of the history when that is
shorter (a shop with three months of data is tested on its last nine days).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp

from shopseg import schema as s
from shopseg.errors import ShopsegError
from shopseg.recommend.interactions import PURCHASE, Interactions

DEFAULT_TEST_DAYS = 30.0
DEFAULT_TEST_SHARE = 0.1


def holdout_days(interactions: Interactions, days: float | None = None) -> float:
    """Length of the test period in days: ``days``, or min(30, 10 % of the purchase history)."""
    if days is not None:
        if days <= 0:
            raise ShopsegError(f"The test period must be a positive number of days, got {days}.")
        return float(days)
    bought = interactions.lines.loc[interactions.lines["kind"] == PURCHASE, s.TS]
    if bought.empty:
        return DEFAULT_TEST_DAYS
    history = (bought.max() - bought.min()) / pd.Timedelta(days=1)
    return float(max(min(DEFAULT_TEST_DAYS, DEFAULT_TEST_SHARE * history), 1.0))


@dataclass
class TimeSplit:
    """``train``: interactions before ``cut`` (same rows and columns as the whole);
    ``test``: binary CSR (customers x products) of purchases in [cut, end]; ``days``: test length."""

    train: Interactions
    test: sp.csr_matrix
    cut: pd.Timestamp
    end: pd.Timestamp
    days: float

    def test_rows(self) -> np.ndarray:
        """Customers with at least one test purchase."""
        return np.flatnonzero(np.diff(self.test.indptr) > 0)

    def warm_rows(self) -> np.ndarray:
        """Test customers who also bought something before the cut."""
        rows = self.test_rows()
        return rows[np.diff(self.train.purchases.indptr)[rows] > 0]

    def cold_rows(self) -> np.ndarray:
        """Test customers without a purchase before the cut (they may have browsed or reviewed)."""
        rows = self.test_rows()
        return rows[np.diff(self.train.purchases.indptr)[rows] == 0]


def time_split(interactions: Interactions, test_days: float | None = None) -> TimeSplit:
    """Split ``interactions`` at ``end - test_days`` (see the module docstring)."""
    end = interactions.reference_ts
    if end is None:
        raise ShopsegError("No dated interactions to split: the shop has no purchases, events or reviews.")
    days = holdout_days(interactions, test_days)
    cut = end - pd.Timedelta(days=days)
    return TimeSplit(
        train=interactions.until(cut),
        test=interactions.purchased_between(cut),
        cut=cut,
        end=end,
        days=days,
    )
