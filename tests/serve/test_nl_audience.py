"""Natural-language audiences: the filters read from a sentence, and what is left as taste."""

from __future__ import annotations

import pytest

from shopseg.serve.nl_audience import parse_audience

NAMES = {
    0: "Lapsed low-value one-timers · narrow range",
    1: "Mid-value repeat buyers · beauty lovers",
    2: "Outdoor fans",
}


@pytest.mark.parametrize(
    ("text", "filters", "taste"),
    [
        (
            "eco-conscious outdoor buyers who have not ordered in 3 months",
            {"recency_min_days": 90},
            "eco-conscious outdoor",
        ),
        ("customers who haven't bought anything for six weeks", {"recency_min_days": 42}, None),
        ("no orders in the last year", {"recency_min_days": 365}, None),
        ("last ordered more than 2 years ago", {"recency_min_days": 730}, None),
        ("who ordered in the last 30 days", {"recency_max_days": 30}, None),
        ("recent buyers of kitchen gadgets", {"recency_max_days": 30}, "kitchen gadgets"),
        ("high value customers", {"clv_top_share": 0.2}, None),
        ("top 5% by value who love running shoes", {"clv_top_share": 0.05}, "running shoes"),
        ("low-value one-off shoppers", {"clv_bottom_share": 0.2}, "one-off"),
        ("clv over 1,000", {"clv_min": 1000}, None),
        ("at risk", {"churn_risk_min": 0.5}, None),
        ("likely to churn", {"churn_risk_min": 0.5}, None),
        ("not at risk", {"churn_risk_max": 0.5}, None),
        ("churn risk above 70%", {"churn_risk_min": 0.7}, None),
        ("segments 1 and 2", {"segment_ids": [1, 2]}, None),
        ('segment "beauty lovers" who like lavender', {"segment_ids": [1]}, "lavender"),
        ("Outdoor fans at risk", {"segment_ids": [2], "churn_risk_min": 0.5}, None),
        ("people in segment beauty lovers", {"segment_ids": [1]}, None),
    ],
)
def test_filters_and_taste_are_read(text: str, filters: dict[str, object], taste: str | None) -> None:
    parsed = parse_audience(text, NAMES)
    assert parsed.filters.given() == filters
    assert parsed.taste == taste
    assert parsed.understood  # always says what it did


def test_every_reading_is_explained_with_the_words_it_came_from() -> None:
    parsed = parse_audience("High value customers at risk who have not ordered in 3 months and love hiking")
    text = " ".join(parsed.understood)
    assert '"high value"' in text and "top 20%" in text
    assert '"at risk"' in text and "0.5" in text
    assert "90 days" in text and '"hiking"' in text


def test_text_without_filters_is_all_taste_and_empty_text_is_everyone() -> None:
    assert parse_audience("bamboo toothbrushes").taste == "bamboo toothbrushes"
    empty = parse_audience("  ")
    assert empty.taste is None and empty.filters.given() == {}
    assert "every customer" in empty.understood[0]


def test_contradictory_text_is_a_validation_error() -> None:
    with pytest.raises(ValueError, match="greater than"):
        parse_audience("clv over 500 and clv under 100")
