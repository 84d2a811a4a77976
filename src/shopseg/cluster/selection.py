"""Choosing the number of segments: criteria per k, one table, one documented rule.

For every k in a range, a clusterer partitions a sample of customers (at most
``sample_size``, 20,000 by default: the criteria are stable well below that and the final
fit on all customers happens once, after k is chosen). Each partition is scored by

* ``silhouette`` (higher is better; on at most ``silhouette_size`` of the sample, because it
  is quadratic in the number of rows; the same rows for every k),
* ``calinski_harabasz`` (higher is better), ``davies_bouldin`` (lower is better),
* ``inertia`` (within-segment sum of squares, for the elbow),
* ``bic`` (lower is better; only for Gaussian mixtures, which supply it).

The result is :class:`KSelection`: a table with one row per k (the ``model_selection.csv``
of a run) and the chosen k.

The rule (:func:`choose_k`):

* ``silhouette`` (default for K-Means, Ward and DEC) and ``calinski_harabasz``: **the smallest
  k whose score is within** ``tolerance`` **(relative, 3% by default) of the best score**.
  Silhouette differences of a few percent between neighbouring k are within the noise of
  the sample and of K-Means' restarts, and fewer segments are easier to act on. (Since the
  habit shares are shrunk by orders in :class:`~shopseg.cluster.BlockScaler`, the rule picks
  6 on those shops with either weighting, 3,000 customers, seeds 0-2, with ARI 0.79-0.84
  against 0.52-0.58 for the 8 picked before: those 8 split the one-order customers by the
  hour of their one order. On the fused text + behaviour representation of
  ``benchmarks/segment_quality.py`` it picks 6 as well, and so does every criterion here:
  silhouette peaks at 6, K-Means at 8 merges the two big-spender segments.) Measured before by
  ``benchmarks/clustering.py`` on generated shops with 8 planted segments (3,000 customers,
  10 seeds, K-Means random states 0/1/2): with equal block weights this rule picks 8 in
  10, 10 and 9 of 10 seeds, plain highest silhouette in 8, 9 and 7. With the pipeline's
  behaviour weight of 1.5 no criterion picks 8 (K-Means merges the two big-spender segments
  before it separates anything else, and splits the large one-timer segment instead); the
  rule then picks 6-10 segments (mostly 6-7 at 3,000 customers, 9 at 10,000 and 100,000),
  with a mean adjusted Rand index of about 0.7 at 3,000 customers against 0.64 for the
  8-segment partition. Calinski-Harabasz picks
  3 on every seed, so it is recorded, not used by default.
* ``davies_bouldin``: the smallest k within ``tolerance`` of the lowest value.
* ``bic`` (default for Gaussian mixtures): the lowest BIC; it already charges for parameters.
* ``inertia``: the elbow, i.e. the k furthest below the straight line from the first to the
  last point of the normalised inertia curve (the "kneedle" idea).

Ties go to the smaller k. Every criterion is kept in the table so a user can overrule the
choice with a fixed ``k``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import calinski_harabasz_score, davies_bouldin_score, silhouette_score

from shopseg.cluster.base import sample_rows
from shopseg.errors import ShopsegError

#: Criteria in the table, in column order, and whether higher values are better.
CRITERIA: dict[str, bool] = {
    "silhouette": True,
    "calinski_harabasz": True,
    "davies_bouldin": False,
    "inertia": False,
    "bic": False,
}
DEFAULT_TOLERANCE = 0.03


@dataclass
class Trial:
    """One partition of the selection sample at one k, as a clusterer reports it.

    ``labels``: segment per sample row (``-1`` = noise, ignored by the scores);
    ``bic``: the model's BIC when it has one; ``state``: anything the clusterer wants back
    for the chosen k (e.g. centroids to start the final fit from).
    """

    labels: np.ndarray
    bic: float | None = None
    state: Any = None


@dataclass
class KSelection:
    """The model-selection table and the k it chose.

    ``table``: one row per k with columns ``k``, every :data:`CRITERIA` name (NaN where not
    measured), ``chosen`` (bool); ``criterion`` and ``tolerance`` decided; ``rule`` says how in
    words (for run.json); ``trials`` keeps each k's :class:`Trial` for the caller.
    """

    table: pd.DataFrame
    k: int
    criterion: str
    tolerance: float
    rule: str
    trials: dict[int, Trial] = field(default_factory=dict, repr=False)

    def scores(self) -> dict[int, float]:
        """``{k: value of the deciding criterion}`` for k where it was measured."""
        values = self.table.set_index("k")[self.criterion].dropna()
        return {int(k): round(float(v), 6) for k, v in values.items()}


def inertia(matrix: np.ndarray, labels: np.ndarray) -> float:
    """Within-segment sum of squared distances to the segment means (noise rows ignored)."""
    kept = labels >= 0
    matrix, labels = matrix[kept], labels[kept]
    if not len(labels):
        return float("nan")
    counts = np.bincount(labels).astype("float64")
    sums = np.zeros((len(counts), matrix.shape[1]))
    np.add.at(sums, labels, matrix)
    present = counts > 0
    between = (sums[present] ** 2).sum(axis=1) / counts[present]
    return float((matrix**2).sum() - between.sum())


def partition_scores(
    matrix: np.ndarray, labels: np.ndarray, silhouette_rows: np.ndarray | None = None, random_state: int = 0
) -> dict[str, float]:
    """Silhouette, Calinski-Harabasz, Davies-Bouldin and inertia of one partition.

    ``matrix`` is rows x features, ``labels`` one segment per row (-1 = noise, left out).
    ``silhouette_rows`` (indices) limits the silhouette to a sample. A score that is not
    defined (one segment, or every row its own segment) is NaN.
    """
    scores = {name: float("nan") for name in CRITERIA if name != "bic"}
    kept = labels >= 0
    scores["inertia"] = inertia(matrix, labels)
    n_segments = len(np.unique(labels[kept]))
    if n_segments < 2 or n_segments >= kept.sum():
        return scores
    scores["calinski_harabasz"] = float(calinski_harabasz_score(matrix[kept], labels[kept]))
    scores["davies_bouldin"] = float(davies_bouldin_score(matrix[kept], labels[kept]))
    rows = np.arange(len(labels)) if silhouette_rows is None else silhouette_rows
    rows = rows[kept[rows]]
    sample_labels = labels[rows]
    n_sampled = len(np.unique(sample_labels))
    if 2 <= n_sampled < len(rows):
        scores["silhouette"] = float(silhouette_score(matrix[rows], sample_labels, random_state=random_state))
    return scores


def _elbow(ks: np.ndarray, values: np.ndarray) -> int:
    """The k furthest below the chord of the normalised curve (kneedle)."""
    if len(ks) < 3 or np.ptp(values) <= 0:
        return int(ks[0])
    x = (ks - ks[0]) / (ks[-1] - ks[0])
    y = (values - values.min()) / np.ptp(values)
    return int(ks[np.argmax((1 - x) - y)])


def choose_k(table: pd.DataFrame, criterion: str = "silhouette", tolerance: float = DEFAULT_TOLERANCE) -> int:
    """The k that ``criterion`` picks from a selection table; see the module docstring for the rule."""
    if criterion not in CRITERIA:
        raise ShopsegError(f"Unknown criterion '{criterion}' for choosing k. Known: {', '.join(CRITERIA)}.")
    measured = table[["k", criterion]].dropna().sort_values("k")
    if measured.empty:
        raise ShopsegError(f"The criterion '{criterion}' could not be measured for any k.")
    ks = measured["k"].to_numpy(dtype=int)
    values = measured[criterion].to_numpy(dtype="float64")
    if criterion == "inertia":
        return _elbow(ks, values)
    if criterion == "bic":
        return int(ks[np.argmin(values)])
    if CRITERIA[criterion]:
        best = values.max()
        good = values >= best - tolerance * abs(best)
    else:
        best = values.min()
        good = values <= best + tolerance * abs(best)
    return int(ks[np.flatnonzero(good)[0]])


def describe_rule(criterion: str, tolerance: float) -> str:
    """The rule in one sentence, for run.json."""
    if criterion == "bic":
        return "lowest BIC over the k range"
    if criterion == "inertia":
        return "elbow of the inertia curve (furthest below the chord)"
    direction = "best" if CRITERIA.get(criterion, True) else "lowest"
    return f"smallest k whose {criterion} is within {tolerance:.0%} of the {direction} value over the k range"


def select_k(
    matrix: np.ndarray,
    fit_trial: Callable[[np.ndarray, int], Trial],
    k_values: list[int],
    *,
    criterion: str = "silhouette",
    tolerance: float = DEFAULT_TOLERANCE,
    sample_size: int = 20_000,
    silhouette_size: int = 5_000,
    random_state: int = 0,
) -> tuple[KSelection, np.ndarray]:
    """Partition a sample at every k with ``fit_trial(sample_matrix, k)``, score, choose.

    Returns the :class:`KSelection` and the indices of the sample rows (sorted), so the
    caller can reuse a trial's partition when the sample is the whole matrix.
    """
    if criterion not in CRITERIA:
        raise ShopsegError(f"Unknown criterion '{criterion}' for choosing k. Known: {', '.join(CRITERIA)}.")
    rows = sample_rows(len(matrix), sample_size, random_state)
    sample = matrix[rows]
    silhouette_rows = sample_rows(len(sample), silhouette_size, random_state + 1)
    records, trials = [], {}
    for k in k_values:
        trial = fit_trial(sample, k)
        trials[k] = trial
        scores = partition_scores(sample, np.asarray(trial.labels), silhouette_rows, random_state)
        scores["bic"] = float("nan") if trial.bic is None else float(trial.bic)
        records.append({"k": k, **scores})
    table = pd.DataFrame.from_records(records, columns=["k", *CRITERIA])
    chosen = choose_k(table, criterion, tolerance)
    table["chosen"] = table["k"] == chosen
    selection = KSelection(
        table=table,
        k=chosen,
        criterion=criterion,
        tolerance=tolerance,
        rule=describe_rule(criterion, tolerance),
        trials=trials,
    )
    return selection, rows
