"""``profiles.md``: the segments as a readable summary a marketer can paste into a deck."""

from __future__ import annotations

from typing import Any

#: Feature names in words, for tables a person reads.
LABELS = {
    "recency_days": "days since last order",
    "frequency": "orders",
    "monetary_total": "total spend",
    "monetary_mean": "mean order value",
    "tenure_days": "days since first order",
    "interpurchase_mean": "days between orders",
    "items_per_order": "items per order",
    "distinct_products": "distinct products",
    "return_rate": "share of lines returned",
    "weekend_share": "share of orders at weekends",
    "review_count": "reviews written",
    "rating_mean": "mean rating given",
}


def _md(text: object) -> str:
    """Text safe inside Markdown tables and emphasis: no pipes, no markup characters."""
    return str(text).replace("|", "/").replace("*", "").replace("_", " ").replace("<", "").replace(">", "")


def _comparisons(text: str) -> str:
    """Comparison signs as Markdown entities, so that :func:`_md` keeps them ("412 &gt; 85")."""
    return text.replace(">=", "≥").replace("<=", "≤").replace(">", "&gt;").replace("<", "&lt;")


def _code(text: object) -> str:
    """An evidence key as inline code (names keep their underscores)."""
    return "`" + str(text).replace("`", "'").replace("|", "/") + "`"


def _value_sentence(value: dict[str, float]) -> str:
    """The value stage's figures for a segment in one line."""
    parts = []
    if "clv_total" in value:
        parts.append(
            f"predicted value {value['clv_total']:,.0f} in total ({value.get('clv_share', 0):.0%} of the shop), "
            f"{value.get('clv_mean', 0):,.2f} per customer"
        )
    for key, label in (("churn_risk_mean", "churn risk"), ("p_alive_mean", "P(alive)")):
        if key in value:
            parts.append(f"{label} {value[key]:.0%}")
    if "expected_orders_total" in value:
        parts.append(f"{value['expected_orders_total']:,.0f} orders expected over the horizon")
    return "; ".join(parts) + "."


def _best_seller(product: dict[str, Any]) -> str:
    """A best seller as "title (31% of the segment, 2.4x)"; counts are absent in private runs."""
    name = _md(product.get("title") or product["product_id"])
    facts = []
    if product.get("share") is not None:
        facts.append(f"{product['share']:.0%} of the segment")
    if product.get("lift") is not None:
        facts.append(f"{product['lift']:.1f}x")
    return f"{name} ({', '.join(facts)})" if facts else name


def _label(feature: str) -> str:
    return LABELS.get(feature, feature.replace("_", " "))


def render_profiles_markdown(profiles: list[dict[str, Any]], title: str = "Customer segments") -> str:
    """The whole summary as Markdown."""
    lines = [f"# {title}", "", "| segment | customers | share |", "|---|---:|---:|"]
    for p in profiles:
        lines.append(f"| {_md(p['name'])} | {p['size']:,} | {p['share']:.1%} |")
    for p in profiles:
        lines += ["", f"## {_md(p['name'])}", "", _md(p["persona"]), ""]
        key = [
            c
            for c in ("recency_days", "frequency", "monetary_total", "monetary_mean", "return_rate")
            if c in p["medians"]
        ]
        if key:
            lines += ["| measure | segment median | segment mean |", "|---|---:|---:|"]
            lines += [f"| {_label(c)} | {p['medians'][c]:,.2f} | {p['means'][c]:,.2f} |" for c in key]
            lines.append("")
        if p["distinguishing"]:
            lines.append("**What sets them apart** (mean here vs everyone else; d = standardized difference):")
            lines += [
                f"- {_label(d['feature'])}: {d['mean']:,.2f} vs {d['mean_rest']:,.2f} (d = {d['effect']:+.2f})"
                for d in p["distinguishing"][:5]
            ]
            lines.append("")
        above = [c for c in p.get("top_categories", []) if c["lift"] > 1.05][:3]
        if above:
            shown = ", ".join(f"{_md(c['category'])} ({c['lift']:.1f}x)" for c in above)
            lines += [f"**Buys more than the shop:** {shown}", ""]
        if p.get("top_products"):
            shown = ", ".join(_md(t["title"] or t["product_id"]) for t in p["top_products"][:3])
            lines += [f"**Typical products:** {shown}", ""]
        if p.get("best_sellers"):  # added by the recommend step
            shown = ", ".join(_best_seller(t) for t in p["best_sellers"][:5])
            lines += [f"**Best sellers in the segment:** {shown}", ""]
        for source, label in (("reviews", "Review keywords"), ("purchases", "Purchase keywords")):
            terms = p.get("keywords", {}).get(source)
            if terms:
                lines += [f"**{label}:** {', '.join(_md(t['term']) for t in terms[:8])}", ""]
        if p.get("value"):
            lines += [f"**Value and risk:** {_value_sentence(p['value'])}", ""]
        if p.get("children"):
            lines.append("**Sub-segments:**")
            lines += [
                f"- {_md(c['sub_segment_id'])} {_md(c['name'])}: {c['size']:,} customers "
                f"({c['share_of_parent']:.0%} of the segment)"
                for c in p["children"]
            ]
            lines.append("")
        if p["playbook"]:
            lines.append("**Playbook:**")
            lines += [
                f"{i}. {_md(a['action'])}: {_md(a['why'])} (evidence: {', '.join(_code(e) for e in a['evidence'])})"
                for i, a in enumerate(p["playbook"], start=1)
            ]
        naming = p.get("naming", {})
        fired = [r for r in naming.get("rules", []) if r.get("fired") and r.get("word") and r.get("tier") != "weak"]
        if fired:
            lines += ["", "**Why this name** (rules against the whole shop, see naming in profiles.json):"]
            lines += [f"- {_md(r['word'])}: {_md(_comparisons(r['reason']))}" for r in fired]
        if naming.get("method") == "llm":
            lines += ["", f"_Name and persona written by {_md(naming.get('model', 'an LLM'))} from these aggregates._"]
    return "\n".join(lines) + "\n"
