"""``POST /customers/{customer_id}/update``: a customer's new orders, reviews and events in; their segment out.

A thin face over :class:`~shopseg.live.model.LiveModel` (built once per served run, on the
first update): the posted lines are checked (:func:`~shopseg.live.lines.check_lines`; a bad
line is a 422 naming it), added to what the run knows about the customer (their whole
history for a known customer), and the answer carries their segment, the segment they had
before, their value scores (CLV, P(alive), expected orders, churn risk) and the products
they are most likely to buy next. The lines are kept in memory for the customer's next
update (``keep: false`` asks "what if" without keeping them); they are not written to the
run folder.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from shopseg.errors import ShopsegError
from shopseg.live import LiveModel, check_lines
from shopseg.serve.assign import MAX_LINES, EventLine, OrderLine, ReviewLine, _naive


class CustomerUpdate(BaseModel):
    """New lines of one customer (each list may be empty)."""

    model_config = ConfigDict(extra="forbid")

    orders: list[OrderLine] = Field(default_factory=list, max_length=MAX_LINES)
    reviews: list[ReviewLine] = Field(default_factory=list, max_length=MAX_LINES)
    events: list[EventLine] = Field(default_factory=list, max_length=MAX_LINES)
    reference_ts: datetime | None = Field(
        default=None,
        description="The 'now' of the features. Default: the day after the customer's latest order line, "
        "never before the run's own reference time.",
    )
    recommend_n: int = Field(default=10, ge=0, le=100, description="Products to recommend (0: none).")
    keep: bool = Field(default=True, description="Keep the lines for this customer's next update (false: what if).")


class CustomerUpdateResponse(BaseModel):
    """The customer after the update."""

    customer_id: str
    known_customer: bool = Field(description="Whether the run had this customer before (else: placed as new).")
    segment_id: int
    segment_name: str
    previous_segment_id: int | None = Field(description="Their segment before this update (None for a new customer).")
    changed: bool
    reference_ts: str
    features: dict[str, float]
    scores: dict[str, float] | None = Field(
        description="clv, p_alive, expected orders, churn risk; null without value."
    )
    recommendations: list[dict[str, Any]] | None
    lines_used: dict[str, int]
    notes: list[str]


def embeds_text(live: LiveModel, body: CustomerUpdate) -> bool:
    """Whether the update will embed a text nobody sent before (then it runs in a thread, not on the event loop)."""
    if live.text is None:
        return False
    texts = [line.text for line in body.reviews] + [line.query for line in body.events]
    return live.text.unknown(texts)


def json_bytes(payload: dict[str, Any]) -> bytes:
    """The response body as strict JSON (no NaN: scores and features are finite)."""
    return json.dumps(payload, allow_nan=False, separators=(",", ":")).encode()


def update_customer(live: LiveModel, names: dict[int, str], customer_id: str, body: CustomerUpdate) -> dict[str, Any]:
    """The response body (as a plain dict: the route sends it without re-validating); see the module docstring."""
    orders, reviews, events = check_lines(
        [line.model_dump() for line in body.orders],
        [line.model_dump() for line in body.reviews],
        [line.model_dump() for line in body.events],
    )
    order_rows, activity = live.rows_of(orders, reviews, events)
    reference = _naive(body.reference_ts).timestamp() if body.reference_ts is not None else None
    result = live.update(
        customer_id, order_rows, activity, reference=reference, recommend_n=body.recommend_n, keep=body.keep
    )
    notes = []
    if "error" in result:
        raise ShopsegError(f"Customer '{customer_id}' has {result['error']}; send their orders.")
    if not result["known_customer"]:
        notes.append("a customer the run did not know: placed from the lines sent")
    if result["scores"] is not None and live.value is not None:
        scorer = live.value.scorer
        notes.append(
            f"value from the run's {scorer.transaction.label} model: churn_risk is its probability of no order in "
            f"the next {scorer.window_days:g} days; no 90% intervals or next order date in real time"
        )
        if live.value.classifier_columns:
            notes.append(
                f"the run's {', '.join(live.value.classifier_columns)} came from a classifier that is not kept; "
                "here they come from the transaction model"
            )
    recommendations = None
    if result["recommendations"] is not None:
        titles = live.run.titles
        recommendations = [
            {
                "rank": rank,
                "product_id": product,
                "score": round(score, 6),
                **({"title": titles[product]} if product in titles else {}),
            }
            for rank, (product, score) in enumerate(result["recommendations"], start=1)
        ]
        if not recommendations:
            notes.append("no recommendations: none of the products bought is known to the run's recommender")
    previous = result["previous_segment_id"]
    segment = result["segment_id"]
    return {
        "customer_id": customer_id,
        "known_customer": result["known_customer"],
        "segment_id": segment,
        "segment_name": names.get(segment, "Unassigned" if segment < 0 else str(segment)),
        "previous_segment_id": previous,
        "changed": previous is not None and previous != segment,
        "reference_ts": pd.Timestamp(result["reference"], unit="s").isoformat(),
        "features": result["features"],
        "scores": result["scores"],
        "recommendations": recommendations,
        "lines_used": {"orders": len(orders), "reviews": len(reviews), "events": len(events)},
        "notes": notes,
    }
