"""``POST /assign``: place one new customer into the run's segments from their order lines, without refitting.

The JSON lines become a canonical table of strings, which goes through the same checks as
an uploaded file (:func:`~shopseg.ingest.validate.check_table`: dates, numbers, returns),
then :func:`~shopseg.features.build_features` with the run's product table (for category
shares) *as of the run's reference time* -- so "days since the last order" means what it
meant when the model was fitted -- and finally :meth:`Segmenter.predict
<shopseg.pipeline.Segmenter.predict>`. When the run saved ALS factors (``model/fold_in/``), the
customer is folded in and their top products not yet bought come back too
(:class:`~shopseg.recommend.fold_in.FoldInALS`). Reviews and browsing events are optional; without
them the customer's engagement features read as zero, as for a customer who has none.

A line the checks reject makes the whole request a 422 naming the line, column and
reason: a caller wants its data fixed, not silently dropped.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, model_validator

from shopseg import schema as s
from shopseg.errors import ShopsegError
from shopseg.features import build_features
from shopseg.ingest.reading import LINE, SOURCE
from shopseg.ingest.validate import check_table
from shopseg.run_data import SUMMARY_COLUMNS, RunData
from shopseg.shop import Shop

#: Most lines (orders, reviews and events each) accepted in one request.
MAX_LINES = 10_000
SOURCE_NAME = "request body"
#: A timezone-naive ISO 8601 date or date-time ("2024-05-01", "2024-05-01T14:03:00.5").
_ISO_TS = r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?)?"
#: Segment id of a customer an algorithm leaves out as noise (as in shopseg.cluster).
UNASSIGNED = -1

Text = Annotated[str, Field(min_length=1, max_length=200)]
Id = Annotated[str, Field(max_length=200)]
Finite = Annotated[float, Field(allow_inf_nan=False)]


class OrderLine(BaseModel):
    """One order line of the customer (canonical orders columns; ``amount`` or ``quantity`` x ``unit_price``)."""

    model_config = ConfigDict(extra="forbid")

    order_id: Text
    ts: Text = Field(description="When the order was placed, e.g. '2024-05-01 14:03:00' or ISO 8601.")
    amount: Finite | None = Field(default=None, description="Line total; negative for a return.")
    product_id: Id | None = None
    quantity: Finite | None = None
    unit_price: Finite | None = None
    status: Annotated[str, Field(max_length=50)] | None = None
    description: Annotated[str, Field(max_length=500)] | None = None

    @model_validator(mode="after")
    def _has_a_value(self) -> OrderLine:
        if self.amount is None and (self.quantity is None or self.unit_price is None):
            raise ValueError("give 'amount', or 'quantity' and 'unit_price'")
        return self


class ReviewLine(BaseModel):
    """One review the customer wrote."""

    model_config = ConfigDict(extra="forbid")

    ts: Text
    rating: Finite | None = None
    text: Annotated[str, Field(max_length=5000)] | None = None
    product_id: Id | None = None


class EventLine(BaseModel):
    """One browsing event (view, cart, search ...)."""

    model_config = ConfigDict(extra="forbid")

    ts: Text
    event_type: Annotated[str, Field(min_length=1, max_length=50)]
    product_id: Id | None = None
    session_id: Id | None = None
    query: Annotated[str, Field(max_length=500)] | None = None


class AssignRequest(BaseModel):
    """A new customer's history: order lines (required), reviews and events (optional)."""

    model_config = ConfigDict(extra="forbid")

    customer_id: Text = Field(default="new-customer", description="Echoed back; not looked up.")
    orders: list[OrderLine] = Field(min_length=1, max_length=MAX_LINES)
    reviews: list[ReviewLine] = Field(default_factory=list, max_length=MAX_LINES)
    events: list[EventLine] = Field(default_factory=list, max_length=MAX_LINES)
    reference_ts: datetime | None = Field(
        default=None,
        description="The 'now' recency is measured from. Default: the run's reference time, so features "
        "mean what they meant when the model was fitted.",
    )
    recommend_n: int = Field(
        default=10, ge=0, le=100, description="Products to recommend from the order lines (0: none)."
    )


class AssignResponse(BaseModel):
    """The segment of the new customer and the features it was decided on."""

    customer_id: str
    segment_id: int
    segment_name: str
    reference_ts: str | None
    features: dict[str, float]
    lines_used: dict[str, int]
    notes: list[str]
    recommendations: list[dict[str, Any]] | None = Field(
        default=None,
        description="Products not bought yet, best first (ALS factors of the run, this customer folded in); "
        "null when the run has no such model or the server lacks the 'implicit' package.",
    )


