"""Privacy guards on what a run publishes about segments.

* **Minimum segment size**: a segment with fewer than ``min_size`` customers describes
  too few people to publish (its means come close to individual values). Such segments
  are merged into the nearest large segment (centroid distance in the clustered space);
  the mapping is part of the saved model, so new customers are assigned the same way.
* **Differential privacy (optional)**: Laplace noise on the published aggregates of
  ``profiles.json`` / ``profiles.md``: sizes (sensitivity 1) and feature means and medians
  (values clipped to the shop's 1st-99th percentile range ``[lo, hi]``, sensitivity
  ``(hi - lo) / n``); shares are recomputed from the noisy sizes and representative
  customer ids are withheld. ``epsilon`` applies to each published statistic separately
  (no composition over statistics is accounted); the percentile bounds come from the data.
  Per-customer files (``segments.parquet``) are the shop's own data and are not noised.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd


@dataclass
class SegmentMerges:
    """What :func:`merge_small_segments` decided.

    ``mapping``: {raw segment id: published segment id}; ``merges``: one dict per merged
    segment (``segment``: raw id, ``size``, ``into``: published id, ``distance``: between the
    two centres in the clustered space, ``reason``), for run.json and the screen; ``notes``:
    the same in sentences.
    """

    mapping: dict[int, int]
    merges: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def merge_small_segments(matrix: np.ndarray, labels: np.ndarray, min_size: int) -> SegmentMerges:
    """Fold segments under ``min_size`` customers into their nearest large one (see the module docstring).

    Kept segments are renumbered by size (0 = largest). When no segment reaches
    ``min_size`` all customers form one segment.
    """
    labels = np.asarray(labels)
    ids, sizes = np.unique(labels, return_counts=True)
    large = ids[sizes >= min_size]
    if len(large) == len(ids):
        order = ids[np.lexsort((ids, -sizes))]
        return SegmentMerges(mapping={int(raw): new for new, raw in enumerate(order)})
    reason = f"fewer than {min_size} customers (--min-segment-size {min_size})"
    if len(large) == 0:
        note = f"no segment has {min_size} customers (--min-segment-size): all customers form one segment"
        merges = [
            {"segment": int(raw), "size": int(size), "into": 0, "distance": None, "reason": reason}
            for raw, size in zip(ids, sizes, strict=True)
        ]
        return SegmentMerges(mapping=dict.fromkeys((int(i) for i in ids), 0), merges=merges, notes=[note])
    centres = {int(i): matrix[labels == i].mean(axis=0) for i in ids}
    target: dict[int, int] = {}
    distance: dict[int, float] = {}
    for raw in ids:
        if raw in large:
            target[int(raw)] = int(raw)
            continue
        distances = [float(((centres[int(raw)] - centres[int(big)]) ** 2).sum()) for big in large]
        target[int(raw)] = int(large[int(np.argmin(distances))])
        distance[int(raw)] = float(np.sqrt(min(distances)))
    merged = np.array([target[int(x)] for x in labels])
    kept, kept_sizes = np.unique(merged, return_counts=True)
    order = kept[np.lexsort((kept, -kept_sizes))]
    renumber = {int(raw): new for new, raw in enumerate(order)}
    mapping = {raw: renumber[big] for raw, big in target.items()}
    merges = [
        {
            "segment": raw,
            "size": int(sizes[ids == raw][0]),
            "into": mapping[raw],
            "distance": round(distance[raw], 4),
            "reason": reason,
        }
        for raw in sorted(distance)
    ]
    notes = [
        f"found segment {m['segment']} ({m['size']} customers) merged into segment {m['into']}, the nearest "
        f"larger one: {m['reason']}"
        for m in merges
    ]
    return SegmentMerges(mapping=mapping, merges=merges, notes=notes)


def add_laplace_noise(
    profiles: list[dict[str, Any]], features: pd.DataFrame, epsilon: float, random_state: int = 0
) -> list[dict[str, Any]]:
    """Profiles with noisy sizes, shares, means and medians (see the module docstring)."""
    if epsilon <= 0:
        raise ValueError("epsilon must be positive")
    rng = np.random.default_rng(random_state)
    low, high = features.quantile(0.01), features.quantile(0.99)
    noisy_profiles = []
    for profile in profiles:
        profile = dict(profile)
        size = max(1, round(profile["size"] + rng.laplace(0.0, 1.0 / epsilon)))
        profile["size"] = int(size)
        for key in ("means", "medians"):
            noisy = {}
            for feature, value in profile[key].items():
                span = float(high.get(feature, 0.0) - low.get(feature, 0.0))
                clipped = float(np.clip(value, low.get(feature, value), high.get(feature, value)))
                noisy[feature] = round(clipped + rng.laplace(0.0, span / max(size, 1) / epsilon), 6)
            profile[key] = noisy
        profile["distinguishing"] = [
            {**d, "mean": profile["means"].get(d["feature"], d["mean"])} for d in profile["distinguishing"]
        ]
        profile["representatives"] = []
        profile["privacy"] = {"laplace_epsilon_per_statistic": epsilon}
        noisy_profiles.append(profile)
    total = sum(p["size"] for p in noisy_profiles)
    for profile in noisy_profiles:
        profile["share"] = round(profile["size"] / total, 6)
    return noisy_profiles
