"""Personas and marketing playbooks written by rules from a segment's evidence.

Every claim cites evidence by key, so a reader (or a check) can trace it:

* ``feature:<name>``  a distinguishing feature (segment mean vs the rest, effect size d);
* ``category:<name>`` a category bought more than the shop does (lift);
* ``keyword:<term>``  a c-TF-IDF keyword of the segment's reviews or purchases;
* ``value:<metric>``  a value or risk figure (CLV, churn risk) when the value stage ran;
* ``rule:<claim>``    a naming rule that fired, with its values and thresholds
  (:mod:`shopseg.profile.rules`: ``rule:lapsed``, ``rule:high-value``, ``rule:bargain`` ...);
* ``size``            the segment's size and share.

Actions, in priority order, each chosen when its evidence holds. Value, recency and loyalty
are read from the same naming rules as the name, so the playbook never argues with it:

=================== ===================================================================
VIP care            high-value and not lapsed
win-back            lapsed, and not both low-value and a one-timer
reactivation offer  lapsed low-value one-timers (a cheap, automated nudge; do not overspend)
second-order offer  one-timers, not lapsed (turn first buyers into repeat ones)
retention           churn risk above the shop's by 0.1 or more, not yet lapsed (value stage)
returns review      return rate effect d >= 0.5 (sizing, descriptions, quality)
service follow-up   rating mean effect d <= -0.5 (unhappy reviewers)
cross-sell          a category with lift >= 1.3 (feature it; recommend its best-sellers)
send-time           an hour-band or weekend habit with d >= 0.5
review request      review count effect d >= 0.5 (advocates: ask for reviews, referrals)
=================== ===================================================================

At most four actions are kept, at least two where the evidence allows.
"""

from __future__ import annotations

from typing import Any

from shopseg.profile.rules import TRAITS

Evidence = dict[str, dict[str, Any]]

_HABIT_WORDS = {
    "hour_share_night": "at night",
    "hour_share_morning": "in the morning",
    "hour_share_afternoon": "in the afternoon",
    "hour_share_evening": "in the evening",
    "weekend_share": "at the weekend",
}


def build_evidence(profile: dict[str, Any]) -> Evidence:
    """Every citable fact of a profile, keyed as the module docstring says."""
    evidence: Evidence = {"size": {"customers": profile["size"], "share": profile["share"]}}
    for item in profile.get("distinguishing", []):
        evidence[f"feature:{item['feature']}"] = {
            "segment_mean": item["mean"],
            "rest_mean": item["mean_rest"],
            "effect": item["effect"],
        }
    for item in profile.get("top_categories", []):
        evidence[f"category:{item['category']}"] = {"share": item["share"], "lift": item["lift"]}
    for source, items in profile.get("keywords", {}).items():
        for item in items:
            evidence.setdefault(f"keyword:{item['term']}", {"source": source, "score": item["score"]})
    for metric, number in profile.get("value", {}).items():
        evidence[f"value:{metric}"] = {"value": number}
    for rule in profile.get("naming", {}).get("rules", []):
        if rule.get("fired") and rule.get("claim"):
            evidence[f"rule:{rule['claim']}"] = {
                "word": rule.get("word"),
                "values": rule.get("values", {}),
                "thresholds": rule.get("thresholds", {}),
            }
    return evidence


def _effect(evidence: Evidence, feature: str) -> float:
    return float(evidence.get(f"feature:{feature}", {}).get("effect", 0.0))


