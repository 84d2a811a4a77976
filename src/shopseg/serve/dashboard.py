"""The dashboard: server-rendered pages over the same run as the API, working offline.

=========================== ========================================================
``/``                       overview: counts, the segment table and the report's charts
``/segments/{id}``          one segment (a browser asking for HTML; API clients get JSON)
``/lookup?customer_id=``    a customer's segment, scores and recommendations
``/audiences/new``          the audience builder form; posting it builds an audience and
                            redirects to ``/audiences/{id}`` (preview and export links)
``/static/plotly.js``       Plotly's library, from the installed plotly package
=========================== ========================================================

Templates are Jinja2 with autoescaping on, so every text from data is escaped; the only
unescaped fragments are charts rendered by Plotly (which escapes its JSON). Nothing is
loaded from the network: the Content-Security-Policy set by the security middleware
forbids it.
"""

from __future__ import annotations

import gzip
import hashlib
import math
from functools import lru_cache
from typing import Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup
from plotly.offline import get_plotlyjs
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import ImmutableMultiDict

from shopseg.errors import ShopsegError
from shopseg.run_data import SCORE_COLUMNS, SUMMARY_COLUMNS, jsonable
from shopseg.serve.audiences import Audience, audience_from_filters
from shopseg.serve.charts import Chart, label, segment_charts
from shopseg.serve.context import Ctx, ServeContext, context, require_key
from shopseg.serve.filters import AudienceFilters
from shopseg.serve.security import NONCE_STATE

PREVIEW_ROWS = 50
_FORM_FIELDS = frozenset(AudienceFilters.model_fields)


def fmt(value: object, digits: int = 2) -> str:
    """A number for a table cell: thousands separators, ``digits`` decimals, '-' when missing."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.0f}" if value.is_integer() and abs(value) < 1e15 else f"{value:,.{digits}f}"
    return str(value)


@lru_cache(maxsize=1)
def environment() -> Environment:
    """The Jinja2 environment over the package's templates (autoescaping on)."""
    env = Environment(loader=PackageLoader("shopseg.serve", "templates"), autoescape=select_autoescape(["html"]))
    env.globals.update(fmt=fmt, label=label)
    return env


def page(request: Request, template: str, *, status: int = 200, **values: Any) -> HTMLResponse:
    """Render a template with the values every page needs (run name, navigation)."""
    ctx = context(request)
    charts = values.pop("charts", None)
    if charts is not None:
        # Plotly's own output (escaped JSON); its inline script runs only with this response's CSP nonce.
        nonce = getattr(request.state, NONCE_STATE, "")
        values["charts"] = [Chart(c.id, c.title, Markup(with_nonce(c.html, nonce))) for c in charts]
    html = environment().get_template(template).render(run_name=ctx.run.run_dir.name, **values)
    return HTMLResponse(html, status_code=status)


def with_nonce(html: str, nonce: str) -> str:
    """``html`` with every ``<script>`` tag carrying ``nonce`` (the Content-Security-Policy allows no other)."""
    return html.replace("<script>", f'<script nonce="{nonce}">').replace(
        '<script type="text/javascript">', f'<script type="text/javascript" nonce="{nonce}">'
    )


def message_page(request: Request, status: int, heading: str, message: str) -> HTMLResponse:
    """An error or notice as a page (401, 404, 422 for browsers)."""
    return page(request, "message.html", status=status, title=heading, heading=heading, message=message)


@lru_cache(maxsize=1)
def plotly_bundle() -> tuple[bytes, bytes, str]:
    """Plotly's JavaScript, its gzip and an ETag: built once per process (the library is ~4.6 MB)."""
    source = get_plotlyjs().encode("utf-8")
    return source, gzip.compress(source, 6), '"' + hashlib.sha256(source).hexdigest()[:32] + '"'


def segment_page(request: Request, ctx: ServeContext, segment_id: int) -> HTMLResponse:
    """One segment: persona, playbook, keywords, charts, top products, distinguishing features."""
    profile = ctx.run.profiles.get(segment_id)
    if profile is None:
        return message_page(request, 404, "Segment not found", f"This run has no segment {segment_id}.")
    keywords = [k["term"] for source in ("reviews", "purchases") for k in profile.get("keywords", {}).get(source, [])]
    return page(
        request,
        "segment.html",
        title=profile["name"],
        nav="overview",
        p=profile,
        keywords=list(dict.fromkeys(keywords))[:16],
        charts=segment_charts(ctx.run, profile),
    )


def audience_page(request: Request, ctx: ServeContext, audience: Audience) -> HTMLResponse:
    """A built audience: size, what was understood, preview rows and export links."""
    table = audience.table(ctx.run).head(PREVIEW_ROWS)
    return page(
        request,
        "audience.html",
        title=f"Audience {audience.id}",
        nav="audience",
        a=audience,
        columns=list(table.columns),
        rows=[jsonable(row) for row in table.to_dict("records")],
    )


