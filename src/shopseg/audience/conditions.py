"""Audience conditions: what a customer must satisfy, in a small syntax a person can read, edit and give back.

A :class:`Conditions` is a list of :class:`Condition` (field, operator, value), all of which
must hold, plus an optional topic (what the customers are into, matched by
:mod:`shopseg.audience.topics`). Its text form, :meth:`Conditions.where`, is what
``shopseg audience --explain`` prints and what ``--where`` (and the API's ``where``) accepts::

    spend > 500 and orders >= 3 and days_since_last_order <= 30 and topic = "outdoor gear"
    clv >= p80 and churn_risk >= 0.5 and segment in (1, 4) and last_order < 2024-01-01

================== ======================= ============================================
field              column of the run       values
================== ======================= ============================================
spend              monetary_total          money (total spend on purchases)
orders             frequency               a number of orders
days_since_last_order recency_days         days before the run's reference date
clv                clv                     money, or ``pNN``: the NN-th percentile of the
                                           run's CLV ("top 20 %" is ``clv >= p80``)
churn_risk         churn_risk              a probability 0..1
segment            segment_id              ``segment in (1, 4)`` or ``segment = 2``
last_order         last_order_date         a date YYYY-MM-DD
topic              (text matching)         a quoted phrase: ``topic = "outdoor gear"``
================== ======================= ============================================

Operators: ``>``, ``>=``, ``<``, ``<=``, ``=`` and ``in``; conditions are joined by ``and``.
Bounds are exact: ``spend > 500`` keeps 500.01, not 500. Contradictory bounds on one field
(``spend > 500 and spend < 100``) are an :class:`AudienceError`. No eval: the syntax is read
by one regular expression per condition.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

from shopseg.errors import ShopsegError


class AudienceError(ShopsegError):
    """An audience request that cannot be read or answered (bad syntax, contradiction, a column the run lacks)."""


@dataclass(frozen=True)
class Field:
    """A field of the condition syntax: the column it filters and the kind of value it takes."""

    name: str
    column: str
    kind: str  # "money", "count", "days", "probability", "ids", "date"
    description: str


#: The fields of the syntax (a registry: the parser, the filter and the docs read it).
FIELDS: dict[str, Field] = {
    f.name: f
    for f in (
        Field("spend", "monetary_total", "money", "total spend on purchases"),
        Field("orders", "frequency", "count", "number of orders"),
        Field("days_since_last_order", "recency_days", "days", "days since the last order"),
        Field("clv", "clv", "money", "predicted customer lifetime value"),
        Field("churn_risk", "churn_risk", "probability", "churn risk (0..1)"),
        Field("segment", "segment_id", "ids", "segment id"),
        Field("last_order", "last_order_date", "date", "date of the last order"),
    )
}
TOPIC = "topic"
OPERATORS = (">=", "<=", ">", "<", "=", "in")
LOWER, UPPER = frozenset({">", ">="}), frozenset({"<", "<="})


@dataclass(frozen=True)
class Percentile:
    """A value given as a percentile of the run's column (``p80``), resolved when the audience is built."""

    q: float

    def __str__(self) -> str:
        return f"p{self.q:g}"


Value = float | Percentile | dt.date | tuple[int, ...]


def _format_value(value: Value) -> str:
    if isinstance(value, tuple):
        return "(" + ", ".join(str(v) for v in value) + ")"
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float):
        return f"{value:g}" if abs(value) < 1e15 else repr(value)
    return str(value)


