"""``GET /demand``: expected units per segment / category / product over a horizon, from the served run.

The forecast is made on the first request for a horizon (a few seconds for a shop of
thousands of customers: the calibration windows refit the transaction model and place the
customers on the run's model as of each window's start) and kept for
the next ones, for at most :data:`CACHED_HORIZONS` horizons per served run; a rerun that
replaces the folder starts afresh. A bad horizon (not a whole number, below 1, above two
years, or longer than half the run's history) is a 422 with the sentence that says which
horizons work.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query

from shopseg import schema as s
from shopseg.demand import DemandForecast
from shopseg.demand.hierarchy import LEVEL, LEVELS
from shopseg.run_data import jsonable
from shopseg.serve.context import Ctx

#: Forecasts kept per app (one per horizon).
CACHED_HORIZONS = 8
MAX_ROWS = 10_000


class DemandCache:
    """Forecasts by (run folder identity, horizon), least recently used dropped first; thread-safe."""

    def __init__(self, size: int = CACHED_HORIZONS) -> None:
        self.size = size
        self._items: OrderedDict[tuple[object, int], DemandForecast] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, ctx: Any, horizon: object) -> DemandForecast:
        from shopseg.demand import check_horizon
        from shopseg.demand_run import load_demand_inputs, run_demand

        inputs = load_demand_inputs(ctx.run.run_dir)
        days = check_horizon(horizon, inputs.lines.history_days, flag="horizon_days")
        key = (ctx.run.identity, days)
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        forecast, _ = run_demand(inputs, days)
        with self._lock:
            self._items[key] = forecast
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return forecast


def demand_router() -> APIRouter:
    """The ``/demand`` route (include it in the guarded router)."""
    router = APIRouter()
    cache = DemandCache()

    @router.get("/demand", tags=["demand"], summary="Expected units per segment and product over a horizon")
    def get_demand(
        ctx: Ctx,
        horizon_days: Annotated[str, Query(description="Days ahead: a whole number, at most half the history.")] = "90",
        level: Annotated[str, Query(description=f"One of: {', '.join(LEVELS)}.")] = "segment/product",
        segment_id: Annotated[int | None, Query(description="Only this segment's rows.")] = None,
        product_id: Annotated[str | None, Query(description="Only this product's rows.")] = None,
        limit: Annotated[int, Query(ge=1, le=MAX_ROWS, description="Largest expected units first.")] = 1000,
    ) -> dict[str, Any]:
        if level not in LEVELS:
            raise HTTPException(422, f"Unknown level '{level}'; use one of: {', '.join(LEVELS)}.")
        forecast = cache.get(ctx, horizon_days)
        rows = forecast.levels.loc[forecast.levels[LEVEL] == level]
        if segment_id is not None:
            rows = rows.loc[rows[s.SEGMENT_ID] == segment_id]
        if product_id is not None:
            rows = rows.loc[rows[s.PRODUCT_ID] == product_id]
        rows = rows.nlargest(limit, "expected_units")
        report = forecast.report
        return {
            "horizon_days": report["horizon_days"],
            "as_of": report["as_of"],
            "window": report["window"],
            "level": level,
            "expected_units_total": report["expected_units_total"],
            "rows": [jsonable(row) for row in rows.drop(columns=[LEVEL]).to_dict("records")],
        }

    return router
