"""Topic matching: the run's own text model over its stored vectors, TF-IDF when that cannot be used."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from shopseg.audience.topics import EmbeddingTopicMatcher, TfidfTopicMatcher, load_topic_matcher
from shopseg.run_data import RunData

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
    matcher = TfidfTopicMatcher(pd.Index(["a", "b", "c", "d"]), ORDERS, PRODUCTS, REVIEWS, reason="no text model")
    result = matcher.score("mountain hiking lovers, eco-friendly")
    assert result.scores.idxmax() == "a"
    assert result.matched.to_dict() == {"a": True, "b": False, "c": True, "d": False}  # c wrote about mountains
    assert "hiking" in result.explanation and "eco" in result.explanation.split("not found")[1]
    assert "(no text model)" in result.explanation and result.method == "tf-idf"
    assert not matcher.score("zebra").matched.any()


def test_plurals_match_singulars() -> None:
    matcher = TfidfTopicMatcher(pd.Index(["a", "b", "c"]), ORDERS, PRODUCTS, None)
    assert matcher.score("skillets").scores.idxmax() == "c"
    assert matcher.score("creams").scores.idxmax() == "b"


def test_the_phrase_is_moved_towards_the_products_it_describes() -> None:
    """Pseudo-relevance feedback: a vague phrase takes the direction of its nearest products."""
    products = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]], dtype="float32")
    taste = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [0.0, 0.0, 0.0]], dtype="float32")

    def encode(texts: list[str]) -> np.ndarray:  # the phrase sits between product 0 and a direction nobody bought
        return np.array([[0.6, 0.0, 0.8]])

    matcher = EmbeddingTopicMatcher(pd.Index(list("wxyz")), {"taste": taste}, products, encode, "toy")
    query = matcher.query("outdoorsy")
    assert query[0] > 0.6 and query[2] < 0.8  # pulled towards product 0
    result = matcher.score("outdoorsy")
    assert result.scores.idxmax() == "w" and result.scores["z"] == 0.0  # no text: no score
    assert result.method == "text embedding (toy)" and "mean + 1 sd" in result.explanation
    assert result.matched.sum() >= 1 and not result.matched["z"]


@pytest.mark.slow
def test_the_runs_own_model_is_used_and_nothing_is_embedded_again(text_run: Path) -> None:
    run = RunData.load(text_run, recommendations=False)
    made = []

    def factory(name: str):
        from shopseg.embed.registry import get_encoder

        made.append(name)
        return get_encoder(name)

    matcher = load_topic_matcher(run, encoder_factory=factory)
    record = json.loads((text_run / "run.json").read_text())["text"]
    assert made == [record["encoder"]] and matcher.method == f"text embedding ({record['model_id']})"
    assert set(matcher.blocks) == {"taste", "browse"}


@pytest.mark.slow
def test_falls_back_to_tfidf_and_says_why(text_run: Path, tmp_path: Path) -> None:
    run = RunData.load(text_run, recommendations=False)

    def missing(name: str):
        raise ImportError("No module named 'onnxruntime'")

    matcher = load_topic_matcher(run, encoder_factory=missing)
    assert isinstance(matcher, TfidfTopicMatcher) and "No module named 'onnxruntime'" in matcher.reason

    class Other:
        model_id = "another-model"

        def encode(self, texts: list[str]) -> np.ndarray:
            return np.ones((len(texts), 3))

    matcher = load_topic_matcher(run, encoder_factory=lambda name: Other())
    assert isinstance(matcher, TfidfTopicMatcher) and "the installed model is another-model" in matcher.reason
    copy = Path(shutil.copytree(text_run, tmp_path / "run"))
    record = json.loads((copy / "run.json").read_text())
    record["text"] = {"used": False, "reason": "turned off"}
    (copy / "run.json").write_text(json.dumps(record))
    matcher = load_topic_matcher(RunData.load(copy, recommendations=False))
    assert isinstance(matcher, TfidfTopicMatcher) and "the run has no text vectors: turned off" in matcher.reason
    assert "(the run has no text vectors: turned off)" in matcher.score("tent").explanation
