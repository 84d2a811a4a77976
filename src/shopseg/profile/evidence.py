"""The evidence behind each segment: size, typical values, and what sets it apart.

For every segment and feature: mean and median in the segment and in the rest of the
customers, and the standardized difference ``d = (mean_in - mean_rest) / pooled_sd``
(Cohen's d). Features with ``|d| >= min_effect`` are the segment's distinguishing
features, strongest first. Value ranks (the mean percentile of the segment's customers
on spend, frequency and recency) feed the rule-based names.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd


@dataclass
class FeatureContrast:
    """How one feature differs between a segment and the rest of the customers."""

    feature: str
    mean: float
    median: float
    mean_rest: float
    effect: float  # standardized difference (Cohen's d)


@dataclass
class SegmentEvidence:
    """Everything measured about one segment."""

    segment_id: int
    size: int
    share: float
    means: dict[str, float]
    medians: dict[str, float]
    distinguishing: list[FeatureContrast]
    ranks: dict[str, float] = field(default_factory=dict)


def _pooled_sd(inside: pd.DataFrame, outside: pd.DataFrame) -> pd.Series:
    n_in, n_out = len(inside), len(outside)
    var_in = inside.var(ddof=1).fillna(0.0) if n_in > 1 else inside.iloc[:1].sub(inside.iloc[:1]).iloc[0]
    var_out = outside.var(ddof=1).fillna(0.0) if n_out > 1 else outside.iloc[:1].sub(outside.iloc[:1]).iloc[0]
    dof = max(n_in + n_out - 2, 1)
    return np.sqrt(((n_in - 1) * var_in.clip(lower=0) + (n_out - 1) * var_out.clip(lower=0)) / dof)


def segment_evidence(
    features: pd.DataFrame,
    labels: np.ndarray,
    contrast_columns: list[str],
    *,
    min_effect: float = 0.3,
    top: int = 6,
) -> list[SegmentEvidence]:
    """Evidence for every segment in ``labels`` (aligned with ``features`` rows)."""
    labels = np.asarray(labels)
    ranks = features.rank(pct=True)
    evidence = []
    for segment in np.unique(labels):
        inside_mask = labels == segment
        inside, outside = features[inside_mask], features[~inside_mask]
        contrasts: list[FeatureContrast] = []
        if len(outside):
            sd = _pooled_sd(inside[contrast_columns], outside[contrast_columns])
            diff = inside[contrast_columns].mean() - outside[contrast_columns].mean()
            effect = (diff / sd.where(sd > 1e-12)).fillna(0.0)
            for column in effect.abs().sort_values(ascending=False, kind="stable").index:
                if abs(effect[column]) < min_effect or len(contrasts) >= top:
                    break
                contrasts.append(
                    FeatureContrast(
                        feature=column,
                        mean=float(inside[column].mean()),
                        median=float(inside[column].median()),
                        mean_rest=float(outside[column].mean()),
                        effect=round(float(effect[column]), 4),
                    )
                )
        evidence.append(
            SegmentEvidence(
                segment_id=int(segment),
                size=int(inside_mask.sum()),
                share=round(float(inside_mask.mean()), 6),
                means={c: float(v) for c, v in inside.mean().items()},
                medians={c: float(v) for c, v in inside.median().items()},
                distinguishing=contrasts,
                ranks={c: float(v) for c, v in ranks[inside_mask].mean().items()},
            )
        )
    return evidence
