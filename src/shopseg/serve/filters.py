"""The filters an audience is built from over HTTP: one validated model shared by the API and the dashboard.

Every field is optional; an audience is every customer of the run that passes all the
filters given. ``description`` is free text: conditions are parsed out of it
(:mod:`shopseg.audience.parse`) and the rest is the topic; ``where`` takes the editable
condition syntax (:mod:`shopseg.audience.conditions`) that ``shopseg audience --explain`` and
every audience's summary print. :meth:`AudienceFilters.to_conditions` turns the explicit
fields into library :class:`~shopseg.audience.conditions.Conditions` (``_min`` is ``>=``,
``_max`` is ``<=``); explicit fields win over ``where``, which wins over the description, bound by bound.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shopseg.audience.conditions import Condition, Conditions, Percentile

Money = Annotated[float, Field(allow_inf_nan=False)]
Probability = Annotated[float, Field(ge=0.0, le=1.0, allow_inf_nan=False)]
Share = Annotated[float, Field(gt=0.0, le=1.0, allow_inf_nan=False)]
Days = Annotated[float, Field(ge=0.0, le=36_500, allow_inf_nan=False)]

#: Filter fields (everything but the free text and the size cap), in display order.
FILTER_FIELDS = (
    "segment_ids",
    "spend_min",
    "spend_max",
    "orders_min",
    "orders_max",
    "clv_min",
    "clv_max",
    "clv_top_share",
    "clv_bottom_share",
    "churn_risk_min",
    "churn_risk_max",
    "recency_min_days",
    "recency_max_days",
    "last_order_before",
    "last_order_after",
)


class AudienceFilters(BaseModel):
    """Who belongs to an audience; see the module docstring. Ranges are inclusive."""

    model_config = ConfigDict(extra="forbid")

    segment_ids: list[int] | None = Field(default=None, max_length=1000, description="Keep these segments only.")
    spend_min: Money | None = Field(default=None, description="Total spend at least this.")
    spend_max: Money | None = Field(default=None, description="Total spend at most this.")
    orders_min: Annotated[float, Field(ge=0)] | None = Field(default=None, description="At least this many orders.")
    orders_max: Annotated[float, Field(ge=0)] | None = Field(default=None, description="At most this many orders.")
    clv_min: Money | None = Field(default=None, description="Predicted customer value at least this.")
    clv_max: Money | None = Field(default=None, description="Predicted customer value at most this.")
    clv_top_share: Share | None = Field(
        default=None, description="Keep the top share of customers by CLV (0.2 = top 20 %, 'high value')."
    )
    clv_bottom_share: Share | None = Field(default=None, description="Keep the bottom share of customers by CLV.")
    churn_risk_min: Probability | None = Field(default=None, description="Churn risk at least this (0..1).")
    churn_risk_max: Probability | None = Field(default=None, description="Churn risk at most this (0..1).")
    recency_min_days: Days | None = Field(
        default=None, description="Last order at least this many days before the run's reference date."
    )
    recency_max_days: Days | None = Field(
        default=None, description="Last order at most this many days before the run's reference date."
    )
    last_order_before: date | None = Field(default=None, description="Last order before this date.")
    last_order_after: date | None = Field(default=None, description="Last order on or after this date.")
    description: str | None = Field(
        default=None,
        max_length=500,
        description="Natural language, e.g. 'eco-conscious outdoor buyers who have not ordered in 3 months': "
        "filters are parsed out of it, the rest is matched against what customers bought and wrote.",
    )
    where: str | None = Field(
        default=None,
        max_length=2000,
        description="Conditions in the editable syntax, e.g. 'spend > 500 and orders >= 3 and topic = \"outdoor\"' "
        "(what an audience's summary returns as 'where').",
    )
    top: int | None = Field(default=None, ge=1, le=10_000_000, description="Keep at most this many customers.")

    @model_validator(mode="after")
    def _ranges_are_ordered(self) -> AudienceFilters:
        for low, high in (
            ("spend_min", "spend_max"),
            ("orders_min", "orders_max"),
            ("clv_min", "clv_max"),
            ("churn_risk_min", "churn_risk_max"),
            ("recency_min_days", "recency_max_days"),
        ):
            if (
                getattr(self, low) is not None
                and getattr(self, high) is not None
                and getattr(self, low) > getattr(self, high)
            ):
                raise ValueError(f"{low} ({getattr(self, low)}) is greater than {high} ({getattr(self, high)})")
        if self.last_order_before and self.last_order_after and self.last_order_after >= self.last_order_before:
            raise ValueError("last_order_after must be earlier than last_order_before")
        return self

    def given(self) -> dict[str, object]:
        """The filter fields that are set (no description or size cap)."""
        return {name: getattr(self, name) for name in FILTER_FIELDS if getattr(self, name) is not None}

    def to_conditions(self) -> Conditions:
        """The explicit filter fields as library conditions (description and where are read elsewhere)."""
        items: list[Condition] = []
        if self.segment_ids is not None:
            items.append(Condition("segment", "in", tuple(self.segment_ids)))
        for name, field, op, value in (
            ("spend_min", "spend", ">=", self.spend_min),
            ("spend_max", "spend", "<=", self.spend_max),
            ("orders_min", "orders", ">=", self.orders_min),
            ("orders_max", "orders", "<=", self.orders_max),
            ("clv_min", "clv", ">=", self.clv_min),
            ("clv_max", "clv", "<=", self.clv_max),
            ("clv_top_share", "clv", ">=", _percentile(1 - self.clv_top_share) if self.clv_top_share else None),
            ("clv_bottom_share", "clv", "<=", _percentile(self.clv_bottom_share) if self.clv_bottom_share else None),
            ("churn_risk_min", "churn_risk", ">=", self.churn_risk_min),
            ("churn_risk_max", "churn_risk", "<=", self.churn_risk_max),
            ("recency_min_days", "days_since_last_order", ">=", self.recency_min_days),
            ("recency_max_days", "days_since_last_order", "<=", self.recency_max_days),
            ("last_order_before", "last_order", "<", self.last_order_before),
            ("last_order_after", "last_order", ">=", self.last_order_after),
        ):
            if value is not None:
                items.append(Condition(field, op, float(value) if isinstance(value, int | float) else value, name))
        return Conditions(items)


def _percentile(share: float) -> Percentile:
    return Percentile(round(100 * share, 6))
