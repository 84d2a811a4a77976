"""Audiences over HTTP: request filters -> library conditions -> an audience, kept for export.

The work is :mod:`shopseg.audience` (also what ``shopseg audience`` runs). Here: the
request's explicit filters, its ``where`` conditions and its ``description`` are combined
(explicit fields win over ``where``, which wins over the description, bound by bound), and
built audiences live in an :class:`AudienceStore` (in memory, bounded, per app) so that
``/audiences/{id}.csv`` can export what ``POST /audiences`` built.
"""

from __future__ import annotations

import io
import threading
from collections import OrderedDict
from collections.abc import Callable

import pandas as pd

from shopseg.audience import Audience, AudienceError, TopicMatcher, build_audience, parse_audience, parse_where
from shopseg.export.safe_csv import neutralise_formulas
from shopseg.run_data import RunData
from shopseg.serve.filters import AudienceFilters

AUDIENCE_ID_PATTERN = r"^[0-9a-f]{16}$"

__all__ = ["AUDIENCE_ID_PATTERN", "Audience", "AudienceError", "AudienceStore", "audience_from_filters"]


def audience_from_filters(
    run: RunData, request: AudienceFilters, topic_matcher: Callable[[], TopicMatcher] | None = None
) -> Audience:
    """The audience a request describes; see the module docstring."""
    conditions = request.to_conditions()
    understood: list[str] = []
    if request.where and request.where.strip():
        conditions, notes = conditions.merged_with(parse_where(request.where))
        understood += notes
    if request.description and request.description.strip():
        parsed = parse_audience(request.description, run.segment_names())
        conditions, notes = conditions.merged_with(parsed.conditions)
        understood = [f"read from the description: {line}" for line in parsed.understood] + understood + notes
    return build_audience(run, conditions, topic_matcher, top=request.top, understood=understood)


class AudienceStore:
    """The last ``max_items`` audiences of an app, by id (thread-safe; oldest dropped first)."""

    def __init__(self, max_items: int = 50) -> None:
        self.max_items = max_items
        self._items: OrderedDict[str, Audience] = OrderedDict()
        self._lock = threading.Lock()

    def add(self, audience: Audience) -> None:
        with self._lock:
            self._items[audience.id] = audience
            while len(self._items) > self.max_items:
                self._items.popitem(last=False)

    def get(self, audience_id: str) -> Audience | None:
        with self._lock:
            return self._items.get(audience_id)


def csv_bytes(frame: pd.DataFrame) -> bytes:
    """UTF-8 CSV whose text cells cannot run as spreadsheet formulas (see shopseg.export.safe_csv)."""
    return neutralise_formulas(frame).to_csv(index=False).encode("utf-8")


def parquet_bytes(frame: pd.DataFrame) -> bytes:
    """The frame as Parquet bytes."""
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    return buffer.getvalue()
