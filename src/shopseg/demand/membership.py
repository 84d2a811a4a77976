"""Which segment each customer was in *as of a day*: what demand reads whenever it looks at a window.

A run's segments are fitted on its whole history. A segment such as "lapsed" is defined by
how its customers behave at the end, so taking the run's final labels for a window in the
past tells that window what its customers will do next: a customer who is "lapsed" at the
end was often still buying then. Calibrating per segment on such windows biases the ratios,
and a back-test that scores a cut-off with the final labels reads the test window.

:class:`Membership` answers "segment of these customers as of day d" honestly in time: on
the run's own day (the day its labels are as of) it gives the run's labels; on any other day
it asks a *placer* -- the run's saved model placing the shop as it was at the end of d
(rows up to d, features as of d with the model's priors and window, text vectors from the
embedding cache, no refit: what ``Segmenter.predict(shop_cut, reference_ts=...)`` gives) --
and keeps each day's answer. Without a placer (a run with no loadable model, or plain labels
in a test or with planted segments) every day gets the same labels, and :meth:`describe`
says so.

A customer the placer has no row for (nothing up to d the model can read) keeps the run's
label; such customers are counted per day in :attr:`Membership.unplaced`.

The stage stays pure: the placer is a function handed in by the caller
(:mod:`shopseg.demand_run` builds it from the run folder); nothing here reads files.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np
import pandas as pd

from shopseg import schema as s
from shopseg.demand.lines import DAY
from shopseg.errors import ShopsegError

#: Segment per customer (index customer_id) as of the end of a day.
Placer = Callable[[pd.Timestamp], pd.Series]


def _as_labels(labels: pd.Series) -> pd.Series:
    """``labels`` with a string customer index and int64 segment ids."""
    return pd.Series(labels.to_numpy().astype("int64"), index=labels.index.astype(str), name=s.SEGMENT_ID)


class Membership:
    """Segment of each customer as of a day: the run's labels on their own day, the model's placement otherwise.

    ``labels``: the run's segment per customer (index customer_id), as of ``labels_day``
    (the run's last day; None: the labels are used for every day). ``placer``: places the
    shop as of the end of a day (None: the labels for every day, ``fixed_reason`` says why).
    """

    def __init__(
        self,
        labels: pd.Series,
        labels_day: pd.Timestamp | None = None,
        placer: Placer | None = None,
        *,
        fixed_reason: str = "the segments are fixed",
    ) -> None:
        self.labels = _as_labels(labels)
        self.labels_day = None if labels_day is None else pd.Timestamp(labels_day).normalize()
        self.fixed_reason = fixed_reason
        self._placer = placer
        self._placed: dict[pd.Timestamp, pd.Series] = {}
        #: Customers with purchases up to a day whom the placer left out (they kept their run label).
        self.unplaced: dict[str, int] = {}

    @classmethod
    def fixed(cls, labels: pd.Series, reason: str) -> Membership:
        """The same ``labels`` on every day (``reason``: why, for the report)."""
        return cls(labels, None, None, fixed_reason=reason)

    @property
    def placing(self) -> bool:
        """Whether days other than the labels' own are placed on a model."""
        return self._placer is not None

    def _uses_labels(self, day: pd.Timestamp) -> bool:
        return self._placer is None or (self.labels_day is not None and day == self.labels_day)

    def at(self, day: pd.Timestamp) -> pd.Series:
        """Segment per customer (index customer_id) as of the end of ``day``.

        A placer that fails before it has placed anything (e.g. the model's text encoder is
        not installed) turns this membership into fixed labels, with the error as the reason;
        a later failure is raised.
        """
        day = pd.Timestamp(day).normalize()
        if self._uses_labels(day):
            return self.labels
        if day not in self._placed:
            try:
                placed = self._placer(day)
            except ShopsegError as error:
                if self._placed:
                    raise
                self._placer = None
                self.fixed_reason = f"the run's model could not place customers: {error}"
                return self.labels
            self._placed[day] = _as_labels(placed)
        return self._placed[day]

    def segment_of(self, customers: Iterable[str] | pd.Index | np.ndarray, day: pd.Timestamp) -> np.ndarray:
        """Segment ids (int64) of ``customers`` as of ``day``; the run's label for anyone not placed that day."""
        customers = pd.Index(np.asarray(customers, dtype=object)).astype(str)
        placed = self.at(day)
        found = placed.reindex(customers)
        missing = found.isna().to_numpy()
        if missing.any() and placed is not self.labels:
            key = str(pd.Timestamp(day).date())
            self.unplaced[key] = max(self.unplaced.get(key, 0), int(np.unique(customers[missing]).size))
            found = found.fillna(self.labels.reindex(customers))
        if found.isna().any():
            first = customers[found.isna().to_numpy()][0]
            raise ShopsegError(f"Customer '{first}' has order lines but no segment in the run.")
        return found.to_numpy().astype("int64")

    def relabel(self, table: pd.DataFrame, day: pd.Timestamp) -> pd.DataFrame:
        """``table`` (with customer_id) with segment_id as of ``day``."""
        if table.empty:
            return table
        return table.assign(**{s.SEGMENT_ID: self.segment_of(table[s.CUSTOMER_ID].to_numpy(), day)})

    def describe(self, day: pd.Timestamp) -> str:
        """Which membership ``day`` gets, in words (for demand.json): call after :meth:`at` for that day."""
        day = pd.Timestamp(day).normalize()
        if self._placer is None:
            return f"the run's segments for every day ({self.fixed_reason})"
        if self._uses_labels(day):
            return f"the run's segments (as of {day.date()}, the run's own day)"
        return f"placed on the run's model as of {day.date()}"

    def report(self) -> dict[str, object]:
        """JSON-ready: how membership is decided, and customers left unplaced per day."""
        if self._placer is None:
            rule = f"the run's segments for every window ({self.fixed_reason}): they are as of the run's last day"
        else:
            rule = (
                "each window's customers are placed on the run's saved model as of the window's start (their rows "
                "up to that day, no refit); the run's own day uses the run's segments"
            )
        return {"placed_on_model": self.placing, "rule": rule, "unplaced_kept_their_run_segment": self.unplaced}


def lines_membership(table: pd.DataFrame, reason: str) -> Membership:
    """Fixed membership from the segment_id already on unit lines (one segment per customer)."""
    first = table.drop_duplicates(s.CUSTOMER_ID)
    return Membership.fixed(first.set_index(s.CUSTOMER_ID)[s.SEGMENT_ID], reason)


def segment_universe(table: pd.DataFrame, membership: Membership, days: Iterable[pd.Timestamp]) -> np.ndarray:
    """Sorted segment ids of the customers with lines up to each of ``days``, as of that day."""
    first_seen = table.groupby(s.CUSTOMER_ID, sort=False)[DAY].min()
    found: set[int] = set()
    for day in days:  # a handful of days
        customers = first_seen.index[(first_seen <= day).to_numpy()]
        if len(customers):
            found |= set(np.unique(membership.segment_of(customers, day)).tolist())
    return np.array(sorted(found), dtype="int64")
