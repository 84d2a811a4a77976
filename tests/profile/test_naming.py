"""Names come from explicit rules with thresholds; each rule fires exactly at its boundary.

The boundary tests build a segment's medians and the shop's reference values by hand and move
one number across one threshold of :class:`~shopseg.profile.rules.NamingThresholds`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from shopseg import schema as s
from shopseg.profile import profile_segments
from shopseg.profile.evidence import FeatureContrast, SegmentEvidence
from shopseg.profile.markdown import render_profiles_markdown
from shopseg.profile.naming import name_segments, trait_phrase
from shopseg.profile.price import customer_price_level
from shopseg.profile.rules import (
    NamingThresholds,
    SegmentFacts,
    SegmentRules,
    ShopReference,
    contradicting_words,
    frequency_rule,
    price_rule,
    recency_rules,
    taste_rule,
    trait_rules,
    value_rule,
)

T = NamingThresholds()


def reference(**values: np.ndarray) -> ShopReference:
    """A shop whose customers have exactly these feature values."""
    frame = pd.DataFrame(values)
    return ShopReference.from_features(frame, T)


def rfm_customers(seed: int = 0, recency_lapsed: tuple[float, float] = (300, 500)) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    n = 300
    vip = pd.DataFrame(
        {
            "recency_days": rng.uniform(1, 20, n),
            "frequency": rng.integers(8, 20, n).astype(float),
            "monetary_total": rng.uniform(800, 2000, n),
            "interpurchase_mean": rng.uniform(20, 40, n),
            "tenure_days": rng.uniform(300, 600, n),
            "return_rate": rng.uniform(0, 0.05, n),
        }
    )
    lapsed = pd.DataFrame(
        {
            "recency_days": rng.uniform(*recency_lapsed, n),
            "frequency": np.ones(n),
            "monetary_total": rng.uniform(5, 40, n),
            "interpurchase_mean": np.zeros(n),
            "tenure_days": rng.uniform(*recency_lapsed, n),
            "return_rate": rng.uniform(0.3, 0.6, n),
        }
    )
    frame = pd.concat([vip, lapsed], ignore_index=True)
    return frame, np.repeat([0, 1], n)


def test_profiles_hold_evidence_rule_names_and_the_rules_behind_them() -> None:
    frame, labels = rfm_customers()
    profiles = profile_segments(frame, labels, list(frame.columns))
    assert [p.size for p in profiles] == [300, 300]
    assert profiles[0].share == 0.5
    assert profiles[0].name.startswith("Active high-value loyal")
    assert profiles[1].name.startswith("Lapsed low-value one-timers")
    assert "frequent returners" in profiles[1].name
    top = profiles[1].distinguishing[0]
    assert abs(top["effect"]) > 1 and top["mean"] != top["mean_rest"]
    lapsed = next(r for r in profiles[1].naming["rules"] if r["rule"] == "lapsed")
    assert lapsed["fired"] and lapsed["values"]["median_recency_days"] > lapsed["thresholds"]["shop_gap_p75_days"]
    assert profiles[1].naming["reference"]["gap_p75_days"] == pytest.approx(
        np.quantile(frame["interpurchase_mean"][:300], 0.75), abs=0.01
    )
    assert set(profiles[1].naming["claims"]) >= {"lapsed", "low-value", "one-timers", "trait:return_rate:high"}
    assert "rule:lapsed" in profiles[1].evidence  # the playbook can cite it
    assert profiles[1].playbook[0]["evidence"][0] == "rule:lapsed"
    markdown = render_profiles_markdown([p.as_dict() for p in profiles])
    assert "**Why this name**" in markdown
    recency = lapsed["values"]["median_recency_days"]
    assert f"- Lapsed: median days since last order {recency:.0f} &gt; shop's p75" in markdown


def test_the_least_recent_segment_of_an_all_recent_shop_is_not_lapsed() -> None:
    """Ranks alone would call the least recent of two segments "Lapsed"; the rules do not."""
    frame, labels = rfm_customers(recency_lapsed=(5, 9))
    frame["frequency"] = np.where(labels == 1, 3.0, frame["frequency"])
    frame["interpurchase_mean"] = np.where(labels == 1, 30.0, frame["interpurchase_mean"])
    profiles = profile_segments(frame, labels, list(frame.columns))
    assert not any("Lapsed" in p.name for p in profiles)


def test_lapsed_needs_both_the_shops_gap_and_the_segments_own_gap() -> None:
    shop = reference(
        recency_days=np.full(8, 10.0),
        frequency=np.full(8, 3.0),
        interpurchase_mean=np.array([10, 20, 30, 40, 50, 60, 70, 80.0]),
        tenure_days=np.full(8, 400.0),
    )
    p75 = shop.gap_p75
    assert p75 == pytest.approx(62.5)
    repeat = SegmentFacts(repeat_share=1.0, own_gap_median=30.0, price_level=None)

    def lapsed(recency: float, facts: SegmentFacts) -> bool:
        rules = recency_rules({"recency_days": recency, "tenure_days": 400.0}, facts, shop, T)
        return next(r for r in rules if r.rule == "lapsed").fired

    assert not lapsed(p75, SegmentFacts(0.0, None, None))  # not above the shop's gap: never lapsed
    assert lapsed(p75 + 0.01, SegmentFacts(0.0, None, None))  # one-timers: the shop's gap decides
    assert not lapsed(90.0, repeat)  # 90 > 62.5 but not > 3 x own gap 30
    assert lapsed(90.01, repeat)
    # a segment where fewer than half bought twice is measured against the shop's gap alone
    assert lapsed(70.0, SegmentFacts(0.49, 30.0, None))


def test_active_and_new_boundaries() -> None:
    shop = reference(
        recency_days=np.array([5, 10, 20, 40, 80, 160.0]),
        frequency=np.full(6, 2.0),
        interpurchase_mean=np.array([10, 20, 30, 40, 50, 60.0]),
        tenure_days=np.array([10, 100, 200, 300, 400, 500.0]),
    )
    facts = SegmentFacts(1.0, 30.0, None)

    def fired(recency: float, tenure: float) -> list[str]:
        rules = recency_rules({"recency_days": recency, "tenure_days": tenure}, facts, shop, T)
        return [r.word for r in rules if r.fired]

    limit = min(shop.gap_p50, shop.recency_p50)  # 35 and 30
    assert limit == 30.0
    assert fired(30.0, 300.0) == ["Active"]
    assert fired(30.01, 300.0) == []
    new_limit = min(shop.tenure_p25, shop.gap_p75)  # 125 and 47.5
    assert fired(20.0, new_limit) == ["New"]
    assert fired(20.0, new_limit + 0.01) == ["Active"]


def test_a_shop_without_repeat_buyers_has_no_recency_words() -> None:
    shop = reference(recency_days=np.array([5.0, 500.0]), frequency=np.ones(2), interpurchase_mean=np.zeros(2))
    rules = recency_rules({"recency_days": 500.0}, SegmentFacts(0.0, None, None), shop, T)
    assert rules and not any(r.fired for r in rules)
    assert "no customer of the shop ordered twice" in rules[0].reason


def test_value_and_frequency_boundaries() -> None:
    shop = reference(monetary_total=np.arange(1, 101, dtype=float), frequency=np.repeat([1.0, 2, 3, 4, 5], 20))
    # mid-rank percentiles among 1..100: 70.5 -> 0.70, 70 -> 0.695 (a tie counts half), 31 -> 0.305
    assert value_rule({"monetary_total": 70.5}, shop, T)[0].word == "high-value"
    assert value_rule({"monetary_total": 70.0}, shop, T)[0].word == "mid-value"
    assert value_rule({"monetary_total": 30.5}, shop, T)[0].word == "low-value"
    assert value_rule({"monetary_total": 31.0}, shop, T)[0].word == "mid-value"
    assert frequency_rule({"frequency": 1.0}, shop, T)[0].word == "one-timers"
    assert frequency_rule({"frequency": 2.0}, shop, T)[0].word == "repeat buyers"
    assert frequency_rule({"frequency": 4.0}, shop, T)[0].word == "loyal"  # percentile 0.70
    assert frequency_rule({"frequency": 3.0}, shop, T)[0].word == "repeat buyers"  # percentile 0.50
    assert not frequency_rule({"frequency": 1.5}, shop, T)[0].fired
    # few orders are never "loyal", whatever the percentile
    few = reference(frequency=np.repeat([1.0, 2.0], [80, 20]))
    assert frequency_rule({"frequency": 2.0}, few, T)[0].word == "repeat buyers"


def test_price_boundaries() -> None:
    def word(level: float) -> str | None:
        rule = price_rule(SegmentFacts(0.0, None, level, price_effect=1.0), T)[0]
        return rule.word if rule.fired else None

    assert word(0.35) == "bargain hunters" and word(0.351) is None
    assert word(0.65) == "premium buyers" and word(0.649) is None
    assert price_rule(SegmentFacts(0.0, None, None), T) == []


def test_trait_boundaries_share_and_level() -> None:
    shop = reference(hour_share_night=np.full(10, 0.1), age=np.arange(20.0, 70.0, 5.0))

    def fired(feature: str, effect: float, mean: float, median: float) -> bool:
        contrast = FeatureContrast(feature, mean, median, 0.0, effect)
        evidence = SegmentEvidence(0, 10, 0.5, {feature: mean}, {feature: median}, [contrast])
        rules = trait_rules(evidence, shop, T)
        return bool(rules) and rules[0].fired

    assert fired("hour_share_night", 0.6, 0.1501, 0.1501)  # 1.5 x the shop's 0.10, 0.05 above it
    assert not fired("hour_share_night", 0.6, 0.1499, 0.1499)
    assert not fired("hour_share_night", 0.29, 0.5, 0.5)  # effect below the weak tier
    assert fired("hour_share_night", -0.6, 0.0669, 0.0669)  # "rarely at night": 0.67 x
    assert not fired("hour_share_night", -0.6, 0.0671, 0.0671)
    # a share 1.5 x the shop's but only 0.02 above it is too small a difference
    low = reference(hour_share_night=np.full(10, 0.04))
    contrast = FeatureContrast("hour_share_night", 0.061, 0.061, 0.0, 0.9)
    evidence = SegmentEvidence(0, 10, 0.5, {"hour_share_night": 0.061}, {}, [contrast])
    assert not trait_rules(evidence, low, T)[0].fired
    # age: 20, 25, ..., 65; a median of 50 sits at mid-rank (6 + 7) / 2 / 10 = 0.65, 49 at 0.60
    assert fired("age", 0.8, 60.0, 50.0)
    assert not fired("age", 0.8, 60.0, 49.0)


def test_category_lift_boundary() -> None:
    def fired(lift: float) -> bool:
        return taste_rule([{"category": "outdoor", "share": 0.4, "lift": lift}], {}, T)[0].fired

    assert fired(1.3) and not fired(1.299)


def test_names_are_unique_even_for_identical_evidence() -> None:
    shop = reference(monetary_total=np.arange(1, 101, dtype=float), frequency=np.full(100, 3.0))
    rules = {
        i: SegmentRules(
            i, [*value_rule({"monetary_total": 50.0}, shop, T), *frequency_rule({"frequency": 3.0}, shop, T)]
        )
        for i in range(3)
    }
    names = name_segments(rules)
    assert len(set(names.values())) == 3


def test_trait_phrases() -> None:
    assert trait_phrase(FeatureContrast("category_share_outdoor", 0.8, 0.9, 0.1, 2.0)) == "outdoor lovers"
    assert trait_phrase(FeatureContrast("gender=female", 1, 1, 0.3, 1.5)) == "gender female"
    assert trait_phrase(FeatureContrast("buy_frequency", 1, 1, 3, -1.2)) == "low buy frequency"


def test_price_level_is_measured_against_items_of_the_same_category() -> None:
    products = pd.DataFrame(
        {
            s.PRODUCT_ID: ["t1", "t2", "t3", "s1", "s2", "s3"],
            s.CATEGORY: ["tent"] * 3 + ["serum"] * 3,
            s.PRICE: [100.0, 200.0, 300.0, 10.0, 20.0, 30.0],
        }
    )
    orders = pd.DataFrame(
        {
            s.CUSTOMER_ID: ["cheap", "cheap", "dear", "dear", "dear"],
            s.PRODUCT_ID: ["t1", "s1", "s3", "s3", "t3"],
            s.AMOUNT: [100.0, 10.0, 30.0, 30.0, 300.0],
            s.QUANTITY: [1.0, 1.0, 1.0, 1.0, 1.0],
            s.IS_RETURN: [False, False, False, True, False],
        }
    )
    level = customer_price_level(orders, products)
    # the cheapest tent and serum: mid-rank 0.5 of 3 items -> 1/6; the dearest -> 5/6
    assert level["cheap"] == pytest.approx(1 / 6)
    assert level["dear"] == pytest.approx(5 / 6)


def test_contradicting_words_need_their_rule() -> None:
    assert contradicting_words("Dormant VIPs", ["lapsed"]) == ["VIPs"]
    assert contradicting_words("Dormant VIPs", ["lapsed", "high-value"]) == []
    assert contradicting_words("Inactive bargain hunters", ["bargain"]) == ["Inactive"]
    assert contradicting_words("Active trail lovers", ["new"]) == []
    assert contradicting_words("Loyal night owls", ["loyal"]) == ["night owls"]
    assert contradicting_words("Trail blazers", []) == []
