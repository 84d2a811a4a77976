"""Segment profiles: evidence, name, persona and playbook of every segment, as plain data.

``profile_segments`` gathers what is measured about each segment (feature contrasts,
categories and products by lift, c-TF-IDF keywords of reviews and purchases,
representative customers, value and risk when available), names the segments by rules,
and writes a persona and a playbook whose every action cites its evidence keys. A
profile is one entry of ``profiles.json``; its schema is :class:`SegmentProfile`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from shopseg import schema as s
from shopseg.profile.evidence import segment_evidence
from shopseg.profile.keywords import ctfidf_keywords
from shopseg.profile.lift import category_lift, product_lift
from shopseg.profile.naming import name_segments
from shopseg.profile.playbook import build_evidence, persona, playbook
from shopseg.profile.price import customer_price_level
from shopseg.profile.representatives import representatives
from shopseg.profile.rules import NamingThresholds, evaluate_rules
from shopseg.shop import Shop
from shopseg.value import segment_value_summary


@dataclass
class SegmentProfile:
    """One segment (the schema of an entry in ``profiles.json``).

    * ``means`` / ``medians``: every feature in the segment;
    * ``ranks``: the segment's mean percentile rank per feature (0..1; 0.5 = typical);
    * ``distinguishing``: features with |effect| >= 0.3, strongest first
      (``feature, mean, median, mean_rest, effect`` = Cohen's d against the rest);
    * ``top_categories`` (``category, share, lift``), ``top_products``
      (``product_id, title, buyers, share, lift``);
    * ``keywords``: ``{"reviews": [...], "purchases": [...]}`` of ``{term, score}``;
    * ``representatives``: customer ids nearest the segment centre;
    * ``value``: totals and means of CLV / churn risk when the value stage ran;
    * ``evidence``: every citable fact by key (see :mod:`shopseg.profile.playbook`);
    * ``persona``, ``playbook`` (``action, why, evidence``), ``naming`` (how the name
      was made: ``{"method": "rules" | "llm", ...}``; with rules, every rule evaluated with
      the values and thresholds it compared, ``claims`` (what the fired rules support), the
      shop's ``reference`` values and the ``thresholds``: see :mod:`shopseg.profile.rules`);
    * ``stability``: bootstrap Jaccard and the stable/unstable flag;
    * ``children``: sub-segments when two-level segmentation split this segment
      (``sub_segment_id`` like ``"2.1"``, ``name``, ``size``, ``share_of_parent``,
      ``distinguishing`` against the siblings).
    """

    segment_id: int
    name: str
    size: int
    share: float
    means: dict[str, float]
    medians: dict[str, float]
    distinguishing: list[dict[str, Any]]
    ranks: dict[str, float] = field(default_factory=dict)
    top_categories: list[dict[str, Any]] = field(default_factory=list)
    top_products: list[dict[str, Any]] = field(default_factory=list)
    keywords: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    representatives: list[str] = field(default_factory=list)
    value: dict[str, float] = field(default_factory=dict)
    evidence: dict[str, dict[str, Any]] = field(default_factory=dict)
    persona: str = ""
    playbook: list[dict[str, Any]] = field(default_factory=list)
    naming: dict[str, Any] = field(default_factory=lambda: {"method": "rules"})
    stability: dict[str, Any] = field(default_factory=dict)
    children: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _round(mapping: dict[str, float]) -> dict[str, float]:
    return {k: round(float(v), 6) for k, v in mapping.items()}


def _text_keywords(shop: Shop | None, segment_of: pd.Series) -> dict[int, dict[str, list[dict]]]:
    """c-TF-IDF keywords of each segment's reviews and of the titles of what it bought."""
    found: dict[int, dict[str, list[dict]]] = {}
    if shop is None:
        return found
    sources: dict[str, tuple[pd.Series, pd.Series]] = {}
    if shop.reviews is not None and s.TEXT in shop.reviews:
        reviews = shop.reviews[shop.reviews[s.CUSTOMER_ID].isin(segment_of.index)]
        sources["reviews"] = (reviews[s.TEXT], reviews[s.CUSTOMER_ID].map(segment_of))
    if (
        shop.orders is not None
        and shop.products is not None
        and s.TITLE in shop.products
        and s.PRODUCT_ID in shop.orders
    ):
        lines = shop.orders.loc[~shop.orders[s.IS_RETURN], [s.CUSTOMER_ID, s.PRODUCT_ID]]
        titles = lines[s.PRODUCT_ID].map(shop.products.set_index(s.PRODUCT_ID)[s.TITLE])
        sources["purchases"] = (titles, lines[s.CUSTOMER_ID].map(segment_of))
    for source, (texts, segments) in sources.items():
        for segment, terms in ctfidf_keywords(texts, segments).items():
            found.setdefault(segment, {})[source] = terms
    return found


def profile_segments(
    features: pd.DataFrame,
    labels: np.ndarray,
    contrast_columns: list[str],
    *,
    shop: Shop | None = None,
    matrix: np.ndarray | None = None,
    value: pd.DataFrame | None = None,
    thresholds: NamingThresholds | None = None,
) -> list[SegmentProfile]:
    """Profiles of every segment, ordered by segment id.

    ``features`` has one row per customer (index ``customer_id``) aligned with ``labels``;
    ``shop`` adds categories, products and keywords; ``matrix`` (the clustered
    representation) adds representative customers; ``value`` (index ``customer_id``,
    numeric columns such as ``clv`` and ``churn_risk``) adds value and risk; ``thresholds``
    tunes the naming rules (:class:`~shopseg.profile.rules.NamingThresholds`).
    """
    evidence = segment_evidence(features, labels, contrast_columns)
    segment_of = pd.Series(np.asarray(labels), index=features.index)
    orders = shop.orders if shop is not None else None
    products = shop.products if shop is not None else None
    categories = category_lift(orders, products, segment_of) if orders is not None else {}
    top_products = product_lift(orders, products, segment_of) if orders is not None else {}
    keywords = _text_keywords(shop, segment_of)
    reps = representatives(matrix, np.asarray(labels), features.index.to_numpy()) if matrix is not None else {}
    values = _value_summary(value, segment_of) if value is not None and not value.empty else {}
    thresholds = thresholds or NamingThresholds()
    price_level = customer_price_level(orders, products) if orders is not None else None
    rules, reference = evaluate_rules(
        features,
        np.asarray(labels),
        evidence,
        price_level=price_level,
        categories=categories,
        keywords=keywords,
        thresholds=thresholds,
    )
    names = name_segments(rules)
    shop_medians = features.median().to_dict()
    shop_value = _value_summary(value, pd.Series(0, index=segment_of.index)).get(0) if values else None
    profiles = []
    for item in evidence:
        profile = SegmentProfile(
            segment_id=item.segment_id,
            name=names[item.segment_id],
            size=item.size,
            share=item.share,
            means=_round(item.means),
            medians=_round(item.medians),
            ranks={k: round(v, 4) for k, v in item.ranks.items()},
            distinguishing=[
                {
                    "feature": c.feature,
                    "mean": round(c.mean, 6),
                    "median": round(c.median, 6),
                    "mean_rest": round(c.mean_rest, 6),
                    "effect": c.effect,
                }
                for c in item.distinguishing
            ],
            top_categories=categories.get(item.segment_id, []),
            top_products=top_products.get(item.segment_id, []),
            keywords=keywords.get(item.segment_id, {}),
            representatives=reps.get(item.segment_id, []),
            value=values.get(item.segment_id, {}),
            naming=rules[item.segment_id].record(reference, thresholds),
        )
        data = profile.as_dict()
        profile.evidence = build_evidence(data)
        profile.playbook = playbook(data, profile.evidence, shop_value)
        profile.persona = persona(data, shop_medians)
        profiles.append(profile)
    return profiles


def _value_summary(value: pd.DataFrame, segment_of: pd.Series) -> dict[int, dict[str, float]]:
    """Per segment: CLV totals/means/share, churn risk and P(alive) means (from the value stage)."""
    summary = segment_value_summary(value, segment_of)
    return {
        int(segment): {k: round(float(v), 6) for k, v in row.items() if k != "customers"}
        for segment, row in summary.iterrows()
    }
