"""The rules behind every word of a segment name, each with numeric thresholds a reader can audit.

A name says what a segment *is* in absolute terms, measured against shop-wide reference
values (:class:`ShopReference`), never only against the other segments: a segment is not
"Lapsed" because it is the least recent of eight, but because its customers have not ordered
for much longer than they and the shop usually wait between orders.

=============== ==========================================================================
word            fires when (defaults of :class:`NamingThresholds`)
=============== ==========================================================================
Lapsed          median days since last order > the shop's p75 gap between orders, and
                > 3 x the segment's own median gap (of its repeat buyers; when fewer than
                half bought twice, the shop's gap alone decides)
New             median days since first order <= the shop's p25 tenure and <= its p75 gap
Active          median days since last order <= the shop's median gap and <= the shop's
                median days since last order
High-value      the segment's median total spend sits at or above the shop's 70th
                percentile of customer spend; Low-value at or below the 30th; else Mid-value
one-timers      median orders <= 1
loyal           median orders >= 3 and at or above the shop's 70th percentile of orders
repeat buyers   median orders >= 2 (not loyal)
bargain hunters median price level <= 0.35: the segment's typical item sits in the cheapest
                35 % of the shop's items of the same category (:mod:`~shopseg.profile.price`)
premium buyers  median price level >= 0.65
traits          a feature that sets the segment apart (|Cohen's d| >= 0.5 strong, >= 0.3
                weak) *and* agrees with the shop-wide reference: a share (returns, night
                orders, a category ...) >= 1.5 x the shop's mean share and >= 0.03 above
                it ("night owls"), or <= 0.67 x and >= 0.03 below ("rarely at night"); any
                other feature's segment median at or above the shop's 65th percentile
                ("high age") or at or below the 35th ("low age")
<cat> lovers    the category's lift (segment share of spend / shop share) >= 1.3
=============== ==========================================================================

Gaps are customers' mean days between consecutive orders (``interpurchase_mean``) among
customers with two or more orders. Percentiles are mid-rank (ties count half), so a value
shared by many customers sits in the middle of its tie. Each evaluated rule is kept as a
:class:`Rule` with the values it read and the thresholds it compared them with; profiles.json
records them under ``naming.rules`` so a reader can check every word of a name.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from shopseg.features.categories import _column_name as category_column_name
from shopseg.profile.evidence import FeatureContrast, SegmentEvidence
from shopseg.profile.price import PRICE_LEVEL

RECENCY, FREQUENCY, SPEND, TENURE, GAP = (
    "recency_days",
    "frequency",
    "monetary_total",
    "tenure_days",
    "interpurchase_mean",
)

#: Value and loyalty features: they speak through the core rules, never as traits.
VALUE_FEATURES = frozenset(
    {RECENCY, FREQUENCY, SPEND, "monetary_mean", TENURE, GAP, "interpurchase_std", "recency_gaps", PRICE_LEVEL}
)

#: feature -> (phrase when high, phrase when low); features not listed use their name.
TRAITS: dict[str, tuple[str, str]] = {
    "return_rate": ("frequent returners", "rarely return"),
    "return_value": ("high returns", "low returns"),
    "items_per_order": ("big baskets", "small baskets"),
    "distinct_products": ("wide range", "narrow range"),
    "weekend_share": ("weekend shoppers", "weekday shoppers"),
    "hour_share_night": ("night owls", "rarely at night"),
    "hour_share_morning": ("morning shoppers", "rarely in the morning"),
    "hour_share_afternoon": ("afternoon shoppers", "rarely in the afternoon"),
    "hour_share_evening": ("evening shoppers", "rarely in the evening"),
    "review_count": ("active reviewers", "silent"),
    "rating_mean": ("happy reviewers", "unhappy reviewers"),
    "view_count": ("heavy browsers", "light browsers"),
    "cart_to_view": ("decisive", "window shoppers"),
}


@dataclass(frozen=True)
class NamingThresholds:
    """Every number the naming rules compare with (see the module docstring)."""

    lapsed_gap_multiple: float = 3.0
    lapsed_shop_gap_quantile: float = 0.75
    active_shop_gap_quantile: float = 0.5
    new_tenure_quantile: float = 0.25
    high_value_percentile: float = 0.70
    low_value_percentile: float = 0.30
    loyal_percentile: float = 0.70
    loyal_min_orders: float = 3.0
    bargain_level: float = 0.35
    premium_level: float = 0.65
    strong_effect: float = 0.5
    weak_effect: float = 0.3
    share_ratio_high: float = 1.5
    share_ratio_low: float = 0.67
    share_min_difference: float = 0.03
    level_percentile_high: float = 0.65
    level_percentile_low: float = 0.35
    category_lift: float = 1.3
    #: A segment's own gap is used for "Lapsed" when at least this share of it ordered twice.
    own_gap_min_repeat_share: float = 0.5

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


def _round(value: float | None, digits: int = 4) -> float | None:
    return None if value is None or not np.isfinite(value) else round(float(value), digits)


@dataclass
class Rule:
    """One evaluated rule: the word it gives, whether it fired, and the numbers it compared."""

    rule: str
    word: str | None
    fired: bool
    values: dict[str, Any]
    thresholds: dict[str, Any]
    reason: str
    #: What the word claims, for validating other namers (e.g. "lapsed", "trait:return_rate:high").
    claim: str | None = None
    feature: str | None = None
    strength: float = 0.0
    tier: str | None = None

    def as_dict(self) -> dict[str, Any]:
        data = {k: v for k, v in asdict(self).items() if v is not None and k != "strength"}
        data["values"] = {k: (_round(v) if isinstance(v, float) else v) for k, v in self.values.items()}
        data["thresholds"] = {k: (_round(v) if isinstance(v, float) else v) for k, v in self.thresholds.items()}
        return data


@dataclass
class SegmentRules:
    """Every rule evaluated for one segment, and the words that fired."""

    segment_id: int
    rules: list[Rule] = field(default_factory=list)

    def fired(self, rule: str) -> Rule | None:
        return next((r for r in self.rules if r.rule == rule and r.fired), None)

    @property
    def base_words(self) -> list[str]:
        """Recency, value and loyalty words, in that order ("Lapsed", "low-value", "one-timers")."""
        words = []
        for family in (("lapsed", "new", "active"), ("value",), ("frequency",)):
            rule = next((r for r in self.rules if r.rule in family and r.fired), None)
            if rule is not None and rule.word:
                words.append(rule.word)
        return words

    @property
    def has_value_rules(self) -> bool:
        return any(r.rule == "value" for r in self.rules)

    def traits(self, tier: str) -> list[str]:
        """Trait phrases of one tier ("strong", "taste", "weak"), strongest first."""
        chosen = [r for r in self.rules if r.fired and r.word and r.tier == tier]
        return [r.word for r in sorted(chosen, key=lambda r: -r.strength)]

    @property
    def claims(self) -> list[str]:
        """Every claim the evidence supports (fired rules), for validating names from elsewhere."""
        return sorted({r.claim for r in self.rules if r.fired and r.claim})

    def record(self, reference: ShopReference, thresholds: NamingThresholds) -> dict[str, Any]:
        """What profiles.json keeps under ``naming``: the rules, the shop's reference values and thresholds."""
        return {
            "method": "rules",
            "rules": [r.as_dict() for r in self.rules],
            "claims": self.claims,
            "reference": reference.as_dict(),
            "thresholds": thresholds.as_dict(),
        }


