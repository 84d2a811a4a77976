"""Audiences: the customers of a run that meet a set of conditions, ranked, ready for export.

:func:`build_audience` applies :class:`~shopseg.audience.conditions.Conditions` to the run's
customer table (``segments.parquet``) with vectorised masks, no loop over customers: segments,
spend, orders, days since the last order and its date, CLV (absolute or a percentile,
resolved to a threshold and reported) and churn risk; then the topic, when there is one, by
the run's :class:`~shopseg.audience.topics.TopicMatcher`. Members are ranked by topic score
when there is a topic, by predicted value otherwise. Every step adds a line to
``understood`` so the person asking sees what was done with their words.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd

from shopseg import schema as s
from shopseg.audience.conditions import FIELDS, AudienceError, Condition, Conditions, Percentile
from shopseg.audience.topics import TopicMatcher
from shopseg.run_data import LAST_ORDER, RunData, jsonable

TOPIC_SCORE = "topic_score"
#: Columns of an exported audience, those the run has, in this order.
EXPORT_COLUMNS = (
    s.CUSTOMER_ID,
    s.SEGMENT_ID,
    s.SEGMENT_NAME,
    LAST_ORDER,
    "recency_days",
    "frequency",
    "monetary_total",
    "clv",
    "p_alive",
    "churn_risk",
    "high_value_prob",
    TOPIC_SCORE,
)
_COMPARE: dict[str, Callable[[pd.Series, object], pd.Series]] = {
    ">": lambda column, value: column > value,
    ">=": lambda column, value: column >= value,
    "<": lambda column, value: column < value,
    "<=": lambda column, value: column <= value,
    "=": lambda column, value: column == value,
}


@dataclass
class Audience:
    """A built audience: who is in it (ranked), its conditions, how they were understood, how the topic matched."""

    id: str
    conditions: Conditions
    understood: list[str]
    rows: np.ndarray  # positions in run.segments, ranked (int32: 4 bytes a member, whatever the id)
    matching: int  # customers meeting the conditions, before the ``top`` cap
    topic_method: str | None = None
    topic_scores: np.ndarray | None = None  # float32, aligned with ``rows``
    created: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))

    @property
    def size(self) -> int:
        return len(self.rows)

    @property
    def topic(self) -> str | None:
        return self.conditions.topic

    def table(self, run: RunData) -> pd.DataFrame:
        """The export: one row per member with segment, value and risk columns (those the run has)."""
        rows = run.segments.iloc[self.rows].reset_index(drop=True)
        if self.topic_scores is not None:
            rows[TOPIC_SCORE] = self.topic_scores.astype("float64")
        if LAST_ORDER in rows:
            rows[LAST_ORDER] = rows[LAST_ORDER].dt.strftime("%Y-%m-%d")
        rows = rows[[c for c in EXPORT_COLUMNS if c in rows]]
        decimals = {c: 4 for c in rows.columns if pd.api.types.is_float_dtype(rows[c])}
        return rows.round(decimals)

    def summary(self, run: RunData, preview: int = 20) -> dict[str, Any]:
        """JSON for the API: id, size, the conditions (editable ``where``), what was understood, the first rows."""
        head = self.table(run).head(preview)
        return {
            "id": self.id,
            "size": self.size,
            "matching": self.matching,
            "created": self.created,
            "understood": self.understood,
            "where": self.conditions.where(),
            "topic": self.topic,
            "topic_method": self.topic_method,
            "preview": [jsonable(row) for row in head.to_dict("records")],
            "exports": {"csv": f"/audiences/{self.id}.csv", "parquet": f"/audiences/{self.id}.parquet"},
        }


def _column(run: RunData, condition: Condition) -> pd.Series:
    spec = FIELDS[condition.field]
    if spec.column not in run.segments:
        raise AudienceError(
            f"This run has no {spec.description} ('{spec.column}' is not in segments.parquet), so it cannot "
            f"filter on '{condition.text()}'. "
            + (
                "Re-run 'shopseg segment' with the value stage on (the default) to get CLV and churn risk."
                if condition.field in ("clv", "churn_risk")
                else "It needs order lines with dates."
            )
        )
    return run.segments[spec.column]


def apply_conditions(run: RunData, conditions: Conditions) -> tuple[np.ndarray, list[str]]:
    """Boolean mask over ``run.segments`` and one line per condition saying what it did."""
    table = run.segments
    mask = np.ones(len(table), dtype=bool)
    notes: list[str] = []
    for condition in conditions.items:
        if condition.field == "segment":
            ids = list(condition.value) if isinstance(condition.value, tuple) else [int(condition.value)]
            unknown = sorted(set(ids) - set(run.profiles))
            if unknown:
                raise AudienceError(
                    f"Unknown segment id {', '.join(map(str, unknown))}: this run has segments "
                    f"{', '.join(map(str, sorted(run.profiles)))}."
                )
            mask &= table[s.SEGMENT_ID].isin(ids).to_numpy()
            names = run.segment_names()
            notes.append("segment in: " + "; ".join(f"{i} ({names[i]})" for i in ids))
            continue
        column = _column(run, condition)
        value: object = condition.value
        shown = condition.text()
        if isinstance(value, Percentile):
            value = float(column.quantile(value.q / 100.0))
            shown += f" (= {value:,.2f})"
        elif condition.field == "last_order":
            value = pd.Timestamp(value)
        hits = _COMPARE[condition.op](column, value).fillna(False).to_numpy(dtype=bool)
        mask &= hits
        notes.append(f"{shown}: {int(hits.sum()):,} customers")
    return mask, notes


def build_audience(
    run: RunData,
    conditions: Conditions,
    topic_matcher: Callable[[], TopicMatcher] | None = None,
    *,
    top: int | None = None,
    understood: list[str] | None = None,
) -> Audience:
    """The audience ``conditions`` describe, at most ``top`` members; see the module docstring.

    ``topic_matcher`` is called only when there is a topic, so the matcher (which reads the
    run's store, and may load a text model) is built lazily. ``understood``: lines already
    written about the request (e.g. what was read from a sentence), kept first.
    """
    if top is not None and top < 1:
        raise AudienceError(f"--top must be a positive number of customers, got {top}.")
    understood = list(understood or [])
    mask, notes = apply_conditions(run, conditions)
    understood += [f"condition: {note}" for note in notes]
    table = run.segments
    topic_scores = None
    topic_method = None
    if conditions.topic and topic_matcher is not None:
        scores = topic_matcher().score(conditions.topic)
        mask &= scores.matched.reindex(table.index, fill_value=False).to_numpy()
        topic_scores = scores.scores.reindex(table.index, fill_value=0.0).to_numpy(dtype="float64")
        topic_method = scores.method
        understood.append(scores.explanation)
        order = np.lexsort((-_clv_or_zero(run), -topic_scores))
    else:
        order = np.argsort(-_clv_or_zero(run), kind="stable")
        understood.append("ranked by predicted value (CLV)" if "clv" in table else "ordered by customer id")
    order = order[mask[order]]
    matching = len(order)
    if top is not None and matching > top:
        order = order[:top]
        understood.append(f"kept the first {top:,} of {matching:,} matching customers")
    return Audience(
        id=secrets.token_hex(8),
        conditions=conditions,
        understood=understood,
        rows=order.astype("int32"),
        matching=matching,
        topic_method=topic_method,
        topic_scores=topic_scores[order].astype("float32") if topic_scores is not None else None,
    )


def _clv_or_zero(run: RunData) -> np.ndarray:
    if "clv" in run.segments:
        return run.segments["clv"].fillna(0.0).to_numpy(dtype="float64")
    return np.zeros(len(run.segments))