@dataclass(frozen=True)
class Condition:
    """One condition: ``field op value`` (e.g. spend > 500); ``words`` are what it was read from, if from text."""

    field: str
    op: str
    value: Value
    words: str | None = None

    def __post_init__(self) -> None:
        if self.field not in FIELDS:
            raise AudienceError(f"Unknown field '{self.field}'. Known: {', '.join([*FIELDS, TOPIC])}.")
        kind = FIELDS[self.field].kind
        allowed = ("in",) if kind == "ids" else tuple(o for o in OPERATORS if o != "in")
        if self.op not in allowed:
            raise AudienceError(f"'{self.field}' takes {', '.join(allowed)}, not '{self.op}'.")
        if isinstance(self.value, Percentile) and self.field != "clv":
            raise AudienceError(f"Percentiles (p80) are for clv only, not '{self.field}'.")
        if isinstance(self.value, Percentile) and not 0 <= self.value.q <= 100:
            raise AudienceError(f"A percentile is between p0 and p100, got {self.value}.")
        if kind == "probability" and isinstance(self.value, float) and not 0.0 <= self.value <= 1.0:
            raise AudienceError(f"{self.field} is a probability between 0 and 1, got {self.value:g}.")
        if kind in ("days", "count") and isinstance(self.value, float) and self.value < 0:
            raise AudienceError(f"{self.field} cannot be negative, got {self.value:g}.")

    def text(self) -> str:
        """The condition in the ``--where`` syntax."""
        return f"{self.field} {self.op} {_format_value(self.value)}"


@dataclass
class Conditions:
    """All conditions of an audience (joined by *and*) and its topic; see the module docstring."""

    items: list[Condition] = field(default_factory=list)
    topic: str | None = None

    def __post_init__(self) -> None:
        self.check()

    def fields(self) -> set[str]:
        return {c.field for c in self.items}

    def where(self) -> str:
        """Every condition and the topic in the syntax ``--where`` reads back (empty: everybody)."""
        parts = [c.text() for c in self.items]
        if self.topic:
            parts.append(f'{TOPIC} = "{self.topic}"')
        return " and ".join(parts)

    def check(self) -> None:
        """Refuse bounds that no customer can meet (``spend > 500 and spend < 100``)."""
        for name in {c.field for c in self.items}:
            lows = [c for c in self.items if c.field == name and c.op in LOWER | {"="}]
            highs = [c for c in self.items if c.field == name and c.op in UPPER | {"="}]
            for low in lows:
                for high in highs:
                    if low is high or any(isinstance(c.value, Percentile | tuple) for c in (low, high)):
                        continue
                    strict = low.op == ">" or high.op == "<"
                    if low.value > high.value or (strict and low.value == high.value):
                        raise AudienceError(
                            f"The conditions '{low.text()}' and '{high.text()}' contradict each other: "
                            "no customer can meet both."
                        )

    def merged_with(self, other: Conditions) -> tuple[Conditions, list[str]]:
        """These conditions completed by ``other``'s; notes on what was overridden.

        ``self`` wins bound by bound (explicit filters over ones read from a sentence): its
        lower bound on a field replaces ``other``'s lower bound there, its upper bound the
        upper one (``=`` is both; segments are one); the topic of ``self`` wins when both
        have one.
        """

        def clashes(a: Condition, b: Condition) -> bool:
            return a.field == b.field and bool(_sides(a) & _sides(b))

        notes = [
            f"'{c.text()}' read from the description was replaced by the explicit "
            + " and ".join(f"'{m.text()}'" for m in self.items if clashes(m, c))
            for c in other.items
            if any(clashes(m, c) for m in self.items)
        ]
        items = [*self.items, *(c for c in other.items if not any(clashes(m, c) for m in self.items))]
        topic = self.topic or other.topic
        if self.topic and other.topic and self.topic != other.topic:
            notes.append(f"topic '{other.topic}' read from the description was replaced by '{self.topic}'")
        return Conditions(items, topic), notes


def _sides(condition: Condition) -> set[str]:
    """Which bounds a condition sets: lower, upper, both (=) or membership (in)."""
    if condition.op in LOWER:
        return {"lower"}
    if condition.op in UPPER:
        return {"upper"}
    return {"lower", "upper"} if condition.op == "=" else {"in"}


# --- the --where syntax -------------------------------------------------------------------