@dataclass
class ShopReference:
    """Shop-wide reference values the rules compare a segment with (every customer counts)."""

    sorted_values: dict[str, np.ndarray]
    means: dict[str, float]
    gap_p50: float | None = None
    gap_p75: float | None = None
    recency_p50: float | None = None
    tenure_p25: float | None = None
    repeat_customers: int = 0
    customers: int = 0

    @classmethod
    def from_features(
        cls, features: pd.DataFrame, thresholds: NamingThresholds, price_level: pd.Series | None = None
    ) -> ShopReference:
        frame = features.select_dtypes("number")
        sorted_values = {c: np.sort(frame[c].dropna().to_numpy(dtype="float64")) for c in frame.columns}
        means = {c: float(frame[c].mean()) for c in frame.columns}
        if price_level is not None and len(price_level):
            level = price_level.reindex(features.index).dropna().to_numpy(dtype="float64")
            sorted_values[PRICE_LEVEL] = np.sort(level)
        reference = cls(sorted_values=sorted_values, means=means, customers=len(features))
        if RECENCY in frame:
            reference.recency_p50 = float(frame[RECENCY].median())
        if TENURE in frame:
            reference.tenure_p25 = float(frame[TENURE].quantile(thresholds.new_tenure_quantile))
        if FREQUENCY in frame and GAP in frame:
            gaps = frame.loc[frame[FREQUENCY] >= 2, GAP]
            reference.repeat_customers = len(gaps)
            if len(gaps):
                reference.gap_p50 = float(gaps.quantile(thresholds.active_shop_gap_quantile))
                reference.gap_p75 = float(gaps.quantile(thresholds.lapsed_shop_gap_quantile))
        return reference

    def percentile(self, feature: str, value: float) -> float | None:
        """Mid-rank percentile of ``value`` among the shop's customers (None without data)."""
        values = self.sorted_values.get(feature)
        if values is None or not len(values) or not np.isfinite(value):
            return None
        below = np.searchsorted(values, value, side="left")
        at_or_below = np.searchsorted(values, value, side="right")
        return float((below + at_or_below) / 2 / len(values))

    def quantile(self, feature: str, q: float) -> float | None:
        values = self.sorted_values.get(feature)
        return float(np.quantile(values, q)) if values is not None and len(values) else None

    def as_dict(self) -> dict[str, Any]:
        """The reference values a reader needs to audit the rules (rounded)."""
        data: dict[str, Any] = {
            "customers": self.customers,
            "repeat_customers": self.repeat_customers,
            "gap_p50_days": _round(self.gap_p50, 2),
            "gap_p75_days": _round(self.gap_p75, 2),
            "recency_p50_days": _round(self.recency_p50, 2),
            "tenure_p25_days": _round(self.tenure_p25, 2),
        }
        for feature, q in ((SPEND, 0.3), (SPEND, 0.5), (SPEND, 0.7), (FREQUENCY, 0.5), (FREQUENCY, 0.7)):
            value = self.quantile(feature, q)
            if value is not None:
                data[f"{feature}_p{round(q * 100)}"] = _round(value, 2)
        return {k: v for k, v in data.items() if v is not None}


