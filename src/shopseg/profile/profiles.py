"""Segment profiles: the evidence and the name of every segment, as plain data.

A profile is what ``profiles.json`` holds for one segment and what later stages
(personas, playbooks, LLM naming, reports) build on.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from shopseg.profile.evidence import segment_evidence
from shopseg.profile.naming import name_segments


@dataclass
class SegmentProfile:
    """One segment: id, name, size and share, typical values and distinguishing features."""

    segment_id: int
    name: str
    size: int
    share: float
    means: dict[str, float]
    medians: dict[str, float]
    distinguishing: list[dict[str, float | str]]

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def profile_segments(features: pd.DataFrame, labels: np.ndarray, contrast_columns: list[str]) -> list[SegmentProfile]:
    """Profiles of every segment, ordered by segment id."""
    evidence = segment_evidence(features, labels, contrast_columns)
    names = name_segments(evidence)
    return [
        SegmentProfile(
            segment_id=item.segment_id,
            name=names[item.segment_id],
            size=item.size,
            share=item.share,
            means={k: round(v, 6) for k, v in item.means.items()},
            medians={k: round(v, 6) for k, v in item.medians.items()},
            distinguishing=[
                {
                    "feature": c.feature,
                    "mean": round(c.mean, 6),
                    "median": round(c.median, 6),
                    "mean_rest": round(c.mean_rest, 6),
                    "effect": c.effect,
                }
                for c in item.distinguishing
            ],
        )
        for item in evidence
    ]
