"""The filters an audience is built from: one validated model shared by the API, the dashboard and the CLI.

Every field is optional; an audience is every customer of the run that passes all the
filters given. ``description`` is free text: explicit filters are parsed out of it
(:mod:`shopseg.serve.nl_audience`) and the rest is matched against customers' taste.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

Money = Annotated[float, Field(allow_inf_nan=False)]
Probability = Annotated[float, Field(ge=0.0, le=1.0, allow_inf_nan=False)]
Share = Annotated[float, Field(gt=0.0, le=1.0, allow_inf_nan=False)]
Days = Annotated[float, Field(ge=0.0, le=36_500, allow_inf_nan=False)]

#: Filter fields (everything but the free text and the size cap), in display order.
FILTER_FIELDS = (
    "segment_ids",
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
    top: int | None = Field(default=None, ge=1, le=10_000_000, description="Keep at most this many customers.")

    @model_validator(mode="after")
    def _ranges_are_ordered(self) -> AudienceFilters:
        for low, high in (
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

    def merged_with(self, parsed: AudienceFilters) -> tuple[AudienceFilters, list[str]]:
        """These filters completed by ``parsed`` (from text); a field set here wins. Returns notes on conflicts."""
        notes = []
        updates: dict[str, object] = {}
        for name, value in parsed.given().items():
            mine = getattr(self, name)
            if mine is None:
                updates[name] = value
            elif mine != value:
                notes.append(f"{name}: the explicit value {mine} was kept over {value} read from the description")
        # Validated again: text and explicit values together may form an empty range.
        return AudienceFilters.model_validate({**self.model_dump(), **updates}), notes