@dataclass
class SegmentFacts:
    """What the rules read about one segment beyond its evidence: own gaps and price level."""

    repeat_share: float
    own_gap_median: float | None
    price_level: float | None
    #: Cohen's d of the customers' price level, segment vs the rest (orders traits by strength).
    price_effect: float = 0.0


def segment_facts(features: pd.DataFrame, labels: np.ndarray, price_level: pd.Series | None) -> dict[int, SegmentFacts]:
    """Per segment: share of repeat buyers, their median own gap, and the median price level (vectorised)."""
    segment = pd.Series(np.asarray(labels), index=features.index)
    facts: dict[int, SegmentFacts] = {}
    if FREQUENCY in features and GAP in features:
        repeat = features[FREQUENCY] >= 2
        repeat_share = repeat.groupby(segment).mean()
        own_gap = features.loc[repeat, GAP].groupby(segment[repeat]).median()
    else:
        repeat_share, own_gap = pd.Series(dtype="float64"), pd.Series(dtype="float64")
    levels = price_level.reindex(features.index) if price_level is not None and len(price_level) else None
    level = levels.groupby(segment).median() if levels is not None else pd.Series(dtype="float64")
    for value in np.unique(segment.to_numpy()):
        key = int(value)
        gap = own_gap.get(value)
        price = level.get(value)
        facts[key] = SegmentFacts(
            repeat_share=float(repeat_share.get(value, 0.0)),
            own_gap_median=float(gap) if gap is not None and pd.notna(gap) else None,
            price_level=float(price) if price is not None and pd.notna(price) else None,
            price_effect=_effect(levels, segment == value) if levels is not None else 0.0,
        )
    return facts


