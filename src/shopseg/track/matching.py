"""Which segment of a later run continues which segment of an earlier one: MONIC transitions.

Two runs of the same shop at different dates (or a run and its update) each number their
segments by size; the numbers mean nothing across runs. This module gives every segment
a **tracked id** that stays with it from run to run, and names what happened to each
segment, after MONIC (Spiliopoulou, Ntoutsi, Theodoridis & Schult, *MONIC: modeling and
monitoring cluster transitions*, KDD 2006).

With customers in both runs (**overlap matching**, the default): the overlap of an earlier
segment X with a later segment Y is ``|X ∩ Y| / |X|``, counted over the customers present in
both runs. Then, with the thresholds of :class:`MatchSettings`:

* X **survives** as Y when Y holds at least ``match`` (0.5) of X and no other segment
  matches Y; Y keeps X's tracked id;
* X and X' **merge** into Y when both match Y; Y keeps the id of the one that gave it the
  most customers;
* X **splits** when no Y holds ``match`` of it but two or more segments each hold at least
  ``split`` (0.2) of it and together at least ``match``; the part with the most of X's
  customers keeps X's id (unless another segment already continues into it), the others
  get new ids;
* X **disappears** when none of this holds; a Y that continues no segment **appears** with a
  new id.

At most one Y can hold more than half of X, so "the" match is unique when ``match`` >= 0.5.

Without enough shared customers (two samples of a shop, or runs on different customer
bases: under ``min_common`` of the later run's customers are in the earlier one),
**centroid matching** pairs segments whose profiles are mutual nearest neighbours (mean
standardised features, :func:`match_by_centroid`): those survive, the rest appear or
disappear; splits and merges need shared customers and are not reported then.

Segment id ``-1`` (customers an algorithm leaves unassigned) is never matched: it stays -1.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd

UNASSIGNED = -1
SURVIVE, SPLIT, MERGE, APPEAR, DISAPPEAR = "survive", "split", "merge", "appear", "disappear"


@dataclass(frozen=True)
class MatchSettings:
    """MONIC's thresholds (shares of the earlier segment's customers) and when to match by overlap."""

    match: float = 0.5
    split: float = 0.2
    min_common: float = 0.5

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


@dataclass
class Matching:
    """How a later run's segments continue an earlier run's.

    ``tracked``: later segment id -> tracked id; ``events``: one dict per MONIC event (kind,
    sources: earlier tracked ids, targets: later tracked ids, shares: overlap of each
    source with each target); ``overlap``: customers per (earlier tracked id, later
    segment id), or None with centroid matching; ``method``: "overlap" or "centroid".
    """

    tracked: dict[int, int]
    events: list[dict[str, object]] = field(default_factory=list)
    overlap: pd.DataFrame | None = None
    method: str = "overlap"

    def next_id(self, current: int) -> int:
        """The first id not used yet after this matching (``current``: the first free one before)."""
        return max([current - 1, *self.tracked.values()]) + 1


def _event(kind: str, sources: list[int], targets: list[int], shares: dict[str, float] | None = None) -> dict:
    return {"kind": kind, "sources": sources, "targets": targets, "shares": shares or {}}


def match_by_overlap(
    earlier: pd.Series, later: pd.Series, next_id: int, settings: MatchSettings | None = None
) -> Matching:
    """Tracked ids for ``later``'s segments from the customers they share with ``earlier``; see the module docstring.

    ``earlier``: tracked id per customer (index customer_id); ``later``: segment id per
    customer of the later run; ``next_id``: the first tracked id not used by any run so far.
    """
    settings = settings or MatchSettings()
    common = earlier.index.intersection(later.index)
    before, after = earlier.loc[common], later.loc[common]
    assigned = (before != UNASSIGNED) & (after != UNASSIGNED)
    counts = pd.crosstab(before[assigned], after[assigned])
    sources = sorted(int(x) for x in pd.unique(earlier) if x != UNASSIGNED)
    targets = sorted(int(y) for y in pd.unique(later) if y != UNASSIGNED)
    counts = counts.reindex(index=sources, columns=targets, fill_value=0)
    size = counts.sum(axis=1)
    share = counts.div(size.where(size > 0, 1), axis=0)

    matched: dict[int, int] = {}  # earlier tracked id -> later segment id holding >= match of it
    for x in sources:
        if size[x] > 0 and len(targets):
            y = int(share.loc[x].idxmax())
            if share.loc[x, y] >= settings.match:
                matched[x] = y
    tracked: dict[int, int] = {}
    events: list[dict[str, object]] = []
    by_target: dict[int, list[int]] = {}
    for x, y in matched.items():
        by_target.setdefault(y, []).append(x)
    for y, xs in sorted(by_target.items()):
        heir = max(xs, key=lambda x: (counts.loc[x, y], -x))
        tracked[y] = heir
        kind = SURVIVE if len(xs) == 1 else MERGE
        events.append(_event(kind, sorted(xs), [heir], {str(x): round(float(share.loc[x, y]), 4) for x in xs}))

    pending: list[tuple[int, list[int]]] = []  # splits: the earlier id and its parts
    for x in sources:
        if x in matched:
            continue
        parts = [int(y) for y in targets if share.loc[x, y] >= settings.split] if size[x] > 0 else []
        if len(parts) >= 2 and float(share.loc[x, parts].sum()) >= settings.match:
            pending.append((x, sorted(parts, key=lambda y: (-counts.loc[x, y], y))))
        else:
            events.append(_event(DISAPPEAR, [x], [], {}))
    for x, parts in sorted(pending, key=lambda item: (-size[item[0]], item[0])):
        for y in parts:
            if y in tracked:
                continue
            if x not in tracked.values():
                tracked[y] = x
            else:
                tracked[y], next_id = next_id, next_id + 1
        events.append(
            _event(
                SPLIT,
                [x],
                [tracked[y] for y in parts],
                {str(tracked[y]): round(float(share.loc[x, y]), 4) for y in parts},
            )
        )
    for y in targets:
        if y not in tracked:
            tracked[y], next_id = next_id, next_id + 1
            events.append(_event(APPEAR, [], [tracked[y]], {}))
    if (later == UNASSIGNED).any():
        tracked[UNASSIGNED] = UNASSIGNED
    return Matching(tracked=tracked, events=events, overlap=counts, method="overlap")


def segment_centroids(features: pd.DataFrame, labels: pd.Series, scale: tuple[pd.Series, pd.Series]) -> pd.DataFrame:
    """Mean of each segment's standardised features (rows: segment id); ``scale`` = (centre, spread) per column."""
    centre, spread = scale
    standard = (features - centre) / spread
    keep = labels.reindex(standard.index) != UNASSIGNED
    return standard[keep.to_numpy()].groupby(labels.reindex(standard.index)[keep.to_numpy()]).mean()


