"""The labelled audience queries (labelled_queries.json): every parse exact, topic recall >= 0.8.

Parsing is checked for all of them. Queries with a ``planted`` segment are also built on a
generated shop (2,000 customers, seed 0, segmented with the default text model): their truth
is the planted taste segment's customers who meet the query's conditions, computed here
directly from segments.parquet; the audience is the top N by topic score, N = the truth's
size, so recall and precision coincide. The topic is matched with the run's own text model;
the TF-IDF fallback is measured too, and reported, since it cannot know words the shop
does not use ("skincare", "home cooks").
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from shopseg.audience import Conditions, build_audience, load_topic_matcher, parse_audience
from shopseg.audience.topics import TfidfTopicMatcher
from shopseg.run_data import RunData

LABELLED = json.loads((Path(__file__).parent / "labelled_queries.json").read_text())
NAMES = {int(k): v for k, v in LABELLED["segment_names"].items()}
QUERIES = LABELLED["queries"]
TOPIC_QUERIES = [q for q in QUERIES if "planted" in q]
#: Column and comparison of each condition field, written out here rather than taken from the library.
COLUMNS = {"spend": "monetary_total", "orders": "frequency", "days_since_last_order": "recency_days"}
COMPARE = {">": np.greater, ">=": np.greater_equal, "<": np.less, "<=": np.less_equal}


def test_the_labelled_set_is_big_enough() -> None:
    assert len(QUERIES) >= 30 and len(TOPIC_QUERIES) >= 10
    fields = " ".join(q["where"] for q in QUERIES)
    for field in ("spend", "orders", "days_since_last_order", "clv", "churn_risk", "segment", "topic"):
        assert field in fields


@pytest.mark.parametrize("labelled", QUERIES, ids=[q["query"] for q in QUERIES])
def test_every_labelled_query_parses_exactly(labelled: dict[str, str]) -> None:
    parsed = parse_audience(labelled["query"], NAMES)
    assert parsed.conditions.where() == labelled["where"]


def truth_of(labelled: dict[str, str], segments: pd.DataFrame, truth: pd.Series) -> pd.Index:
    """Customers of the planted segment who meet the query's conditions (evaluated here, plainly)."""
    keep = truth.reindex(segments.index) == labelled["planted"]
    for part in labelled["where"].split(" and "):
        field, op, value = part.split(" ", 2)
        if field in COLUMNS:
            keep &= COMPARE[op](segments[COLUMNS[field]], float(value))
    return segments.index[keep.to_numpy()]


def recall(run: RunData, labelled: dict[str, str], truth: pd.Series, matcher: object) -> float:
    conditions: Conditions = parse_audience(labelled["query"], NAMES).conditions
    expected = truth_of(labelled, run.segments, truth)
    audience = build_audience(run, conditions, lambda: matcher, top=len(expected))
    members = run.segments.index[audience.rows]
    return len(members.intersection(expected)) / len(expected)


@pytest.mark.slow
def test_topic_recall_with_the_runs_text_model(text_run: Path, truth: pd.Series) -> None:
    run = RunData.load(text_run, recommendations=False)
    matcher = load_topic_matcher(run)
    assert matcher.method.startswith("text embedding")
    recalls = {q["query"]: recall(run, q, truth, matcher) for q in TOPIC_QUERIES}
    tfidf = TfidfTopicMatcher.from_run(run)
    baseline = {q["query"]: recall(run, q, truth, tfidf) for q in TOPIC_QUERIES}
    print(
        "recall, text model:",
        {k: round(v, 3) for k, v in recalls.items()},
        f"mean {np.mean(list(recalls.values())):.3f}",
    )
    print(
        "recall, tf-idf:", {k: round(v, 3) for k, v in baseline.items()}, f"mean {np.mean(list(baseline.values())):.3f}"
    )
    assert min(recalls.values()) >= 0.8, recalls
    assert np.mean(list(recalls.values())) > np.mean(list(baseline.values()))