def _effect(values: pd.Series, inside: pd.Series) -> float:
    """Cohen's d of ``values`` inside vs outside a segment (0 when either side is too small)."""
    a, b = values[inside].dropna(), values[~inside].dropna()
    if len(a) < 2 or len(b) < 2:
        return 0.0
    pooled = np.sqrt(((len(a) - 1) * a.var() + (len(b) - 1) * b.var()) / (len(a) + len(b) - 2))
    return float((a.mean() - b.mean()) / pooled) if pooled > 1e-12 else 0.0


# --- the rules ------------------------------------------------------------------------------


def recency_rules(
    medians: dict[str, float], facts: SegmentFacts, reference: ShopReference, t: NamingThresholds
) -> list[Rule]:
    """Lapsed, New and Active (at most one fires: they exclude each other by construction)."""
    if RECENCY not in medians:
        return []
    recency = medians[RECENCY]
    if reference.gap_p75 is None:
        reason = "no customer of the shop ordered twice: no gap between orders to compare with"
        return [Rule(name, None, False, {"median_recency_days": recency}, {}, reason) for name in ("lapsed", "active")]
    use_own = facts.own_gap_median is not None and facts.repeat_share >= t.own_gap_min_repeat_share
    own_limit = t.lapsed_gap_multiple * facts.own_gap_median if use_own else None
    lapsed = recency > reference.gap_p75 and (own_limit is None or recency > own_limit)
    own_text = (
        f"{t.lapsed_gap_multiple:g} x own median gap {facts.own_gap_median:.0f} = {own_limit:.0f}"
        if use_own
        else f"own gap not used: {facts.repeat_share:.0%} ordered twice (< {t.own_gap_min_repeat_share:.0%})"
    )
    rules = [
        Rule(
            "lapsed",
            "Lapsed",
            lapsed,
            {
                "median_recency_days": recency,
                "median_own_gap_days": facts.own_gap_median,
                "repeat_buyer_share": facts.repeat_share,
            },
            {
                "shop_gap_p75_days": reference.gap_p75,
                "own_gap_multiple": t.lapsed_gap_multiple if use_own else None,
                "own_gap_limit_days": own_limit,
            },
            f"median days since last order {recency:.0f} {'>' if lapsed else 'not >'} shop's p75 gap "
            f"{reference.gap_p75:.0f} and {own_text}",
            claim="lapsed",
        )
    ]
    tenure = medians.get(TENURE)
    if tenure is not None and reference.tenure_p25 is not None:
        limit = min(reference.tenure_p25, reference.gap_p75)
        new = not lapsed and tenure <= limit
        rules.append(
            Rule(
                "new",
                "New",
                new,
                {"median_tenure_days": tenure},
                {"shop_tenure_p25_days": reference.tenure_p25, "shop_gap_p75_days": reference.gap_p75},
                f"median days since first order {tenure:.0f} {'<=' if new else 'not <='} {limit:.0f} "
                "(the shop's p25 tenure and p75 gap)",
                claim="new",
            )
        )
    active_limit = min(reference.gap_p50 or 0.0, reference.recency_p50 if reference.recency_p50 is not None else 0.0)
    active = not lapsed and not any(r.fired for r in rules) and recency <= active_limit
    rules.append(
        Rule(
            "active",
            "Active",
            active,
            {"median_recency_days": recency},
            {"shop_gap_p50_days": reference.gap_p50, "shop_recency_p50_days": reference.recency_p50},
            f"median days since last order {recency:.0f} {'<=' if active else 'not <='} {active_limit:.0f} "
            "(the shop's median gap and median days since last order)",
            claim="active",
        )
    )
    return rules