def robust_scale(features: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """(median, interquartile range) per column; a column without spread gets 1 (no scaling)."""
    centre = features.median()
    spread = features.quantile(0.75) - features.quantile(0.25)
    return centre, spread.where(spread > 0, 1.0)


def match_by_centroid(earlier: pd.DataFrame, later: pd.DataFrame, next_id: int) -> Matching:
    """Tracked ids by mutual nearest segment profiles (rows of ``earlier``: tracked ids; of ``later``: segment ids).

    Both frames hold segment centroids in one standardised feature space
    (:func:`segment_centroids` with the same ``scale``).
    """
    columns = earlier.columns.intersection(later.columns)
    a, b = earlier[columns].to_numpy(dtype=float), later[columns].to_numpy(dtype=float)
    distance = np.sqrt(((a[:, None, :] - b[None, :, :]) ** 2).sum(axis=2))
    tracked: dict[int, int] = {}
    events: list[dict[str, object]] = []
    nearest_later = distance.argmin(axis=1) if len(b) else np.zeros(0, dtype=int)
    nearest_earlier = distance.argmin(axis=0) if len(a) else np.zeros(0, dtype=int)
    sources, targets = [int(x) for x in earlier.index], [int(y) for y in later.index]
    for i, x in enumerate(sources):
        j = int(nearest_later[i]) if len(targets) else -1
        if j >= 0 and nearest_earlier[j] == i:
            tracked[targets[j]] = x
            events.append(_event(SURVIVE, [x], [x], {"distance": round(float(distance[i, j]), 4)}))
        else:
            events.append(_event(DISAPPEAR, [x], [], {}))
    for y in targets:
        if y not in tracked:
            tracked[y], next_id = next_id, next_id + 1
            events.append(_event(APPEAR, [], [tracked[y]], {}))
    return Matching(tracked=tracked, events=events, overlap=None, method="centroid")
