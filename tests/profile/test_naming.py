"""Profiles carry evidence; names are readable, follow the evidence, and are unique."""

from __future__ import annotations

import numpy as np
import pandas as pd

from shopseg.profile import profile_segments
from shopseg.profile.evidence import FeatureContrast, SegmentEvidence
from shopseg.profile.naming import name_segments, trait_phrase


def rfm_customers(seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    n = 300
    vip = pd.DataFrame(
        {
            "recency_days": rng.uniform(1, 20, n),
            "frequency": rng.integers(8, 20, n).astype(float),
            "monetary_total": rng.uniform(800, 2000, n),
            "return_rate": rng.uniform(0, 0.05, n),
        }
    )
    lapsed = pd.DataFrame(
        {
            "recency_days": rng.uniform(300, 500, n),
            "frequency": np.ones(n),
            "monetary_total": rng.uniform(5, 40, n),
            "return_rate": rng.uniform(0.3, 0.6, n),
        }
    )
    frame = pd.concat([vip, lapsed], ignore_index=True)
    return frame, np.repeat([0, 1], n)


def test_profiles_hold_evidence_and_rule_names() -> None:
    frame, labels = rfm_customers()
    profiles = profile_segments(frame, labels, list(frame.columns))
    assert [p.size for p in profiles] == [300, 300]
    assert profiles[0].share == 0.5
    assert profiles[0].name.startswith("Active high-value loyal")
    assert profiles[1].name.startswith("Lapsed low-value one-timers")
    assert "frequent returners" in profiles[1].name
    top = profiles[1].distinguishing[0]
    assert abs(top["effect"]) > 1 and top["mean"] != top["mean_rest"]


def test_names_are_unique_even_for_identical_evidence() -> None:
    evidence = [
        SegmentEvidence(
            segment_id=i,
            size=10,
            share=0.25,
            means={},
            medians={"frequency": 3.0},
            distinguishing=[FeatureContrast("weekend_share", 0.5, 0.5, 0.2, 0.9)],
            ranks={"monetary_total": 0.5, "recency_days": 0.5, "frequency": 0.5},
        )
        for i in range(3)
    ]
    names = name_segments(evidence)
    assert len(set(names.values())) == 3


def test_trait_phrases() -> None:
    assert trait_phrase(FeatureContrast("category_share_outdoor", 0.8, 0.9, 0.1, 2.0)) == "outdoor lovers"
    assert trait_phrase(FeatureContrast("gender=female", 1, 1, 0.3, 1.5)) == "gender female"
    assert trait_phrase(FeatureContrast("buy_frequency", 1, 1, 3, -1.2)) == "low buy frequency"
