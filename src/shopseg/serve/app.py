"""``create_app(run_dir, api_key)``: the FastAPI app serving one saved run (API + dashboard).

The run folder is read once, here; every request answers from memory. The app holds all
its state on ``app.state`` (a :class:`~shopseg.serve.context.ServeContext`), so tests and
embedding applications can create as many apps as they like. Run it with uvicorn
(``shopseg serve`` does), with ``access_log=False``: the app logs its own requests
without customer ids (see :mod:`shopseg.serve.security`).

Errors: validation problems are 422 with a ``detail`` list and a one-line ``message``;
user-fixable problems (:class:`~shopseg.errors.ShopsegError`: lines that fail the input
checks, a filter the run cannot answer) are 422 with the sentence that says what to fix;
a browser gets the same as a page.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException

from shopseg import __version__
from shopseg.audience import TopicMatcher, load_topic_matcher
from shopseg.errors import ShopsegError
from shopseg.live.lines import RejectedLines
from shopseg.run_data import RunData
from shopseg.serve.api import api_router
from shopseg.serve.assign import LinesRejected
from shopseg.serve.audiences import AudienceStore
from shopseg.serve.charts import Chart, overview_charts
from shopseg.serve.context import Lazy, ServeContext, settle_heap, wants_html
from shopseg.serve.dashboard import dashboard_router, message_page
from shopseg.serve.security import AccessLogMiddleware, BodyLimitMiddleware, KeyCheck, KeyQueryMiddleware

log = logging.getLogger("shopseg.serve")

#: Default largest request body: 10,000 order lines of JSON fit with room to spare.
MAX_BODY_BYTES = 5_000_000


def create_app(
    run_dir: str | Path,
    api_key: str | None,
    *,
    max_body_bytes: int = MAX_BODY_BYTES,
    max_audiences: int = 50,
    topic_matcher: TopicMatcher | None = None,
) -> FastAPI:
    """The app for the run in ``run_dir``; ``api_key=None`` turns authentication off (local use only).

    ``topic_matcher`` replaces the matcher chosen from the run folder (tests, custom encoders).
    """
    run = RunData.load(run_dir)
    if api_key is not None and not api_key.strip():
        raise ShopsegError("The API key is empty: give a non-empty key, or turn authentication off (--no-auth).")
    if api_key is None:
        log.warning("authentication is off: anyone who can reach this server can read the run")

    def views(served: RunData) -> tuple[Lazy[TopicMatcher], Lazy[list[Chart]]]:
        topics = (lambda: topic_matcher) if topic_matcher is not None else (lambda: load_topic_matcher(served))
        return Lazy(topics), Lazy(lambda: overview_charts(served))

    ctx = ServeContext(
        run=run,
        keys=KeyCheck(api_key),
        views=views,
        audiences=AudienceStore(max_audiences),
        max_body_bytes=max_body_bytes,
    )
    app = FastAPI(
        title="shopseg",
        version=__version__,
        summary=f"Customer segments of the run '{run.run_dir.name}': segments, customers, new-customer "
        "assignment and audiences. Send the API key in the X-API-Key header.",
    )
    app.state.shopseg = ctx
    app.include_router(dashboard_router())  # first: /audiences/new before /audiences/{id}
    app.include_router(api_router())
    _add_error_handlers(app)
    app.add_middleware(KeyQueryMiddleware, keys=ctx.keys)
    app.add_middleware(BodyLimitMiddleware, max_bytes=max_body_bytes)
    app.add_middleware(AccessLogMiddleware)  # outermost: logs every response, even a 413
    settle_heap()
    return app


def _validation_message(errors: list[dict[str, Any]]) -> str:
    parts = [f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in errors[:5]]
    more = f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
    return "Invalid request: " + "; ".join(parts) + more


def _add_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, error: RequestValidationError) -> Response:
        # The submitted values are not echoed back ("input"): they may be long or personal.
        errors = [{k: e[k] for k in ("loc", "msg", "type") if k in e} for e in error.errors()]
        return JSONResponse({"detail": errors, "message": _validation_message(errors)}, status_code=422)

    @app.exception_handler(ShopsegError)
    async def user_error(request: Request, error: ShopsegError) -> Response:
        if wants_html(request):
            return message_page(request, 422, "Cannot do that", str(error))
        body: dict[str, Any] = {"detail": str(error)}
        if isinstance(error, LinesRejected | RejectedLines):
            body["problems"] = error.problems
        return JSONResponse(body, status_code=422)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, error: HTTPException) -> Response:
        headers = getattr(error, "headers", None)
        if wants_html(request) and error.status_code in (401, 404, 413):
            titles = {401: "API key needed", 404: "Not found", 413: "Too large"}
            response = message_page(request, error.status_code, titles[error.status_code], str(error.detail))
            response.headers.update(headers or {})
            return response
        return JSONResponse({"detail": error.detail}, status_code=error.status_code, headers=headers)
