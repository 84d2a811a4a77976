"""Rule-based names on generated shops (several seeds): they say what the planted segments are,
and no word of any name contradicts its segment's own numbers.

Each planted segment is matched to the segment holding most of its customers. Taste-only
segments must be named by their category; behaviour segments by their value, loyalty,
recency, price or habit. Known limit: the small ``lapsed_big_spenders`` group (6%) shares most
traits with ``vip_loyal`` and is not required to get a segment of its own.

The contradiction checker below is written from the plain meaning of each word, not from
:mod:`shopseg.profile.rules` (it imports nothing from it): "Lapsed" means the typical customer
has not ordered for longer than the shop's typical gap between orders and than their own; "High-value"
means the typical customer spent more than the shop's typical customer; "bargain" means the
typical line was paid below the typical catalogue price of its category; and so on.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from shopseg import Segmenter, load_shop
from shopseg import schema as s
from shopseg.generate import generate_shop, write_shop
from shopseg.shop import Shop

EXPECTED_WORDS = {
    "outdoor_enthusiasts": "outdoor",
    "beauty_lovers": "beauty",
    "home_cooks": "kitchen",
    "vip_loyal": "High-value",
    "bargain_one_timers": "one-timers",
    "serial_returners": "returners",
    "night_owls": "night owls",
}

#: trait phrase -> (feature, direction): the segment's mean must be above (+1) or below (-1) the shop's.
MEAN_WORDS = {
    "frequent returners": ("return_rate", 1),
    "rarely return": ("return_rate", -1),
    "high returns": ("return_value", 1),
    "night owls": ("hour_share_night", 1),
    "rarely at night": ("hour_share_night", -1),
    "morning shoppers": ("hour_share_morning", 1),
    "rarely in the morning": ("hour_share_morning", -1),
    "afternoon shoppers": ("hour_share_afternoon", 1),
    "rarely in the afternoon": ("hour_share_afternoon", -1),
    "evening shoppers": ("hour_share_evening", 1),
    "rarely in the evening": ("hour_share_evening", -1),
    "weekend shoppers": ("weekend_share", 1),
    "weekday shoppers": ("weekend_share", -1),
    "decisive": ("cart_to_view", 1),
    "window shoppers": ("cart_to_view", -1),
}
#: trait phrase -> (feature, direction) on medians.
MEDIAN_WORDS = {
    "big baskets": ("items_per_order", 1),
    "small baskets": ("items_per_order", -1),
    "wide range": ("distinct_products", 1),
    "narrow range": ("distinct_products", -1),
    "heavy browsers": ("view_count", 1),
    "light browsers": ("view_count", -1),
    "active reviewers": ("review_count", 1),
}


def price_ratio(shop: Shop) -> pd.Series:
    """Per customer: median over purchase lines of unit price / median catalogue price of its category."""
    lines = shop.orders[~shop.orders[s.IS_RETURN]]
    catalogue = shop.products.set_index(s.PRODUCT_ID)
    category = lines[s.PRODUCT_ID].map(catalogue[s.CATEGORY])
    typical = catalogue.groupby(s.CATEGORY)[s.PRICE].median()
    unit = lines[s.AMOUNT] / lines[s.QUANTITY].abs()
    return (unit / category.map(typical)).groupby(lines[s.CUSTOMER_ID]).median()


def spend_share(shop: Shop, customers: pd.Index) -> tuple[pd.Series, pd.Series]:
    """(category share of the given customers' spend, category share of everybody's)."""
    lines = shop.orders[~shop.orders[s.IS_RETURN]]
    category = lines[s.PRODUCT_ID].map(shop.products.set_index(s.PRODUCT_ID)[s.CATEGORY])
    everybody = lines[s.AMOUNT].groupby(category).sum()
    mine = lines[lines[s.CUSTOMER_ID].isin(customers)]
    theirs = mine[s.AMOUNT].groupby(category[mine.index]).sum()
    return (theirs / theirs.sum()).reindex(everybody.index, fill_value=0.0), everybody / everybody.sum()


def contradictions(
    name: str, features: pd.DataFrame, inside: np.ndarray, shop: Shop, ratio: pd.Series
) -> tuple[list[str], int]:
    """(the words of ``name`` its segment's numbers contradict, how many words were checked)."""
    segment, everybody = features[inside], features
    median, shop_median = segment.median(), everybody.median()
    repeat = everybody[everybody["frequency"] >= 2]
    seg_repeat = segment[segment["frequency"] >= 2]
    problems: list[str] = []
    checked = 0

    def check(word: str, ok: bool) -> None:
        nonlocal checked
        checked += 1
        if not ok:
            problems.append(word)

    base, *traits = name.split(" · ")
    words = base.lower().split()
    if "lapsed" in words:
        ok = median["recency_days"] > repeat["interpurchase_mean"].median()
        if len(seg_repeat) >= len(segment) / 2:
            ok &= median["recency_days"] > seg_repeat["interpurchase_mean"].median()
        check("Lapsed", ok)
    if "active" in words:
        check("Active", median["recency_days"] <= shop_median["recency_days"])
    if "new" in words:
        check("New", median["tenure_days"] < shop_median["tenure_days"])
    if "high-value" in words:
        check("High-value", median["monetary_total"] > shop_median["monetary_total"])
    if "low-value" in words:
        check("Low-value", median["monetary_total"] < shop_median["monetary_total"])
    if "mid-value" in words:
        low, high = everybody["monetary_total"].quantile([0.1, 0.9])
        check("Mid-value", low < median["monetary_total"] < high)
    if "one-timers" in words:
        check("one-timers", median["frequency"] <= 1)
    if "loyal" in words:
        check("loyal", median["frequency"] >= max(2.0, shop_median["frequency"]))
    if "repeat" in words:
        check("repeat buyers", median["frequency"] >= 2)
    for trait in traits:
        if trait == "bargain hunters":
            check(trait, ratio.reindex(segment.index).median() < ratio.median())
        elif trait == "premium buyers":
            check(trait, ratio.reindex(segment.index).median() > ratio.median())
        elif trait in MEAN_WORDS:
            feature, sign = MEAN_WORDS[trait]
            check(trait, sign * (segment[feature].mean() - everybody[feature].mean()) > 0)
        elif trait in MEDIAN_WORDS:
            feature, sign = MEDIAN_WORDS[trait]
            check(trait, sign * (median[feature] - shop_median[feature]) >= 0)
        elif trait.endswith(" lovers"):
            mine, shops = spend_share(shop, segment.index)
            category = trait.removesuffix(" lovers")
            if category in mine.index:
                check(trait, mine[category] > shops[category])
    return problems, checked


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_planted_segments_get_names_that_say_what_they_are_and_never_contradict_them(seed: int, tmp_path: Path) -> None:
    paths = write_shop(generate_shop(3000, seed=seed), tmp_path)
    shop = load_shop(paths["orders"], products=paths["products"], reviews=paths["reviews"], events=paths["events"])
    # Names are what this test checks, on segments found from behaviour and categories; how
    # well the fused text representation recovers planted segments is benchmarks/segment_quality.py.
    model = Segmenter(k=8, random_state=seed, value=False, use_text=False, stability_refits=0, map_method=None).fit(
        shop
    )
    assignments = model.assignments().set_index("customer_id")
    truth = pd.read_csv(paths["truth"], dtype=str).set_index("customer_id")["segment"]
    table = pd.crosstab(truth.loc[assignments.index], assignments["segment_name"])
    named = table.idxmax(axis=1)
    for planted, word in EXPECTED_WORDS.items():
        assert word.lower() in named[planted].lower(), f"seed {seed}: {planted} -> {named[planted]!r}"
    assert named["bargain_one_timers"].startswith("Lapsed low-value")
    majority = table.idxmax(axis=0)  # segment name -> the planted segment most of it comes from
    bargain_names = majority[majority == "bargain_one_timers"].index
    assert any("bargain hunters" in name for name in bargain_names), f"seed {seed}: {list(bargain_names)}"

    features = model.features_.frame
    ratio = price_ratio(shop)
    total_checked = 0
    for profile in model.profiles_:
        inside = model.labels_ == profile.segment_id
        problems, checked = contradictions(profile.name, features, inside, shop, ratio)
        total_checked += checked
        assert not problems, f"seed {seed}: {profile.name!r} contradicts its numbers on {problems}"
        for rule in profile.naming["rules"]:  # every recorded rule carries its numbers
            assert "values" in rule and "thresholds" in rule and rule["reason"]
    assert total_checked >= 3 * len(model.profiles_)
