"""Audiences: the customers of a run that pass a set of filters, ranked, kept for export.

:func:`build_audience` applies :class:`~shopseg.serve.filters.AudienceFilters` to the run's
customer table with vectorised masks (no loop over customers): segments, CLV (absolute or
a top/bottom share, resolved to a threshold and reported), churn risk, recency and last
order date, then a taste description when one is left after parsing the text. Members are
ranked by taste score when there is one, by predicted value otherwise. Every step adds a
line to ``understood`` so the person asking sees what was done with their words.

Audiences live in an :class:`AudienceStore` (in memory, bounded, per app) so that
``/audiences/{id}.csv`` can export what ``POST /audiences`` built.
"""

from __future__ import annotations

import io
import secrets
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd
from pydantic import ValidationError

from shopseg import schema as s
from shopseg.errors import ShopsegError
from shopseg.export.safe_csv import neutralise_formulas
from shopseg.serve.filters import AudienceFilters
from shopseg.serve.nl_audience import parse_audience
from shopseg.serve.run_data import LAST_ORDER, RunData, jsonable
from shopseg.serve.taste import TasteMatcher

TASTE_SCORE = "taste_score"
#: Columns of an exported audience, those the run has, in this order.
EXPORT_COLUMNS = (
    s.CUSTOMER_ID,
    s.SEGMENT_ID,
    s.SEGMENT_NAME,
    LAST_ORDER,
    "recency_days",
    "frequency",
    "monetary_total",
    "clv",
    "p_alive",
    "churn_risk",
    "high_value_prob",
    TASTE_SCORE,
)
AUDIENCE_ID_PATTERN = r"^[0-9a-f]{16}$"


class AudienceError(ShopsegError):
    """An audience request that this run cannot answer (unknown segment, a score the run lacks)."""


@dataclass
class Audience:
    """A built audience: who is in it (ranked), how it was understood, and the filters applied."""

    id: str
    filters: AudienceFilters
    understood: list[str]
    rows: np.ndarray  # positions in run.segments, ranked (int32: 4 bytes a member, whatever the id)
    matching: int  # customers passing the filters, before the ``top`` cap
    taste: str | None = None
    taste_scores: np.ndarray | None = None  # float32, aligned with ``rows``
    created: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))

    @property
    def size(self) -> int:
        return len(self.rows)

    def table(self, run: RunData) -> pd.DataFrame:
        """The export: one row per member with segment, value and risk columns (those the run has)."""
        rows = run.segments.iloc[self.rows].reset_index(drop=True)
        if self.taste_scores is not None:
            rows[TASTE_SCORE] = self.taste_scores.astype("float64")
        if LAST_ORDER in rows:
            rows[LAST_ORDER] = rows[LAST_ORDER].dt.strftime("%Y-%m-%d")
        rows = rows[[c for c in EXPORT_COLUMNS if c in rows]]
        decimals = {c: 4 for c in rows.columns if pd.api.types.is_float_dtype(rows[c])}
        return rows.round(decimals)

    def summary(self, run: RunData, preview: int = 20) -> dict[str, Any]:
        """JSON for the API: id, size, what was understood, the filters and the first rows."""
        head = self.table(run).head(preview)
        return {
            "id": self.id,
            "size": self.size,
            "matching": self.matching,
            "created": self.created,
            "understood": self.understood,
            "filters": self.filters.model_dump(mode="json", exclude_none=True),
            "taste": self.taste,
            "preview": [jsonable(row) for row in head.to_dict("records")],
            "exports": {"csv": f"/audiences/{self.id}.csv", "parquet": f"/audiences/{self.id}.parquet"},
        }


def _column(run: RunData, name: str, what: str) -> pd.Series:
    if name not in run.segments:
        raise AudienceError(
            f"This run has no {what} ('{name}' is not in segments.parquet), so it cannot filter on it. "
            "Re-run 'shopseg segment' with the value stage on (the default) to get CLV and churn risk."
        )
    return run.segments[name]


