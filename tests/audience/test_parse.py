"""Natural-language audiences: conditions with units read from a sentence, the rest is the topic."""

from __future__ import annotations

import datetime as dt

import pytest

from shopseg.audience import AudienceError, Conditions, Percentile, parse_audience, parse_where
from shopseg.audience.conditions import Condition

NAMES = {
    0: "Lapsed low-value one-timers · narrow range",
    1: "Mid-value repeat buyers · beauty lovers",
    2: "Outdoor fans",
}


@pytest.mark.parametrize(
    ("text", "where"),
    [
        (
            "eco-conscious outdoor buyers who have not ordered in 3 months",
            'days_since_last_order > 90 and topic = "eco-conscious outdoor"',
        ),
        ("no orders in the last year", "days_since_last_order > 365"),
        ("recent buyers of kitchen gadgets", 'days_since_last_order <= 30 and topic = "kitchen gadgets"'),
        ("last ordered less than 2 weeks ago", "days_since_last_order < 14"),
        ("top 5% by value who love running shoes", 'clv >= p95 and topic = "running shoes"'),
        ("low-value one-off shoppers", "clv <= p20 and orders = 1"),
        ("bottom 10%", "clv <= p10"),
        ("clv over 1,000", "clv > 1000"),
        ("spent no more than 80 euros", "spend <= 80"),
        ("repeat customers", "orders >= 2"),
        ("placed more than three orders", "orders > 3"),
        ('segment "beauty lovers" who like lavender', 'segment in (1) and topic = "lavender"'),
        ("Outdoor fans at risk", "churn_risk >= 0.5 and segment in (2)"),
        ("people in segment beauty lovers", "segment in (1)"),
        ("in the narrow range segment", "segment in (0)"),
        ("bamboo toothbrushes", 'topic = "bamboo toothbrushes"'),
    ],
)
def test_conditions_and_topic_are_read(text: str, where: str) -> None:
    parsed = parse_audience(text, NAMES)
    assert parsed.conditions.where() == where
    assert parsed.understood  # always says what it did


def test_every_reading_is_explained_with_the_words_it_came_from() -> None:
    parsed = parse_audience(
        "High value customers at risk who spent over $2k and have not ordered in 3 months and love hiking"
    )
    text = " ".join(parsed.understood)
    assert '"high value": clv >= p80 (the top 20% of customers by predicted value)' in text
    assert '"at risk": churn_risk >= 0.5' in text
    assert '"spent over $2k": spend > 2000' in text
    assert "days_since_last_order > 90" in text and '"hiking"' in text


def test_empty_text_is_everyone() -> None:
    empty = parse_audience("  ")
    assert empty.conditions.where() == "" and empty.topic is None
    assert "every customer" in empty.understood[0]


def test_contradictory_text_is_an_audience_error() -> None:
    with pytest.raises(AudienceError, match="'clv > 500' and 'clv < 100' contradict each other"):
        parse_audience("clv over 500 and clv under 100")
    with pytest.raises(AudienceError, match="contradict"):
        parse_where("orders > 3 and orders <= 3")


def test_where_round_trips_and_reads_units() -> None:
    text = (
        "spend > 500 and orders >= 3 and days_since_last_order <= 30 and clv >= p80 and churn_risk >= 0.5 "
        'and segment in (1, 2) and last_order < 2024-01-01 and topic = "outdoor gear"'
    )
    conditions = parse_where(text)
    assert conditions.where() == text
    assert parse_where(conditions.where()) == conditions
    assert conditions.items[3] == Condition("clv", ">=", Percentile(80.0))
    assert conditions.items[6].value == dt.date(2024, 1, 1)
    units = parse_where("churn_risk >= 70% and recency <= 30d and frequency = 2 and segment = 4 and spend > 1,500")
    assert (
        units.where()
        == "churn_risk >= 0.7 and days_since_last_order <= 30 and orders = 2 and segment in (4) and spend > 1500"
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("spend >> 5", "Cannot read the condition 'spend >> 5'"),
        ("colour = 3", "Unknown field 'colour'"),
        ("churn_risk > 2", "probability between 0 and 1"),
        ("spend > p80", "Percentiles (p80) are for clv only"),
        ("segment > 2", "'segment' takes in, not '>'"),
        ("last_order > 5", "takes a date"),
        ("topic = outdoor", "Cannot read the condition"),
        ("spend > 30d", "not a number of days"),
    ],
)
def test_bad_where_says_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(AudienceError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_where(text)


def test_explicit_conditions_win_bound_by_bound() -> None:
    explicit = Conditions([Condition("churn_risk", ">=", 0.9), Condition("spend", "<=", 900.0)])
    merged, notes = explicit.merged_with(parse_audience("at risk outdoor buyers who spent over 100").conditions)
    assert merged.where() == 'churn_risk >= 0.9 and spend <= 900 and spend > 100 and topic = "outdoor"'
    assert notes == ["'churn_risk >= 0.5' read from the description was replaced by the explicit 'churn_risk >= 0.9'"]
    merged, _ = Conditions([Condition("orders", "=", 2.0)]).merged_with(parse_where("orders > 5 and orders < 9"))
    assert merged.where() == "orders = 2"  # '=' sets both bounds