def _form_filters(form: ImmutableMultiDict) -> AudienceFilters:
    """AudienceFilters from the builder form: empty fields are left out, segment boxes become a list."""
    values: dict[str, Any] = {
        k: v.strip() for k, v in form.multi_items() if k in _FORM_FIELDS and k != "segment_ids" and v.strip()
    }
    segment_ids = form.getlist("segment_ids")
    if segment_ids:
        values["segment_ids"] = segment_ids
    return AudienceFilters.model_validate(values)


def _errors(error: ValidationError) -> list[str]:
    return [f"{'.'.join(str(p) for p in e['loc']) or 'form'}: {e['msg']}" for e in error.errors()]


def dashboard_router() -> APIRouter:
    """The dashboard's routes (not in the OpenAPI schema: they are pages, not API)."""
    router = APIRouter(include_in_schema=False)
    guarded = [Depends(require_key)]

    @router.get("/static/plotly.js")
    def plotly_js(request: Request) -> Response:
        source, compressed, etag = plotly_bundle()
        headers = {"ETag": etag, "Cache-Control": "public, max-age=86400", "Vary": "Accept-Encoding"}
        if request.headers.get("if-none-match") == etag:
            return Response(status_code=304, headers=headers)
        if "gzip" in request.headers.get("accept-encoding", ""):
            headers["Content-Encoding"] = "gzip"
            return Response(compressed, media_type="application/javascript", headers=headers)
        return Response(source, media_type="application/javascript", headers=headers)

    @router.get("/", dependencies=guarded)
    def overview(request: Request, ctx: Ctx) -> HTMLResponse:
        run = ctx.run
        model = run.record.get("model", {})
        return page(
            request,
            "overview.html",
            title="Overview",
            nav="overview",
            customers=len(run.segments),
            segments=[run.profiles[k] for k in sorted(run.profiles)],
            reference=run.reference_ts.strftime("%Y-%m-%d") if run.reference_ts is not None else None,
            model=f"{model.get('algorithm', '?')}, k = {model.get('k_chosen', len(run.profiles))}",
            charts=ctx.overview(),
        )

    @router.get("/lookup", dependencies=guarded)
    def lookup(request: Request, ctx: Ctx, customer_id: str | None = None) -> HTMLResponse:
        customer_id = (customer_id or "").strip()[:200]
        if not customer_id:
            return page(request, "lookup.html", title="Customer lookup", nav="lookup")
        row = ctx.run.customer(customer_id)
        if row is None:
            return page(
                request,
                "lookup.html",
                status=404,
                title="Customer lookup",
                nav="lookup",
                customer_id=customer_id,
                missing=True,
            )
        shown = [c for c in ("last_order_date", *SUMMARY_COLUMNS, *SCORE_COLUMNS) if c in row.index]
        values = jsonable({c: row[c] for c in shown})
        customer = {
            "customer_id": customer_id,
            "segment_id": int(row["segment_id"]),
            "segment_name": row["segment_name"],
            "rows": [(label(c), fmt(v) if not isinstance(v, str) else v[:10]) for c, v in values.items()],
            "recommendations": ctx.run.recommendations_for(customer_id),
        }
        return page(
            request, "lookup.html", title="Customer lookup", nav="lookup", customer_id=customer_id, customer=customer
        )

    @router.get("/audiences/new", dependencies=guarded)
    def new_audience(request: Request, ctx: Ctx, segment_id: int | None = None) -> HTMLResponse:
        form = ImmutableMultiDict([("segment_ids", str(segment_id))] if segment_id is not None else [])
        return _builder(request, ctx, form)

    @router.post("/audiences/new", dependencies=guarded)
    async def create_audience(request: Request, ctx: Ctx) -> Response:
        body = (await request.body()).decode("utf-8", errors="replace")
        form = ImmutableMultiDict(parse_qsl(body, keep_blank_values=True))
        try:
            filters = _form_filters(form)
            # Off the event loop: the first topic query loads the text model or builds TF-IDF (seconds).
            audience = await run_in_threadpool(audience_from_filters, ctx.run, filters, ctx.topics)
        except ValidationError as error:
            return _builder(request, ctx, form, _errors(error), status=422)
        except ShopsegError as error:
            return _builder(request, ctx, form, [str(error)], status=422)
        ctx.audiences.add(audience)
        return RedirectResponse(f"/audiences/{audience.id}", status_code=303)

    return router


def _builder(
    request: Request, ctx: ServeContext, form: ImmutableMultiDict, errors: list[str] | None = None, status: int = 200
) -> HTMLResponse:
    segments = [ctx.run.profiles[k] for k in sorted(ctx.run.profiles)]
    return page(
        request,
        "audience_new.html",
        status=status,
        title="Audience builder",
        nav="audience",
        segments=segments,
        form=form,
        errors=errors or [],
    )
