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

* ``silhouette`` (default for K-Means, Ward and DEC): **the smallest k whose mean silhouette
  is within one standard error of the best** (the "one-standard-error rule" of model
  selection: a larger k must beat a smaller one by more than the score's own sampling noise;
  the standard error is that of the best k's mean silhouette over the scored rows,
  ``silhouette_se`` in the table). Fewer segments are easier to act on, so ties go down.
  ``tolerance`` set to a number uses a relative tolerance instead (0.03: within 3% of the
  best). Measured on generated shops with 8 planted segments (5,000 customers, seeds 0-2,
  behaviour + text fused as in the pipeline, before ``recency_gaps``; docs/segment_quality.md):
  silhouette peaked at k = 7 (the two big-spender segments merged, every other planted segment
  apart) by 0.006-0.017 over k = 6, with a standard error of 0.002-0.003; this rule picked 7 on
  every seed (ARI 0.90-0.91), the old 3% rule 6 on some (0.85-0.86), because 3% of a
  silhouette of 0.36 is 0.011, more than the gap. With ``recency_gaps`` it picks the planted 8
  on all six shops (ARI 0.91-0.94). The 3% rule was chosen when noise habit shares (the hour
  of a one-order customer's one order) made k = 8 look as good as 6; those shares now enter
  only when they repeat within customers (:mod:`shopseg.features.habits`).
* ``calinski_harabasz``: the smallest k within ``tolerance`` (relative; 3% when the
  tolerance is the standard-error rule) of the best score. On generated shops it picks 3 on
  every seed, so it is recorded, not used by default.
* ``davies_bouldin``: the smallest k within ``tolerance`` (as for Calinski-Harabasz) of the lowest value.
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
from sklearn.metrics import calinski_harabasz_score, davies_bouldin_score, silhouette_samples

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
#: The default tolerance: one standard error of the best mean silhouette (see the module docstring).
ONE_SE = "1se"
DEFAULT_TOLERANCE: float | str = ONE_SE
#: Relative tolerance of the criteria without a standard error under the default.
RELATIVE_TOLERANCE = 0.03
#: Extra column of the table: the standard error of each k's mean silhouette.
SILHOUETTE_SE = "silhouette_se"


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
    tolerance: float | str
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
    """Silhouette (and its standard error), Calinski-Harabasz, Davies-Bouldin and inertia of one partition.

    ``matrix`` is rows x features, ``labels`` one segment per row (-1 = noise, left out).
    ``silhouette_rows`` (indices) limits the silhouette to a sample. A score that is not
    defined (one segment, or every row its own segment) is NaN.
    """
    scores = {name: float("nan") for name in CRITERIA if name != "bic"}
    scores[SILHOUETTE_SE] = float("nan")
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
        values = silhouette_samples(matrix[rows], sample_labels)
        scores["silhouette"] = float(values.mean())
        scores[SILHOUETTE_SE] = float(values.std(ddof=1) / np.sqrt(len(values)))
    return scores


def _elbow(ks: np.ndarray, values: np.ndarray) -> int:
    """The k furthest below the chord of the normalised curve (kneedle)."""
    if len(ks) < 3 or np.ptp(values) <= 0:
        return int(ks[0])
    x = (ks - ks[0]) / (ks[-1] - ks[0])
    y = (values - values.min()) / np.ptp(values)
    return int(ks[np.argmax((1 - x) - y)])


def _slack(table: pd.DataFrame, criterion: str, tolerance: float | str, best_row: int) -> float:
    """How far below (or above) the best value a k may be and still count as good."""
    values = table[criterion].to_numpy(dtype="float64")
    if tolerance == ONE_SE:
        if criterion == "silhouette" and SILHOUETTE_SE in table:
            se = float(table[SILHOUETTE_SE].to_numpy(dtype="float64")[best_row])
            if np.isfinite(se):
                return se
        tolerance = RELATIVE_TOLERANCE
    if isinstance(tolerance, str):
        raise ShopsegError(f"Unknown tolerance '{tolerance}': give a relative number such as 0.03, or '{ONE_SE}'.")
    return float(tolerance) * abs(float(values[best_row]))


def choose_k(table: pd.DataFrame, criterion: str = "silhouette", tolerance: float | str = DEFAULT_TOLERANCE) -> int:
    """The k that ``criterion`` picks from a selection table; see the module docstring for the rule."""
    if criterion not in CRITERIA:
        raise ShopsegError(f"Unknown criterion '{criterion}' for choosing k. Known: {', '.join(CRITERIA)}.")
    measured = table.dropna(subset=[criterion]).sort_values("k").reset_index(drop=True)
    if measured.empty:
        raise ShopsegError(f"The criterion '{criterion}' could not be measured for any k.")
    ks = measured["k"].to_numpy(dtype=int)
    values = measured[criterion].to_numpy(dtype="float64")
    if criterion == "inertia":
        return _elbow(ks, values)
    if criterion == "bic":
        return int(ks[np.argmin(values)])
    if CRITERIA[criterion]:
        best_row = int(np.argmax(values))
        good = values >= values[best_row] - _slack(measured, criterion, tolerance, best_row)
    else:
        best_row = int(np.argmin(values))
        good = values <= values[best_row] + _slack(measured, criterion, tolerance, best_row)
    return int(ks[np.flatnonzero(good)[0]])


def describe_rule(criterion: str, tolerance: float | str) -> str:
    """The rule in one sentence, for run.json and the screen."""
    if criterion == "bic":
        return "lowest BIC over the k range"
    if criterion == "inertia":
        return "elbow of the inertia curve (furthest below the chord)"
    direction = "best" if CRITERIA.get(criterion, True) else "lowest"
    if tolerance == ONE_SE and criterion == "silhouette":
        return "smallest k whose silhouette is within one standard error of the best value over the k range"
    relative = RELATIVE_TOLERANCE if tolerance == ONE_SE else float(tolerance)
    return f"smallest k whose {criterion} is within {relative:.0%} of the {direction} value over the k range"


def explain_choice(table: pd.DataFrame, criterion: str, tolerance: float | str = DEFAULT_TOLERANCE) -> str:
    """Why the table's chosen k won, in one sentence with the numbers (for the screen and run.json).

    ``table``: a selection table (``k``, the criteria, ``chosen``); "" when it cannot say.
    """
    if table is None or table.empty or criterion not in table or "chosen" not in table:
        return ""
    measured = table.dropna(subset=[criterion]).sort_values("k").reset_index(drop=True)
    chosen_rows = measured.index[measured["chosen"].astype(bool)]
    if measured.empty or not len(chosen_rows):
        return ""
    row = measured.loc[chosen_rows[0]]
    k, value = int(row["k"]), float(row[criterion])
    span = f"k = {int(measured['k'].min())}-{int(measured['k'].max())}"
    if criterion == "bic":
        return f"k = {k}: the lowest BIC ({value:,.1f}) over {span}."
    if criterion == "inertia":
        return f"k = {k}: the elbow of the inertia curve over {span}."
    values = measured[criterion].to_numpy(dtype="float64")
    higher = CRITERIA[criterion]
    best_row = int(np.argmax(values) if higher else np.argmin(values))
    best_k, best = int(measured.loc[best_row, "k"]), float(values[best_row])
    slack = _slack(measured, criterion, tolerance, best_row)
    by_se = tolerance == ONE_SE and criterion == "silhouette" and SILHOUETTE_SE in measured
    margin = f"one standard error ({slack:.3f})" if by_se else f"the tolerance ({slack:.3g})"
    if k == best_k:
        smaller = measured[measured["k"] < k]
        if smaller.empty:
            return f"k = {k}: the {'best' if higher else 'lowest'} {criterion} ({value:.3f}) over {span}."
        runner_up = smaller.loc[smaller[criterion].idxmax() if higher else smaller[criterion].idxmin()]
        next_best = f"k = {int(runner_up['k'])}, {float(runner_up[criterion]):.3f}"
        return (
            f"k = {k}: the {'best' if higher else 'lowest'} {criterion} ({value:.3f}) over {span}; every smaller "
            f"k is worse by more than {margin} (next best: {next_best})."
        )
    return (
        f"k = {k}: {criterion} {value:.3f}, within {margin} of the {'best' if higher else 'lowest'} "
        f"({best:.3f} at k = {best_k}); the smallest such k is chosen (fewer segments are easier to act on)."
    )


def select_k(
    matrix: np.ndarray,
    fit_trial: Callable[[np.ndarray, int], Trial],
    k_values: list[int],
    *,
    criterion: str = "silhouette",
    tolerance: float | str = DEFAULT_TOLERANCE,
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
    table = pd.DataFrame.from_records(records, columns=["k", *CRITERIA, SILHOUETTE_SE])
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


def selection_summary(clusterer: Any, k_requested: int | None) -> dict[str, Any]:
    """How a fitted clusterer got its k, for run.json and the screen.

    ``why``: :func:`explain_choice`'s sentence (or "fixed by --k"); ``candidates``: one dict
    per k compared (k, the measured criteria, ``chosen``); empty when k was fixed or the
    algorithm chooses no k (HDBSCAN).
    """
    table = getattr(clusterer, "selection_", None)
    criterion = getattr(clusterer, "criterion_", "") or ""
    k = int(getattr(clusterer, "n_clusters_", 0))
    if k_requested is not None:
        return {"why": f"k = {k}: fixed by --k {k_requested}.", "candidates": []}
    if table is None or table.empty or "k" not in table or criterion not in table:
        return {"why": "", "candidates": []}
    tolerance = getattr(clusterer, "tolerance", DEFAULT_TOLERANCE)
    columns = [c for c in ("k", *CRITERIA, SILHOUETTE_SE, "chosen") if c in table and table[c].notna().any()]

    def plain(column: str, value: Any) -> Any:
        if column == "chosen":
            return bool(value)
        if column == "k":
            return int(value)
        return round(float(value), 6) if pd.notna(value) else None

    candidates = [{c: plain(c, v) for c, v in row.items()} for row in table[columns].to_dict("records")]
    return {"why": explain_choice(table, criterion, tolerance), "candidates": candidates}
