"""Which segments are real? Subsample re-clustering with per-segment Jaccard (Hennig's clusterboot).

Hennig (2007), "Cluster-wise assessment of cluster stability": refit the clustering on
``n_refits`` random subsamples and, for each original segment C, find the most similar
new cluster D on the subsample (Jaccard ``|C ∩ D| / |C ∪ D|``, both restricted to the
subsample's rows). A segment whose mean best Jaccard is below 0.5 "dissolves"; 0.6-0.75
indicates a pattern, above 0.75 a stable segment. Here a segment is flagged unstable below
``threshold`` (0.6 by default).

Refits use the same algorithm and parameters with the number of segments fixed to the
fitted one (so k selection is not repeated) and a different ``random_state`` each time.
``method``:

* ``"bootstrap"`` (Hennig's default): ``min(n, max_rows)`` rows drawn with replacement;
  Jaccard is computed on the distinct rows drawn;
* ``"subsample"``: ``subsample`` of the rows (at most ``max_rows``) without replacement;
* ``"auto"``: subsample for HDBSCAN (duplicated rows fake density), bootstrap otherwise.

The overall adjusted Rand index between each refit and the original labels (on the rows
drawn) is reported too. Noise (``-1``) is treated as a group of its own, as Hennig treats a
noise component, and gets a row in the table (never "stable").

A limit worth knowing (Hennig says as much): stability is not validity. K-Means cuts a
diffuse group of random customers off the same way in most refits, so such a group can
score 0.7-0.9 while real segments score 0.95+; it is then the *least* stable segment but
not below the threshold. So a second, geometric check runs beside the refits: a segment is
**diffuse** when its members are both far more spread out than a typical segment's (mean
distance to its centre over ``DIFFUSE_SPREAD`` = 2x the median segment's) and far less
cohesive (mean silhouette under ``DIFFUSE_SILHOUETTE`` = half the median segment's) — the
signature of customers who only share not belonging anywhere else. Diffuse segments are
flagged unstable too (``reason`` says which check). On 4 Gaussian blobs plus a planted group
of uniform random points (``tests/cluster/test_stability.py``) the random group had 3-4x the
spread and a silhouette of 0.16-0.20 against 0.66-0.78; no blob came near either bound.
HDBSCAN with ``noise="unassigned"`` leaves random customers out altogether.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import adjusted_rand_score, silhouette_samples

from shopseg.cluster.base import UNASSIGNED, BaseClusterer, check_matrix
from shopseg.errors import ShopsegError

DEFAULT_THRESHOLD = 0.6
METHODS = ("auto", "bootstrap", "subsample")
#: Below this mean Jaccard Hennig calls a cluster "dissolved".
DISSOLVED = 0.5
#: A segment is diffuse when its spread exceeds this multiple of the median segment's ...
DIFFUSE_SPREAD = 2.0
#: ... and its mean silhouette is below this fraction of the median segment's.
DIFFUSE_SILHOUETTE = 0.5
#: Rows sampled for silhouettes (quadratic in rows).
COHESION_ROWS = 5_000


@dataclass
class StabilityReport:
    """Per-segment stability and a summary.

    ``table``, one row per segment id (``-1`` for noise when present): ``segment_id``,
    ``size``, ``jaccard_mean``, ``jaccard_min``, ``dissolved_share`` (share of refits with
    Jaccard < 0.5), ``silhouette`` (members' mean), ``spread`` (mean distance to the centre
    relative to the median segment's), ``diffuse`` (see the module docstring), ``stable``
    (``jaccard_mean >= threshold`` and not diffuse; always False for noise) and ``reason``.
    ``summary``: ``n_refits``, ``method``, ``rows_per_refit``, ``distinct_rows_per_refit``,
    ``threshold``, ``ari_mean``, ``ari_min``, ``jaccard_mean`` (size-weighted over segments),
    ``unstable_segments`` (ids).
    """

    table: pd.DataFrame
    summary: dict[str, Any] = field(default_factory=dict)

    def unstable(self) -> list[int]:
        return [int(s) for s in self.table.loc[~self.table["stable"], "segment_id"] if s != UNASSIGNED]

    def relabel(self, mapping: dict[int, int]) -> StabilityReport:
        """The report under other segment ids, e.g. the pipeline's after small segments are merged.

        ``mapping`` is {fitted id: published id}; ids it lacks (and -1) stay as they are.
        Segments mapped to one id are combined: sizes add up, ``jaccard_mean`` and
        ``dissolved_share`` are size-weighted means, ``jaccard_min`` the minimum.
        """
        table = self.table.copy()
        table["segment_id"] = [
            mapping.get(int(i), int(i)) if i != UNASSIGNED else UNASSIGNED for i in table["segment_id"]
        ]
        threshold = self.summary.get("threshold", DEFAULT_THRESHOLD)
        rows = []
        for segment, group in table.groupby("segment_id", sort=True):
            weights = group["size"].to_numpy()
            jaccard = float(np.average(group["jaccard_mean"], weights=weights))
            # a merged segment is diffuse only if all of it was
            diffuse = bool(group["diffuse"].all())
            rows.append(
                {
                    "segment_id": int(segment),
                    "size": int(weights.sum()),
                    "jaccard_mean": round(jaccard, 4),
                    "jaccard_min": float(group["jaccard_min"].min()),
                    "dissolved_share": round(float(np.average(group["dissolved_share"], weights=weights)), 4),
                    "silhouette": round(float(np.average(group["silhouette"], weights=weights)), 4),
                    "spread": round(float(np.average(group["spread"], weights=weights)), 4),
                    "diffuse": diffuse,
                    "stable": bool(jaccard >= threshold and not diffuse and segment != UNASSIGNED),
                    "reason": _reason(jaccard, threshold, diffuse, segment),
                }
            )
        report = StabilityReport(table=pd.DataFrame(rows), summary=dict(self.summary))
        report.summary["unstable_segments"] = report.unstable()
        return report


def _reason(jaccard: float, threshold: float, diffuse: bool, segment: int) -> str:
    """Why a segment is (not) stable, in words."""
    if segment == UNASSIGNED:
        return "noise: customers no segment takes"
    reasons = []
    if jaccard < threshold:
        reasons.append(f"bootstrap Jaccard {jaccard:.2f} < {threshold:.2f}")
    if diffuse:
        reasons.append("diffuse: far more spread out and less cohesive than a typical segment")
    return "; ".join(reasons) or "stable"


def cohesion(
    matrix: np.ndarray, labels: np.ndarray, ids: np.ndarray, random_state: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per segment id: (mean silhouette, spread relative to the median segment, diffuse flag).

    Silhouettes on a sample of :data:`COHESION_ROWS` rows; spread = mean distance of members to
    their centre. Noise (-1) is left out of the medians and never called diffuse (it is noise).
    """
    segments = ids != UNASSIGNED
    silhouette = np.full(len(ids), np.nan)
    spread = np.full(len(ids), np.nan)
    kept = labels != UNASSIGNED
    rng = np.random.default_rng(random_state)
    rows = np.flatnonzero(kept)
    if len(rows) > COHESION_ROWS:
        rows = np.sort(rng.choice(rows, COHESION_ROWS, replace=False))
    values = np.zeros(len(rows))
    if len(np.unique(labels[rows])) >= 2:
        values = silhouette_samples(matrix[rows], labels[rows])
    for position, segment in enumerate(ids):
        if segment == UNASSIGNED:
            continue
        members = matrix[labels == segment]
        spread[position] = float(np.linalg.norm(members - members.mean(axis=0), axis=1).mean())
        sampled = labels[rows] == segment
        silhouette[position] = float(values[sampled].mean()) if sampled.any() else np.nan
    diffuse = np.zeros(len(ids), dtype=bool)
    if segments.sum() >= 3:
        median_spread = np.nanmedian(spread[segments])
        median_silhouette = np.nanmedian(silhouette[segments])
        relative = spread / median_spread if median_spread > 0 else np.ones(len(ids))
        spread = relative
        diffuse = (
            segments
            & (relative > DIFFUSE_SPREAD)
            & (silhouette < DIFFUSE_SILHOUETTE * median_silhouette)
            & (median_silhouette > 0)
        )
    else:
        spread = np.where(segments, 1.0, np.nan)
    return silhouette, spread, diffuse


def best_jaccard(reference: np.ndarray, other: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each group of ``reference`` (sorted ids), its highest Jaccard with any group of ``other``.

    Both are label arrays over the same rows. Vectorised through the contingency table.
    """
    ref_ids, ref_index = np.unique(reference, return_inverse=True)
    other_ids, other_index = np.unique(other, return_inverse=True)
    table = np.zeros((len(ref_ids), len(other_ids)))
    np.add.at(table, (ref_index, other_index), 1)
    union = table.sum(axis=1, keepdims=True) + table.sum(axis=0, keepdims=True) - table
    return ref_ids, (table / union).max(axis=1)


def assess_stability(
    model: BaseClusterer,
    matrix: np.ndarray,
    labels: np.ndarray | None = None,
    *,
    n_refits: int = 20,
    method: str = "auto",
    subsample: float = 0.8,
    max_rows: int = 20_000,
    threshold: float = DEFAULT_THRESHOLD,
    random_state: int = 0,
    refit_params: dict[str, Any] | None = None,
) -> StabilityReport:
    """Refit ``model``'s algorithm on subsamples of ``matrix`` and measure each segment's stability.

    ``model`` is a fitted clusterer (its parameters are cloned; ``n_clusters_`` fixes k);
    ``labels`` defaults to ``model.labels_`` (one per row of ``matrix``). ``refit_params``
    overrides parameters of the refits, e.g. ``{"n_init": 2}`` to make K-Means refits cheaper.
    """
    matrix = check_matrix(matrix)
    labels = np.asarray(model.labels_ if labels is None else labels, dtype=np.int64)
    if len(labels) != len(matrix):
        raise ShopsegError(f"labels has {len(labels)} rows but the matrix {len(matrix)}: pass the fitted matrix.")
    if n_refits < 1:
        raise ShopsegError(f"n_refits must be at least 1, got {n_refits}.")
    if method not in METHODS:
        raise ShopsegError(f"method must be one of {', '.join(METHODS)}, got {method!r}.")
    if method == "auto":
        method = "subsample" if model.kind == "hdbscan" else "bootstrap"
    bootstrap = method == "bootstrap"
    size = min(max_rows, len(matrix)) if bootstrap else max(2, min(max_rows, round(subsample * len(matrix))))
    ids = np.unique(labels)
    rng = np.random.default_rng(random_state)
    jaccard = np.full((n_refits, len(ids)), np.nan)
    aris = np.zeros(n_refits)
    distinct_rows = []
    for refit in range(n_refits):
        rows = np.sort(rng.choice(len(matrix), size=min(size, len(matrix)), replace=bootstrap))
        overrides = {"k": model.n_clusters_, "random_state": random_state + 1000 + refit, **(refit_params or {})}
        twin = model.clone(**overrides).fit(matrix[rows])
        drawn, first = np.unique(rows, return_index=True)
        twin_labels = twin.labels_[first]
        present, best = best_jaccard(labels[drawn], twin_labels)
        jaccard[refit, np.searchsorted(ids, present)] = best
        aris[refit] = adjusted_rand_score(labels[drawn], twin_labels)
        distinct_rows.append(len(drawn))
    # A segment absent from a subsample (tiny segments) counts as dissolved in that refit.
    jaccard = np.nan_to_num(jaccard, nan=0.0)
    sizes = np.array([(labels == i).sum() for i in ids])
    means = jaccard.mean(axis=0)
    silhouette, spread, diffuse = cohesion(matrix, labels, ids, random_state)
    table = pd.DataFrame(
        {
            "segment_id": ids,
            "size": sizes,
            "jaccard_mean": means.round(4),
            "jaccard_min": jaccard.min(axis=0).round(4),
            "dissolved_share": (jaccard < DISSOLVED).mean(axis=0).round(4),
            "silhouette": np.round(silhouette, 4),
            "spread": np.round(spread, 4),
            "diffuse": diffuse,
            "stable": (means >= threshold) & (ids != UNASSIGNED) & ~diffuse,
            "reason": [_reason(m, threshold, d, i) for m, d, i in zip(means, diffuse, ids, strict=True)],
        }
    )
    report = StabilityReport(table=table)
    segments = ids != UNASSIGNED
    report.summary = {
        "n_refits": n_refits,
        "method": method,
        "rows_per_refit": int(min(size, len(matrix))),
        "distinct_rows_per_refit": int(np.mean(distinct_rows)),
        "threshold": threshold,
        "ari_mean": round(float(aris.mean()), 4),
        "ari_min": round(float(aris.min()), 4),
        "jaccard_mean": round(float(np.average(means[segments], weights=sizes[segments])), 4)
        if segments.any()
        else float("nan"),
        "unstable_segments": report.unstable(),
    }
    return report