_NUMBER = r"-?\d[\d,_]*(?:\.\d+)?|-?\.\d+"
_DATE = r"\d{4}-\d{2}-\d{2}"
_CONDITION = re.compile(
    rf"""^\s*(?P<field>[a-z_]+)\s*
    (?:(?P<op>>=|<=|>|<|=|==)\s*
        (?:(?P<date>{_DATE})|p(?P<percentile>\d+(?:\.\d+)?)|(?P<number>{_NUMBER})\s*(?P<unit>%|d|days?)?
           |"(?P<dq>[^"]*)"|'(?P<sq>[^']*)'|(?P<id>\d+))
      |\s+in\s*\((?P<ids>\s*\d+(?:\s*,\s*\d+)*\s*)\))\s*$""",
    re.IGNORECASE | re.VERBOSE,
)
_SPLIT_AND = re.compile(r"\s+and\s+(?=(?:[^\"']*[\"'][^\"']*[\"'])*[^\"']*$)", re.IGNORECASE)
#: Other spellings the syntax accepts for a field.
ALIASES = {
    "recency_days": "days_since_last_order",
    "recency": "days_since_last_order",
    "frequency": "orders",
    "monetary_total": "spend",
    "segment_id": "segment",
    "segments": "segment",
    "last_order_date": "last_order",
}


def parse_where(text: str) -> Conditions:
    """Conditions from the ``--where`` syntax (module docstring); an :class:`AudienceError` says what is wrong."""
    items: list[Condition] = []
    topic = None
    text = text.strip()
    if not text:
        return Conditions()
    for part in _SPLIT_AND.split(text):
        match = _CONDITION.match(part)
        if match is None:
            raise AudienceError(
                f"Cannot read the condition '{part.strip()}'. Write FIELD OP VALUE joined by 'and', e.g. "
                "'spend > 500 and orders >= 3 and topic = \"outdoor\"'; fields: "
                f"{', '.join([*FIELDS, TOPIC])}."
            )
        name = match.group("field").lower()
        name = ALIASES.get(name, name)
        op = "=" if match.group("op") == "==" else (match.group("op") or "in")
        if name == TOPIC:
            phrase = match.group("dq") if match.group("dq") is not None else match.group("sq")
            if op != "=" or not phrase or not phrase.strip():
                raise AudienceError(f"Write the topic as topic = \"words\", got '{part.strip()}'.")
            topic = " ".join(phrase.split())
            continue
        if name not in FIELDS:
            raise AudienceError(f"Unknown field '{name}' in '{part.strip()}'. Known: {', '.join([*FIELDS, TOPIC])}.")
        if FIELDS[name].kind == "ids" and op == "=":  # segment = 2 is segment in (2)
            op = "in"
        items.append(Condition(name, op, _value(name, match, part.strip()), words=None))
    return Conditions(items, topic)


def _value(name: str, match: re.Match[str], part: str) -> Value:
    kind = FIELDS[name].kind
    if match.group("ids") is not None:
        return tuple(int(x) for x in re.findall(r"\d+", match.group("ids")))
    if kind == "ids":
        raw = match.group("id") or match.group("number")
        if raw is None or not raw.isdigit():
            raise AudienceError(f"'{part}': a segment is a whole number, e.g. segment in (1, 4).")
        return (int(raw),)
    if match.group("date") is not None:
        if kind != "date":
            raise AudienceError(f"'{part}': {name} takes a number, not a date.")
        try:
            return dt.date.fromisoformat(match.group("date"))
        except ValueError:
            raise AudienceError(f"'{part}': not a date (YYYY-MM-DD).") from None
    if kind == "date":
        raise AudienceError(f"'{part}': {name} takes a date YYYY-MM-DD.")
    if match.group("percentile") is not None:
        return Percentile(float(match.group("percentile")))
    raw = match.group("number") or match.group("id")
    if raw is None:
        raise AudienceError(f"'{part}': {name} takes a number.")
    number = float(raw.replace(",", "").replace("_", ""))
    unit = (match.group("unit") or "").lower()
    if unit == "%":
        number /= 100.0
    elif unit and kind != "days":
        raise AudienceError(f"'{part}': {name} is not a number of days.")
    return number