def value_rule(medians: dict[str, float], reference: ShopReference, t: NamingThresholds) -> list[Rule]:
    """High-, mid- or low-value from where the segment's median spend sits among all customers."""
    if SPEND not in medians:
        return []
    spend = medians[SPEND]
    percentile = reference.percentile(SPEND, spend)
    if percentile is None:
        return []
    if percentile >= t.high_value_percentile:
        word, claim = "high-value", "high-value"
    elif percentile <= t.low_value_percentile:
        word, claim = "low-value", "low-value"
    else:
        word, claim = "mid-value", "mid-value"
    return [
        Rule(
            "value",
            word,
            True,
            {"median_spend": spend, "spend_percentile": percentile},
            {"high_value_percentile": t.high_value_percentile, "low_value_percentile": t.low_value_percentile},
            f"median total spend {spend:,.2f} is at the shop's {percentile:.0%} percentile",
            claim=claim,
        )
    ]


def frequency_rule(medians: dict[str, float], reference: ShopReference, t: NamingThresholds) -> list[Rule]:
    """one-timers, loyal or repeat buyers from the segment's median number of orders."""
    if FREQUENCY not in medians:
        return []
    orders = medians[FREQUENCY]
    percentile = reference.percentile(FREQUENCY, orders)
    values = {"median_orders": orders, "orders_percentile": percentile}
    thresholds = {"loyal_percentile": t.loyal_percentile, "loyal_min_orders": t.loyal_min_orders}
    if orders <= 1:
        word, reason = "one-timers", f"median orders {orders:g} <= 1"
    elif orders >= t.loyal_min_orders and percentile is not None and percentile >= t.loyal_percentile:
        word, reason = "loyal", f"median orders {orders:g} >= {t.loyal_min_orders:g}, at the shop's {percentile:.0%}"
    elif orders >= 2:
        word, reason = "repeat buyers", f"median orders {orders:g} >= 2, not loyal"
    else:
        return [Rule("frequency", None, False, values, thresholds, f"median orders {orders:g}: between one and two")]
    return [Rule("frequency", word, True, values, thresholds, reason, claim=word)]


def price_rule(facts: SegmentFacts, t: NamingThresholds) -> list[Rule]:
    """bargain hunters / premium buyers from the segment's median price level."""
    level = facts.price_level
    if level is None:
        return []
    bargain, premium = level <= t.bargain_level, level >= t.premium_level
    word = "bargain hunters" if bargain else "premium buyers" if premium else None
    return [
        Rule(
            "price",
            word,
            bargain or premium,
            {"median_price_level": level, "effect": facts.price_effect},
            {"bargain_level": t.bargain_level, "premium_level": t.premium_level},
            f"the typical item bought sits at the {level:.0%} percentile of the shop's prices in its category",
            claim="bargain" if bargain else "premium" if premium else None,
            strength=abs(facts.price_effect),
            tier="strong" if abs(facts.price_effect) >= t.strong_effect else "weak",
        )
    ]


def trait_phrase(contrast: FeatureContrast) -> str:
    """A few words for one distinguishing feature, e.g. "night owls" or "high age"."""
    high = contrast.effect > 0
    feature = contrast.feature
    if feature in TRAITS:
        return TRAITS[feature][0 if high else 1]
    if feature.startswith("category_share_"):
        category = feature.removeprefix("category_share_").replace("_", " ")
        return f"{category} lovers" if high else f"little {category}"
    if "=" in feature:
        column, level = feature.split("=", 1)
        return f"{column.replace('_', ' ')} {level}" if high else f"rarely {column.replace('_', ' ')} {level}"
    return f"{'high' if high else 'low'} {feature.replace('_', ' ')}"


def _is_share(reference: ShopReference, feature: str) -> bool:
    values = reference.sorted_values.get(feature)
    return values is not None and len(values) > 0 and values[0] >= 0.0 and values[-1] <= 1.0


