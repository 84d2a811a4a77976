"""Readable, unique segment names built by rules from a segment's evidence.

With order history the name says value, loyalty and recency in a marketer's words,
from the segment's mean percentile ranks:

* recency rank >= 0.65 -> "Lapsed", <= 0.35 -> "Active";
* spend rank >= 0.65 -> "high-value", <= 0.35 -> "low-value", else "mid-value";
* median orders == 1 -> "one-timers", frequency rank >= 0.65 -> "loyal", else
  "repeat buyers";

then the strongest non-value trait (returns, time habits, a category, basket size,
reviews) is added after a dot when it is clearly distinctive (|d| >= 0.5), e.g.
"Lapsed low-value one-timers · frequent returners". Without orders (a customer table)
the name is the two strongest traits. Repeated names get the next trait, then a number.
"""

from __future__ import annotations

from shopseg.profile.evidence import FeatureContrast, SegmentEvidence

_VALUE_FEATURES = {
    "recency_days",
    "frequency",
    "monetary_total",
    "monetary_mean",
    "tenure_days",
    "interpurchase_mean",
    "interpurchase_std",
    "recency_gaps",
}

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


def _value_name(evidence: SegmentEvidence) -> str | None:
    ranks = evidence.ranks
    if "monetary_total" not in ranks or "recency_days" not in ranks:
        return None
    words = []
    if ranks["recency_days"] >= 0.65:
        words.append("Lapsed")
    elif ranks["recency_days"] <= 0.35:
        words.append("Active")
    spend = ranks["monetary_total"]
    words.append("high-value" if spend >= 0.65 else "low-value" if spend <= 0.35 else "mid-value")
    if evidence.medians.get("frequency", 0) <= 1:
        words.append("one-timers")
    elif ranks.get("frequency", 0) >= 0.65:
        words.append("loyal")
    else:
        words.append("repeat buyers")
    name = " ".join(words)
    return name[0].upper() + name[1:]


def _traits(evidence: SegmentEvidence, min_effect: float) -> list[str]:
    return [
        trait_phrase(c)
        for c in evidence.distinguishing
        if c.feature not in _VALUE_FEATURES and abs(c.effect) >= min_effect
    ]


def name_segments(
    evidence: list[SegmentEvidence], min_effect: float = 0.5, taste: dict[int, str | None] | None = None
) -> dict[int, str]:
    """A unique name per segment id.

    ``taste`` (segment id -> a phrase such as "outdoor lovers", from category lift or
    purchase keywords) names what a segment buys when no feature trait is strong.
    """
    taste = taste or {}
    names: dict[int, str] = {}
    candidates: dict[int, list[str]] = {}
    for item in evidence:
        base = _value_name(item)
        strong, any_trait = _traits(item, min_effect), _traits(item, 0.0)
        phrase = taste.get(item.segment_id)
        if phrase and phrase not in strong:  # a strong behaviour trait names first, taste next
            strong = [*strong, phrase]
            any_trait = [*strong, *[t for t in any_trait if t not in strong]]
        if base is None:
            options = [" · ".join(any_trait[:k]).capitalize() for k in (2, 3) if len(any_trait) >= k]
            options = options or [any_trait[0].capitalize() if any_trait else "All customers"]
        else:
            options = [f"{base} · {strong[0]}" if strong else base]
            options += [f"{base} · {' · '.join(any_trait[:k])}" for k in (1, 2, 3) if len(any_trait) >= k]
        candidates[item.segment_id] = list(dict.fromkeys(options))
        names[item.segment_id] = options[0]
    # Resolve clashes: longer options first, then a number.
    for _ in range(3):
        clashes = _clashing(names)
        if not clashes:
            break
        for segment in clashes:
            options = candidates[segment]
            position = options.index(names[segment]) if names[segment] in options else 0
            if position + 1 < len(options):
                names[segment] = options[position + 1]
    seen: dict[str, int] = {}
    for segment in sorted(names):
        name = names[segment]
        seen[name] = seen.get(name, 0) + 1
        if seen[name] > 1:
            names[segment] = f"{name} ({seen[name]})"
    return names


def _clashing(names: dict[int, str]) -> list[int]:
    counts: dict[str, int] = {}
    for name in names.values():
        counts[name] = counts.get(name, 0) + 1
    return [segment for segment, name in names.items() if counts[name] > 1]
