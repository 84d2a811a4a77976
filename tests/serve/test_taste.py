"""Taste matching: TF-IDF over purchases and reviews, customer text vectors when the run has them."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from shopseg.serve.run_data import RunData
from shopseg.serve.taste import TfidfTasteMatcher, VectorTasteMatcher, load_taste_matcher

PRODUCTS = pd.DataFrame(
    {
        "product_id": ["P1", "P2", "P3"],
        "title": ["Trail hiking boots", "Lavender eye cream", "Cast iron skillet"],
        "description": ["Waterproof boots for mountain trails.", "Gentle cream for sensitive skin.", "Sears steak."],
        "category": ["outdoor", "beauty", "kitchen"],
    }
)
ORDERS = pd.DataFrame(
    {"customer_id": ["a", "a", "b", "c"], "order_id": ["1", "2", "3", "4"], "product_id": ["P1", "P1", "P2", "P3"]}
)
REVIEWS = pd.DataFrame({"customer_id": ["c"], "text": ["I take this skillet camping in the mountains"]})


def test_tfidf_matches_purchases_and_reviews_and_names_unknown_words() -> None:
    matcher = TfidfTasteMatcher(pd.Index(["a", "b", "c", "d"]), ORDERS, PRODUCTS, REVIEWS)
    result = matcher.score("mountain hiking lovers, eco-friendly")
    assert result.scores.idxmax() == "a"
    assert result.matched.to_dict() == {"a": True, "b": False, "c": True, "d": False}  # c wrote about mountains
    assert "hiking" in result.explanation and "eco" in result.explanation.split("not found")[1]
    assert not matcher.score("zebra").matched.any()


def test_plurals_match_singulars() -> None:
    matcher = TfidfTasteMatcher(pd.Index(["a", "b", "c"]), ORDERS, PRODUCTS, None)
    assert matcher.score("skillets").scores.idxmax() == "c"
    assert matcher.score("creams").scores.idxmax() == "b"


def test_vector_matcher_uses_the_runs_vectors_and_encoder(run_copy: Path) -> None:
    run = RunData.load(run_copy)
    ids = run.segments.index[:3]
    vectors = pd.DataFrame({"customer_id": ids, "taste": [[1.0, 0.0], [0.0, 1.0], [0.7, 0.7]]})
    vectors.to_parquet(run_copy / "customer_vectors.parquet", index=False)
    (run_copy / "customer_vectors.json").write_text(json.dumps({"encoder": "toy"}))

    class Toy:
        def encode(self, texts: list[str]) -> np.ndarray:
            return np.array([[1.0, 0.1] if "boots" in t else [0.0, 1.0] for t in texts])

    made: list[str] = []
    matcher = load_taste_matcher(RunData.load(run_copy), encoder_factory=lambda name: made.append(name) or Toy())
    assert isinstance(matcher, VectorTasteMatcher) and made == ["toy"]
    result = matcher.score("hiking boots")
    assert result.scores.idxmax() == ids[0] and "toy" in result.explanation
    assert result.scores.loc[run.segments.index[3:]].eq(0).all()  # customers without a vector do not match
    assert result.matched.sum() == 2


def test_falls_back_to_tfidf_when_vectors_cannot_be_used(run_copy: Path) -> None:
    pd.DataFrame({"customer_id": ["x"], "taste": [[1.0]]}).to_parquet(run_copy / "customer_vectors.parquet")
    matcher = load_taste_matcher(RunData.load(run_copy))  # no record of the encoder that made them
    assert isinstance(matcher, TfidfTasteMatcher)