def trait_rules(evidence: SegmentEvidence, reference: ShopReference, t: NamingThresholds) -> list[Rule]:
    """A rule per distinguishing feature (not value ones): effect size and the shop-wide check must agree."""
    rules = []
    for contrast in evidence.distinguishing:
        if contrast.feature in VALUE_FEATURES or abs(contrast.effect) < t.weak_effect:
            continue
        high = contrast.effect > 0
        tier = "strong" if abs(contrast.effect) >= t.strong_effect else "weak"
        feature = contrast.feature
        if _is_share(reference, feature):
            shop = reference.means.get(feature, 0.0)
            mean = evidence.means.get(feature, contrast.mean)
            ratio = mean / shop if shop > 0 else float("inf")
            if high:
                agrees = ratio >= t.share_ratio_high and mean - shop >= t.share_min_difference
            else:
                agrees = ratio <= t.share_ratio_low and shop - mean >= t.share_min_difference
            values = {"segment_mean": mean, "shop_mean": shop, "ratio": ratio, "effect": contrast.effect}
            thresholds = {
                "ratio": t.share_ratio_high if high else t.share_ratio_low,
                "min_difference": t.share_min_difference,
                "min_effect": t.strong_effect if tier == "strong" else t.weak_effect,
            }
            reason = f"mean {mean:.3f} vs shop {shop:.3f} ({ratio:.2f}x), d = {contrast.effect:+.2f}"
        else:
            median = evidence.medians.get(feature, contrast.median)
            percentile = reference.percentile(feature, median)
            agrees = percentile is not None and (
                percentile >= t.level_percentile_high if high else percentile <= t.level_percentile_low
            )
            values = {"segment_median": median, "shop_percentile": percentile, "effect": contrast.effect}
            thresholds = {
                "percentile": t.level_percentile_high if high else t.level_percentile_low,
                "min_effect": t.strong_effect if tier == "strong" else t.weak_effect,
            }
            shown = f"{percentile:.0%}" if percentile is not None else "unknown"
            reason = f"median {median:.3g} at the shop's {shown} percentile, d = {contrast.effect:+.2f}"
        rules.append(
            Rule(
                "trait",
                trait_phrase(contrast),
                agrees,
                values,
                thresholds,
                reason,
                claim=f"trait:{feature}:{'high' if high else 'low'}",
                feature=feature,
                strength=abs(contrast.effect),
                tier=tier,
            )
        )
    return rules


def taste_rule(categories: list[dict], keywords: dict[str, list[dict]], t: NamingThresholds) -> list[Rule]:
    """ "<category> lovers" from category lift; else the two top purchase keywords (c-TF-IDF)."""
    if categories:
        top = categories[0]
        fired = top["lift"] >= t.category_lift
        rule = Rule(
            "category",
            f"{top['category']} lovers",
            fired,
            {"category": top["category"], "lift": top["lift"], "share_of_spend": top["share"]},
            {"lift": t.category_lift},
            f"{top['share']:.0%} of spend on {top['category']}, {top['lift']:.2f}x the shop's share",
            claim=f"category:{top['category']}",
            feature=category_column_name(str(top["category"])),
            strength=float(top["lift"]),
            tier="taste",
        )
        if fired:
            return [rule]
    terms = [k["term"] for k in keywords.get("purchases", [])[:2]]
    rules = [rule] if categories else []
    if terms:
        rules.append(
            Rule(
                "keywords",
                " ".join(terms),
                True,
                {"terms": terms},
                {},
                "the segment's top purchase keywords (c-TF-IDF of the titles it bought)",
                tier="taste",
            )
        )
    return rules


