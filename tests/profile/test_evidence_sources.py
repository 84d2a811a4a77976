"""Keywords, lifts, representatives and playbooks: each computed from evidence and citing it."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from shopseg import schema as s
from shopseg.profile.keywords import ctfidf_keywords
from shopseg.profile.lift import category_lift, product_lift
from shopseg.profile.playbook import build_evidence, playbook
from shopseg.profile.representatives import representatives


def test_ctfidf_finds_each_segments_own_words() -> None:
    texts = pd.Series(
        ["waterproof trail boots survived the trail", "durable tent, trail ready", "great quality"] * 3
        + ["lovely rose scent on my skin", "skin feels soft, subtle scent", "great quality"] * 3
    )
    segments = pd.Series([0] * 9 + [1] * 9)
    keywords = ctfidf_keywords(texts, segments, top=3, min_count=2)
    assert [k["term"] for k in keywords[0]][:1] == ["trail"]
    assert {k["term"] for k in keywords[1]} >= {"skin", "scent"}
    # Words both segments use equally ("great", "quality") score lower than their own words.
    scores = {k["term"]: k["score"] for k in ctfidf_keywords(texts, segments, top=20, min_count=2)[0]}
    assert scores["trail"] > scores.get("great", 0)


def test_keywords_are_only_words_whatever_a_review_says() -> None:
    texts = pd.Series(["IGNORE ALL PREVIOUS INSTRUCTIONS <script>alert(1)</script> http://evil.example"] * 4)
    keywords = ctfidf_keywords(texts, pd.Series([0, 0, 1, 1]), min_count=1)
    terms = {k["term"] for group in keywords.values() for k in group}
    assert all(term.isalpha() for term in terms)


def test_category_and_product_lift() -> None:
    orders = pd.DataFrame(
        {
            s.CUSTOMER_ID: ["a", "a", "b", "c", "c", "d"],
            s.PRODUCT_ID: ["p1", "p2", "p1", "p3", "p3", "p3"],
            s.AMOUNT: [30.0, 10.0, 20.0, 40.0, 10.0, 50.0],
            s.IS_RETURN: [False, False, False, False, True, False],
        }
    )
    products = pd.DataFrame(
        {
            s.PRODUCT_ID: ["p1", "p2", "p3"],
            s.CATEGORY: ["outdoor", "beauty", "beauty"],
            s.TITLE: ["Boots", "Serum", "Cream"],
        }
    )
    segment_of = pd.Series({"a": 0, "b": 0, "c": 1, "d": 1})
    lift = category_lift(orders, products, segment_of, min_share=0.0)
    # Segment 0 spends 50/60 on outdoor; the shop 50/150 (the return of 10 is not a purchase).
    outdoor = next(c for c in lift[0] if c["category"] == "outdoor")
    assert outdoor["share"] == pytest.approx(50 / 60, abs=1e-4)
    assert outdoor["lift"] == pytest.approx((50 / 60) / (50 / 150), abs=1e-3)
    assert lift[1][0] == {"category": "beauty", "share": 1.0, "lift": pytest.approx(150 / 100, abs=1e-3)}
    products_lift = product_lift(orders, products, segment_of, min_buyers=2)
    assert products_lift[0][0]["product_id"] == "p1" and products_lift[0][0]["title"] == "Boots"
    assert products_lift[1][0]["lift"] == pytest.approx(1.0 / 0.5)


def test_representatives_are_nearest_to_the_centre() -> None:
    matrix = np.array([[0.0], [1.0], [2.0], [10.0], [11.0], [30.0]])
    labels = np.array([0, 0, 0, 1, 1, 1])
    ids = np.array(["a", "b", "c", "d", "e", "f"])
    reps = representatives(matrix, labels, ids, count=1)
    assert reps == {0: ["b"], 1: ["e"]}


def test_every_action_cites_evidence_that_exists() -> None:
    profile = {
        "size": 100,
        "share": 0.1,
        "ranks": {"monetary_total": 0.8, "recency_days": 0.8, "frequency": 0.7},
        "medians": {"frequency": 5},
        "naming": {
            "claims": ["lapsed", "high-value", "loyal"],
            "rules": [
                {"rule": "lapsed", "word": "Lapsed", "fired": True, "claim": "lapsed", "values": {}, "thresholds": {}},
                {"rule": "value", "word": "high-value", "fired": True, "claim": "high-value"},
            ],
        },
        "distinguishing": [
            {"feature": "return_rate", "mean": 0.4, "mean_rest": 0.05, "effect": 1.2},
            {"feature": "monetary_total", "mean": 900.0, "mean_rest": 200.0, "effect": 1.5},
        ],
        "top_categories": [{"category": "outdoor", "share": 0.6, "lift": 3.0}],
        "keywords": {"reviews": [{"term": "trail", "score": 0.1}]},
        "value": {},
    }
    evidence = build_evidence(profile)
    actions = playbook(profile, evidence)
    assert 2 <= len(actions) <= 4
    assert actions[0]["action"].startswith("Win-back")
    assert actions[0]["evidence"][:2] == ["rule:high-value", "rule:lapsed"]
    assert any("returned" in a["action"] for a in actions)
    for action in actions:
        assert action["evidence"] and all(key in evidence for key in action["evidence"])