def playbook(profile: dict[str, Any], evidence: Evidence, shop_value: dict[str, float] | None = None) -> list[dict]:
    """2-4 actions with the evidence keys they rest on; see the module docstring."""
    claims = set(profile.get("naming", {}).get("claims", []))
    actions: list[dict] = []

    def add(action: str, why: str, keys: list[str]) -> None:
        keys = [k for k in keys if k in evidence] or ["size"]
        actions.append({"action": action, "why": why, "evidence": keys})

    lapsed = "lapsed" in claims
    value_keys = ["rule:high-value", "rule:lapsed", "rule:loyal", "feature:monetary_total", "feature:recency_days"]
    if "high-value" in claims and not lapsed:
        add("VIP care: early access, loyalty tier, personal service", "spends far above the shop", value_keys)
    if lapsed and not {"low-value", "one-timers"} <= claims:
        add("Win-back campaign with a personal offer", "valuable customers who stopped ordering", value_keys)
    elif lapsed:
        add("Low-cost automated reactivation email", "lapsed and low spend: nudge cheaply", value_keys)
    if "one-timers" in claims and not lapsed:
        add("Second-order incentive after the first purchase", "most bought only once", ["rule:one-timers"])
    churn = profile.get("value", {}).get("churn_risk_mean")
    not_lapsed = not lapsed
    if churn is not None and shop_value and not_lapsed and churn >= shop_value.get("churn_risk_mean", 1.0) + 0.1:
        add("Retention outreach before they lapse", "churn risk above the shop's", ["value:churn_risk_mean"])
    if _effect(evidence, "return_rate") >= 0.5:
        add("Review sizing, descriptions and quality of returned items", "returns far more", ["feature:return_rate"])
    if _effect(evidence, "rating_mean") <= -0.5:
        add("Service follow-up on low ratings", "unhappy reviewers", ["feature:rating_mean"])
    categories = [item for item in profile.get("top_categories", []) if item["lift"] >= 1.3]
    if categories:
        top = categories[0]["category"]
        add(f"Cross-sell and feature new {top} products", f"buys {top} more than the shop", [f"category:{top}"])
    habits = sorted(_HABIT_WORDS, key=lambda f: -_effect(evidence, f))
    if habits and _effect(evidence, habits[0]) >= 0.5:
        add(f"Send campaigns {_HABIT_WORDS[habits[0]]}", TRAITS[habits[0]][0], [f"feature:{habits[0]}"])
    if _effect(evidence, "review_count") >= 0.5:
        add("Ask for reviews and referrals", "writes many reviews", ["feature:review_count"])
    if len(actions) < 2:
        keywords = [k for k in evidence if k.startswith("keyword:")][:2]
        if keywords:
            words = ", ".join(k.split(":", 1)[1] for k in keywords)
            add(f"Content and ads around {words}", "what they buy and write about", keywords)
    return actions[:4]


def persona(profile: dict[str, Any], shop_medians: dict[str, float]) -> str:
    """One paragraph in plain words, built only from the profile's own numbers."""
    medians = profile.get("medians", {})
    sentences = [f"About {profile['share']:.0%} of customers ({profile['size']:,})."]
    if "recency_days" in medians and "frequency" in medians:
        orders = medians["frequency"]
        sentences.append(
            f"Typically they last ordered {medians['recency_days']:.0f} days ago "
            f"(shop: {shop_medians.get('recency_days', 0):.0f}), placed {orders:.0f} "
            f"order{'s' if orders != 1 else ''} and spent {medians.get('monetary_total', 0):,.2f} in total "
            f"(shop: {shop_medians.get('monetary_total', 0):,.2f})."
        )
    categories = profile.get("top_categories", [])
    if categories and categories[0]["lift"] >= 1.2:
        top = categories[0]
        sentences.append(
            f"They favour {top['category']} ({top['share']:.0%} of their spend, {top['lift']:.1f}x the shop)."
        )
    keywords = profile.get("keywords", {})
    words = [k["term"] for k in keywords.get("reviews", [])[:3]] or [
        k["term"] for k in keywords.get("purchases", [])[:3]
    ]
    if words:
        source = "write about" if keywords.get("reviews") else "buy"
        sentences.append(f"They {source}: {', '.join(words)}.")
    traits = [
        item for item in profile.get("distinguishing", []) if item["feature"] in TRAITS and abs(item["effect"]) >= 0.5
    ]
    if traits:
        item = traits[0]
        phrase = TRAITS[item["feature"]][0 if item["effect"] > 0 else 1]
        sentences.append(f"Notably: {phrase} ({item['feature']} {item['mean']:.2f} vs {item['mean_rest']:.2f}).")
    value = profile.get("value", {})
    if "clv_mean" in value:
        sentences.append(f"Predicted value {value['clv_mean']:,.2f} per customer over the horizon.")
    return " ".join(sentences)
