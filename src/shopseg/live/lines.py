"""Lines posted to the real-time update, checked and turned into arrays without pandas.

The rules are the input checks of files (:mod:`shopseg.ingest.validate`) for the fields a
JSON client sends: a date that cannot be read (ISO 8601: ``2024-05-01``, ``2024-05-01
14:03:00``, ``2024-05-01T14:03:00.5``, a time zone is converted to UTC), a date in the future
(more than two days ahead) or before 1970, a negative price, a zero or absurd quantity, a
price or line amount over ten billion, a rating outside 0..10. A line that breaks one makes
the whole request fail (:class:`RejectedLines`, 422 in the API) naming line, column and
reason: a caller wants its data fixed, not silently dropped. Returns are recognised as in
files (negative quantity or amount, or a return status) and carry a negative amount.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from shopseg import schema as s
from shopseg.errors import ShopsegError
from shopseg.ingest.validate import MAX_AMOUNT

MAX_QUANTITY = 100_000
EPOCH = datetime(1970, 1, 1)


class RejectedLines(ShopsegError):
    """Posted lines that failed the checks; ``problems`` lists table, line, column, value and reason."""

    def __init__(self, problems: list[dict[str, Any]]) -> None:
        self.problems = problems
        first = problems[0]
        super().__init__(
            f"{len(problems)} posted line(s) failed the input checks (first: {first['table']}[{first['line']}], "
            f"column '{first['column']}': {first['reason']}). Fix or remove them and send again."
        )


def parse_seconds(value: str, now: datetime) -> float | str:
    """Seconds since 1970 of an ISO 8601 date or date-time, or the reason it is refused."""
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        return "not a date (send ISO 8601, e.g. 2024-05-01 14:03:00)"
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    if moment > now:
        return "date in the future"
    if moment < EPOCH:
        return "date before 1970"
    return (moment - EPOCH) / timedelta(seconds=1)


def _blank(value: object) -> str | None:
    return None if value is None or value == "" else str(value)


def check_lines(
    orders: Sequence[Mapping[str, Any]],
    reviews: Sequence[Mapping[str, Any]],
    events: Sequence[Mapping[str, Any]],
    now: datetime | None = None,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    """Typed order lines, reviews and events (dicts), or :class:`RejectedLines` naming every problem."""
    now = now or (datetime.now() + timedelta(days=2))
    problems: list[dict[str, Any]] = []

    def refuse(table: str, line: int, column: str, value: object, reason: str) -> None:
        problems.append({"table": table, "line": line, "column": column, "value": value, "reason": reason})

    def when(table: str, line: int, row: Mapping[str, Any]) -> float | None:
        moment = parse_seconds(str(row[s.TS]), now)
        if isinstance(moment, str):
            refuse(table, line, s.TS, row[s.TS], moment)
            return None
        return moment

    typed_orders = []
    for line, row in enumerate(orders):
        moment = when("orders", line, row)
        quantity, price, amount = row.get(s.QUANTITY), row.get(s.UNIT_PRICE), row.get(s.AMOUNT)
        bad = moment is None
        if price is not None and price < 0:
            refuse("orders", line, s.UNIT_PRICE, price, "negative price")
            bad = True
        if price is not None and price > MAX_AMOUNT:
            refuse("orders", line, s.UNIT_PRICE, price, f"absurd amount (more than {MAX_AMOUNT:,.0f})")
            bad = True
        if quantity is not None and quantity == 0:
            refuse("orders", line, s.QUANTITY, quantity, "zero quantity")
            bad = True
        if quantity is not None and abs(quantity) > MAX_QUANTITY:
            refuse("orders", line, s.QUANTITY, quantity, f"absurd quantity (more than {MAX_QUANTITY:,.0f})")
            bad = True
        if amount is None and quantity is not None and price is not None:
            amount = quantity * price
        if amount is None or not math.isfinite(amount) or abs(amount) > MAX_AMOUNT:
            refuse("orders", line, s.AMOUNT, amount, f"absurd amount (more than {MAX_AMOUNT:,.0f})")
            bad = True
        if bad:
            continue
        status = str(row.get(s.STATUS) or "").lower()
        is_return = amount < 0 or (quantity is not None and quantity < 0) or status in s.RETURN_STATUSES
        units = abs(quantity) if quantity is not None else None
        typed_orders.append(
            {
                s.TS: moment,
                s.ORDER_ID: str(row[s.ORDER_ID]),
                s.AMOUNT: -abs(amount) if is_return else abs(amount),
                s.QUANTITY: units,
                s.PRODUCT_ID: _blank(row.get(s.PRODUCT_ID)),
                s.IS_RETURN: bool(is_return),
            }
        )
    typed_reviews = []
    for line, row in enumerate(reviews):
        moment = when("reviews", line, row)
        rating = row.get(s.RATING)
        if rating is not None and not 0 <= rating <= 10:
            refuse("reviews", line, s.RATING, rating, "rating outside 0..10")
            continue
        if moment is not None:
            typed_reviews.append(
                {
                    s.TS: moment,
                    s.RATING: float(rating) if rating is not None else math.nan,
                    s.TEXT: _blank(row.get(s.TEXT)),
                }
            )
    typed_events = []
    for line, row in enumerate(events):
        moment = when("events", line, row)
        if moment is not None:
            typed_events.append(
                {
                    s.TS: moment,
                    s.EVENT_TYPE: str(row[s.EVENT_TYPE]).lower(),
                    s.PRODUCT_ID: _blank(row.get(s.PRODUCT_ID)),
                    s.SESSION_ID: _blank(row.get(s.SESSION_ID)),
                    s.QUERY: _blank(row.get(s.QUERY)),
                }
            )
    if problems:
        raise RejectedLines(problems)
    return typed_orders, typed_reviews, typed_events