def apply_filters(run: RunData, filters: AudienceFilters) -> tuple[np.ndarray, list[str]]:
    """Boolean mask over ``run.segments`` and one line per filter saying what it did."""
    table = run.segments
    mask = np.ones(len(table), dtype=bool)
    notes: list[str] = []
    if filters.segment_ids is not None:
        unknown = sorted(set(filters.segment_ids) - set(run.profiles))
        if unknown:
            raise AudienceError(
                f"Unknown segment id {', '.join(map(str, unknown))}: this run has segments "
                f"{', '.join(map(str, sorted(run.profiles)))}."
            )
        mask &= table[s.SEGMENT_ID].isin(filters.segment_ids).to_numpy()
        names = run.segment_names()
        notes.append("segments: " + "; ".join(f"{i} ({names[i]})" for i in filters.segment_ids))
    if filters.clv_top_share is not None or filters.clv_bottom_share is not None:
        clv = _column(run, "clv", "predicted customer value (CLV)")
        if filters.clv_top_share is not None:
            threshold = float(clv.quantile(1 - filters.clv_top_share))
            mask &= (clv >= threshold).to_numpy()
            notes.append(f"top {filters.clv_top_share:.0%} by CLV: clv >= {threshold:,.2f}")
        if filters.clv_bottom_share is not None:
            threshold = float(clv.quantile(filters.clv_bottom_share))
            mask &= (clv <= threshold).to_numpy()
            notes.append(f"bottom {filters.clv_bottom_share:.0%} by CLV: clv <= {threshold:,.2f}")
    for name, column, what in (
        ("clv", "clv", "predicted customer value (CLV)"),
        ("churn_risk", "churn_risk", "churn risk"),
        ("recency", "recency_days", "days since the last order"),
    ):
        low = getattr(filters, f"{name}_min" if name != "recency" else "recency_min_days")
        high = getattr(filters, f"{name}_max" if name != "recency" else "recency_max_days")
        if low is None and high is None:
            continue
        values = _column(run, column, what)
        if low is not None:
            mask &= (values >= low).to_numpy()
            notes.append(f"{column} >= {low:g}")
        if high is not None:
            mask &= (values <= high).to_numpy()
            notes.append(f"{column} <= {high:g}")
    if filters.last_order_before is not None or filters.last_order_after is not None:
        last = _column(run, LAST_ORDER, "last order date")
        if filters.last_order_before is not None:
            mask &= (last < pd.Timestamp(filters.last_order_before)).to_numpy()
            notes.append(f"last order before {filters.last_order_before.isoformat()}")
        if filters.last_order_after is not None:
            mask &= (last >= pd.Timestamp(filters.last_order_after)).to_numpy()
            notes.append(f"last order on or after {filters.last_order_after.isoformat()}")
    return mask, notes


def build_audience(
    run: RunData, request: AudienceFilters, taste_matcher: Callable[[], TasteMatcher] | None = None
) -> Audience:
    """The audience ``request`` describes; see the module docstring.

    ``taste_matcher`` is called only when a taste description is left after parsing, so the
    matcher (which reads the run's store once) is built lazily.
    """
    understood: list[str] = []
    filters, taste = request, None
    if request.description and request.description.strip():
        try:
            parsed = parse_audience(request.description, run.segment_names())
            filters, conflicts = request.merged_with(parsed.filters)
        except ValidationError as error:
            reason = str(error.errors()[0]["msg"]).removeprefix("Value error, ")
            raise AudienceError(f"The description and filters contradict each other: {reason}.") from None
        understood += [f"read from the description: {line}" for line in parsed.understood] + conflicts
        taste = parsed.taste
    mask, notes = apply_filters(run, filters)
    understood += [f"filter: {note}" for note in notes]
    table = run.segments
    taste_scores = None
    if taste and taste_matcher is not None:
        scores = taste_matcher().score(taste)
        mask &= scores.matched.reindex(table.index, fill_value=False).to_numpy()
        taste_scores = scores.scores.reindex(table.index, fill_value=0.0).to_numpy(dtype="float64")
        understood.append(scores.explanation)
        order = np.lexsort((-_clv_or_zero(run), -taste_scores))
    else:
        order = np.argsort(-_clv_or_zero(run), kind="stable")
        understood.append("ranked by predicted value (CLV)" if "clv" in table else "ordered by customer id")
    order = order[mask[order]]
    matching = len(order)
    if filters.top is not None and matching > filters.top:
        order = order[: filters.top]
        understood.append(f"kept the first {filters.top:,} of {matching:,} matching customers")
    return Audience(
        id=secrets.token_hex(8),
        filters=filters,
        understood=understood,
        rows=order.astype("int32"),
        matching=matching,
        taste=taste,
        taste_scores=taste_scores[order].astype("float32") if taste_scores is not None else None,
    )


def _clv_or_zero(run: RunData) -> np.ndarray:
    if "clv" in run.segments:
        return run.segments["clv"].fillna(0.0).to_numpy(dtype="float64")
    return np.zeros(len(run.segments))


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