class LinesRejected(ShopsegError):
    """Lines of a request that the input checks rejected; ``problems`` lists line, column, value and reason."""

    def __init__(self, table: str, problems: list[dict[str, Any]]) -> None:
        self.problems = problems
        first = problems[0]
        super().__init__(
            f"{len(problems)} of the {table} lines failed the input checks (first: {table}[{first['line']}], "
            f"column '{first['column']}': {first['reason']}). Fix or remove them and send again."
        )


def _checked(lines: list[BaseModel], spec: s.TableSpec, customer_id: str) -> pd.DataFrame | None:
    """Typed canonical table from request lines, through the same checks as a file (None when no lines)."""
    if not lines:
        return None
    records = [line.model_dump(exclude_none=True) for line in lines]
    frame = pd.DataFrame.from_records(records)
    frame = frame.map(lambda value: "" if value is None or value != value else str(value)).astype(object)
    frame.insert(0, s.CUSTOMER_ID, customer_id)
    frame[LINE] = range(len(frame))
    frame[SOURCE] = SOURCE_NAME
    # ISO 8601 timestamps (what JSON clients send) skip the format search; anything else is auto-detected.
    iso = frame[s.TS].str.fullmatch(_ISO_TS).all()
    try:
        checked = check_table(frame, spec, f"{SOURCE_NAME} ({spec.name})", date_format="ISO8601" if iso else None)
    except pd.errors.OutOfBoundsDatetime:  # parse_dates cannot hold years after 2262 (nanosecond timestamps)
        raise ShopsegError(
            f"A date in the {spec.name} lines is out of range (years 1970 to 2262 are readable). "
            "Fix the 'ts' values and send again."
        ) from None
    if not checked.quarantine.empty:
        problems = checked.quarantine[["line", "column", "value", "reason"]].to_dict("records")
        raise LinesRejected(spec.name, [{k: (v if v == v else None) for k, v in p.items()} for p in problems])
    return checked.frame.drop(columns=[LINE, SOURCE])


def _naive(moment: datetime) -> pd.Timestamp:
    """A timestamp without time zone (UTC when one was given), as the run's timestamps are."""
    stamp = pd.Timestamp(moment)
    return stamp.tz_convert("UTC").tz_localize(None) if stamp.tzinfo is not None else stamp


def assign_customer(run: RunData, request: AssignRequest) -> AssignResponse:
    """Segment of the customer in ``request`` under the run's saved model; see the module docstring."""
    # The customer id is internal here: the checks and features need one, and the caller's
    # id is echoed back, never used to look anything up.
    internal_id = "customer"
    orders = _checked(request.orders, s.ORDERS, internal_id)
    reviews = _checked(request.reviews, s.REVIEWS, internal_id)
    events = _checked(request.events, s.EVENTS, internal_id)
    notes: list[str] = []
    reference = _naive(request.reference_ts) if request.reference_ts else run.reference_ts
    last_order = orders[s.TS].max()
    if reference is not None and last_order >= reference:
        notes.append(
            f"the last order ({last_order:%Y-%m-%d}) is after the reference time ({reference:%Y-%m-%d}): "
            "recency reads as zero days; pass reference_ts to measure from another date"
        )
    shop = Shop(orders=orders, products=run.products, reviews=reviews, events=events)
    # The run's share priors: habit and category shares shrink towards the fitted shop's shares.
    _, priors = run.segmenter.feature_context_
    features = build_features(
        shop, reference, priors=priors, window_days=run.segmenter.window_days, test_habits=False
    ).frame
    if reference is not None and "recency_days" in features:
        features["recency_days"] = features["recency_days"].clip(lower=0.0)
    segment_id = int(run.segmenter.predict(features, shop, reference_ts=reference).iloc[0])
    recommendations = None
    names_products = s.PRODUCT_ID in orders and bool(orders[s.PRODUCT_ID].notna().any())
    if run.fold_in is not None and request.recommend_n > 0 and not names_products:
        notes.append("no recommendations: no order line names a product (product_id is optional, but needed for them)")
    elif run.fold_in is not None and request.recommend_n > 0:
        recommendations = run.titled(run.fold_in.recommend(orders, n=request.recommend_n))
        if not recommendations:
            notes.append("no recommendations: none of the products bought is known to the run's recommender")
    names = {**run.segment_names(), UNASSIGNED: "Unassigned"}
    summary = [c for c in (*SUMMARY_COLUMNS, *run.segmenter.scaler_.columns_) if c in features]
    return AssignResponse(
        customer_id=request.customer_id,
        segment_id=segment_id,
        segment_name=names.get(segment_id, str(segment_id)),
        reference_ts=reference.isoformat() if reference is not None else None,
        features={c: round(float(features[c].iloc[0]), 6) for c in dict.fromkeys(summary)},
        lines_used={"orders": len(orders), "reviews": len(request.reviews), "events": len(request.events)},
        notes=notes,
        recommendations=recommendations,
    )