def evaluate_rules(
    features: pd.DataFrame,
    labels: np.ndarray,
    evidence: list[SegmentEvidence],
    *,
    price_level: pd.Series | None = None,
    categories: dict[int, list[dict]] | None = None,
    keywords: dict[int, dict[str, list[dict]]] | None = None,
    thresholds: NamingThresholds | None = None,
    reference: ShopReference | None = None,
) -> tuple[dict[int, SegmentRules], ShopReference]:
    """Every naming rule for every segment, and the shop reference they were measured against.

    ``features``: one row per customer (aligned with ``labels``); ``price_level``: from
    :func:`~shopseg.profile.price.customer_price_level`; ``categories`` / ``keywords``: per
    segment, from :mod:`~shopseg.profile.lift` / :mod:`~shopseg.profile.keywords`.
    """
    t = thresholds or NamingThresholds()
    reference = reference or ShopReference.from_features(features, t, price_level)
    facts = segment_facts(features, labels, price_level)
    categories, keywords = categories or {}, keywords or {}
    result: dict[int, SegmentRules] = {}
    for item in evidence:
        fact = facts.get(item.segment_id, SegmentFacts(0.0, None, None))
        rules = [
            *recency_rules(item.medians, fact, reference, t),
            *value_rule(item.medians, reference, t),
            *frequency_rule(item.medians, reference, t),
            *price_rule(fact, t),
            *trait_rules(item, reference, t),
            *taste_rule(categories.get(item.segment_id, []), keywords.get(item.segment_id, {}), t),
        ]
        _merge_category_traits(rules)
        result[item.segment_id] = SegmentRules(item.segment_id, rules)
    return result, reference


def _merge_category_traits(rules: list[Rule]) -> None:
    """A category both lifted and a strong feature trait is named once, by its real name, as strong as its d.

    The feature trait's slug ("home kitchen lovers") takes the category's words ("home &
    kitchen lovers"); the category rule stays in the record but gives no second word.
    """
    for category in (r for r in rules if r.rule == "category" and r.fired):
        trait = next((r for r in rules if r.rule == "trait" and r.fired and r.feature == category.feature), None)
        if trait is not None and trait.claim and trait.claim.endswith(":high"):
            trait.word = category.word
            category.tier = None


#: Words another namer (an LLM) may use, and the claim each needs from the rules; a word whose
#: claim did not fire for the segment contradicts the evidence. Any one claim of a tuple suffices.
CLAIM_WORDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (r"lapsed|dormant|inactive|churned|lost|sleeping|win-?back|gone quiet|former", ("lapsed",)),
    (r"active|engaged", ("active", "new")),
    (r"new|newcomers?|first[- ]time(?:rs)?|newly", ("new",)),
    (
        r"vips?|high[- ]value|big[- ]spenders?|top[- ]spenders?|high[- ]spenders?|whales?|most valuable|champions?",
        ("high-value",),
    ),
    (r"low[- ]value|low[- ]spenders?|small[- ]spenders?|light spenders?", ("low-value",)),
    (r"loyal(?:ists?|ty)?|devoted|regulars|frequent (?:buyers|shoppers)", ("loyal",)),
    (r"one[- ]tim(?:ers?|e)|one[- ]off|single[- ]purchase", ("one-timers",)),
    (
        r"bargains?|deal[- ]?(?:seekers?|hunters?)|discount(?: hunters?| seekers?| shoppers?)?|thrifty|budget",
        ("bargain",),
    ),
    (r"premium|luxury|upmarket|high[- ]end", ("premium",)),
    (r"(?:serial |frequent )?returners|high returns", ("trait:return_rate:high", "trait:return_value:high")),
    (r"night owls?|late[- ]night|nocturnal", ("trait:hour_share_night:high",)),
)
_CLAIM_PATTERNS = [(re.compile(rf"\b(?:{words})\b", re.IGNORECASE), needs) for words, needs in CLAIM_WORDS]


def contradicting_words(name: str, claims: list[str] | set[str]) -> list[str]:
    """Words of ``name`` that claim what the segment's fired rules do not support (empty: none)."""
    supported = set(claims)
    found = []
    for pattern, needs in _CLAIM_PATTERNS:
        for match in pattern.finditer(name):
            if not supported.intersection(needs):
                found.append(match.group(0))
    return found
