"""Serve a saved run: a REST API (FastAPI, OpenAPI docs at ``/docs``) and a dashboard, in one app.

``create_app(run_dir, api_key)`` builds the app; ``shopseg serve --run RUN_DIR`` runs it
with uvicorn. Needs the ``serve`` extra (fastapi, uvicorn, jinja2).

=================== ====================================================================
app.py              the app factory, error handlers, middleware order
api.py              JSON routes: segments, customers, /assign, audiences and exports
dashboard.py        server-rendered pages (Jinja2 templates in ``templates/``)
charts.py           the dashboard's charts (the report's, and one segment's)
assign.py           new customer's lines -> checks -> features -> saved model
audiences.py        request filters -> shopseg.audience conditions; the audience store; exports
filters.py          the audience filter model shared by API and dashboard
security.py         API key and session cookie, body size limit, access log without PII
context.py          the per-app state object and the FastAPI dependencies
=================== ====================================================================
"""

from shopseg.serve.app import create_app

__all__ = ["create_app"]
