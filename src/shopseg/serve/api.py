"""The JSON API: segments, customers, assignment of new customers, audiences and their exports.

Every route is a few lines over :mod:`~shopseg.run_data`, :mod:`~shopseg.serve.assign`
and :mod:`~shopseg.serve.audiences`; all need the API key except ``/health``. Routes are
plain (not ``async``) functions: their work is pandas and numpy, which FastAPI runs in its
thread pool so that one slow request does not stall the others.

``GET /segments/{id}`` and ``GET /audiences/{id}`` answer a browser (``Accept: text/html``)
with the dashboard page and everyone else with JSON, so one URL names one thing.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Request, Response
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from shopseg import schema as s
from shopseg.run_data import SCORE_COLUMNS, SUMMARY_COLUMNS, jsonable
from shopseg.serve.assign import AssignRequest, AssignResponse, assign_customer
from shopseg.serve.audiences import AUDIENCE_ID_PATTERN, Audience, audience_from_filters, csv_bytes, parquet_bytes
from shopseg.serve.context import Ctx, ServeContext, require_key, wants_html
from shopseg.serve.dashboard import audience_page, segment_page
from shopseg.serve.demand_route import demand_router
from shopseg.serve.filters import AudienceFilters
from shopseg.serve.live import CustomerUpdate, CustomerUpdateResponse, embeds_text, json_bytes, update_customer

AudienceId = Annotated[str, Path(pattern=AUDIENCE_ID_PATTERN, description="Id returned by POST /audiences.")]
CustomerId = Annotated[str, Path(min_length=1, max_length=200)]


def _segment_summary(profile: dict[str, Any]) -> dict[str, Any]:
    value = profile.get("value") or {}
    return {
        "segment_id": profile["segment_id"],
        "name": profile["name"],
        "size": profile["size"],
        "share": profile["share"],
        "clv_mean": value.get("clv_mean"),
        "churn_risk_mean": value.get("churn_risk_mean"),
        "persona": profile.get("persona", ""),
    }


def _audience(ctx: ServeContext, audience_id: str) -> Audience:
    audience = ctx.audiences.get(audience_id)
    if audience is None:
        raise HTTPException(
            404,
            f"No audience '{audience_id}': it was never built here or has expired (the server keeps the latest "
            f"{ctx.audiences.max_items}). Build it again with POST /audiences.",
        )
    return audience


def api_router() -> APIRouter:
    """The API routes; see the module docstring."""
    router = APIRouter()
    guarded = APIRouter(dependencies=[Depends(require_key)])

    @router.get("/health", tags=["service"], summary="Liveness probe (no key needed)")
    def health(ctx: Ctx) -> dict[str, Any]:
        return {"status": "ok", "customers": len(ctx.run.segments), "segments": len(ctx.run.profiles)}

    @guarded.get("/segments", tags=["segments"], summary="Every segment: id, name, size, share, value")
    def list_segments(ctx: Ctx) -> list[dict[str, Any]]:
        return [_segment_summary(ctx.run.profiles[k]) for k in sorted(ctx.run.profiles)]

    @guarded.get(
        "/segments/{segment_id}",
        tags=["segments"],
        summary="One segment's full profile (profiles.json entry)",
        responses={200: {"content": {"text/html": {}}, "description": "JSON, or the page for a browser"}},
    )
    def get_segment(request: Request, segment_id: int, ctx: Ctx) -> Any:
        if wants_html(request):
            return segment_page(request, ctx, segment_id)
        profile = ctx.run.profiles.get(segment_id)
        if profile is None:
            known = ", ".join(map(str, sorted(ctx.run.profiles)))
            raise HTTPException(404, f"No segment {segment_id} in this run (segments: {known}).")
        return profile

    @guarded.get(
        "/customers/{customer_id}", tags=["customers"], summary="A customer's segment, scores, recommendations"
    )
    def get_customer(customer_id: CustomerId, ctx: Ctx) -> dict[str, Any]:
        row = ctx.run.customer(customer_id)
        if row is None:
            raise HTTPException(404, "No customer with this id in this run.")
        values = jsonable(row.to_dict())
        return {
            s.CUSTOMER_ID: customer_id,
            s.SEGMENT_ID: values[s.SEGMENT_ID],
            s.SEGMENT_NAME: values[s.SEGMENT_NAME],
            "last_order_date": values.get("last_order_date"),
            "features": {c: values[c] for c in SUMMARY_COLUMNS if c in values},
            "scores": {c: values[c] for c in SCORE_COLUMNS if c in values},
            "recommendations": ctx.run.recommendations_for(customer_id),
        }

    @guarded.post(
        "/assign",
        tags=["customers"],
        summary="Segment of a new customer from their order lines (saved model, no refit)",
        response_model=AssignResponse,
    )
    def assign(request: AssignRequest, ctx: Ctx) -> AssignResponse:
        return assign_customer(ctx.run, request)

    @guarded.post(
        "/customers/{customer_id}/update",
        tags=["customers"],
        summary="Real time: a customer's new orders, reviews and events in; their segment, value and products out",
        response_model=CustomerUpdateResponse,
    )
    async def update(customer_id: CustomerId, body: CustomerUpdate, ctx: Ctx) -> Response:
        # async: about a millisecond of NumPy, answered on the event loop (a thread hand-off costs as much);
        # the first update builds the run's live model, in a thread.
        live = ctx.live() if ctx.live.ready else await run_in_threadpool(ctx.live)
        names = ctx.run.segment_names()
        if embeds_text(live, body):  # a text model call takes milliseconds: in a thread, the loop serves others
            payload = await run_in_threadpool(update_customer, live, names, customer_id, body)
        else:
            payload = update_customer(live, names, customer_id, body)
        return Response(json_bytes(payload), media_type="application/json")  # already the response model's shape

    @guarded.post("/audiences", tags=["audiences"], status_code=201, summary="Build an audience from filters and text")
    def create_audience(filters: AudienceFilters, response: Response, ctx: Ctx) -> Any:
        audience = audience_from_filters(ctx.run, filters, ctx.topics)
        ctx.audiences.add(audience)
        response.headers["Location"] = f"/audiences/{audience.id}"
        return audience.summary(ctx.run)

    @guarded.get("/audiences/{audience_id}.csv", tags=["audiences"], summary="Export an audience as CSV")
    def audience_csv(audience_id: AudienceId, ctx: Ctx) -> Response:
        data = csv_bytes(_audience(ctx, audience_id).table(ctx.run))
        disposition = f'attachment; filename="audience-{audience_id}.csv"'
        return Response(data, media_type="text/csv; charset=utf-8", headers={"Content-Disposition": disposition})

    @guarded.get("/audiences/{audience_id}.parquet", tags=["audiences"], summary="Export an audience as Parquet")
    def audience_parquet(audience_id: AudienceId, ctx: Ctx) -> Response:
        data = parquet_bytes(_audience(ctx, audience_id).table(ctx.run))
        disposition = f'attachment; filename="audience-{audience_id}.parquet"'
        return Response(data, media_type="application/vnd.apache.parquet", headers={"Content-Disposition": disposition})

    @guarded.get("/audiences/{audience_id}", tags=["audiences"], summary="An audience's summary and preview")
    def get_audience(request: Request, audience_id: AudienceId, ctx: Ctx) -> Response:
        audience = _audience(ctx, audience_id)
        if wants_html(request):
            return audience_page(request, ctx, audience)
        return JSONResponse(audience.summary(ctx.run))

    guarded.include_router(demand_router())
    router.include_router(guarded)
    return router
