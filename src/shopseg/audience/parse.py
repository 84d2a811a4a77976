"""Natural-language audiences: conditions with units out of a sentence, the rest is the topic.

``parse_audience("outdoor buyers who spent over 500 and have not ordered in 3 months")`` reads

* spend: "spent over 500", "more than $1,000 in total", "spending at least 1.5k", "total
  spend under 50", "spent between 100 and 500" -> ``spend > 500`` ...;
* orders: "at least 3 orders", "more than 5 purchases", "3 or more orders", "ordered at least
  twice", "fewer than 2 orders", "one-time buyers" (``orders = 1``), "repeat buyers"
  (``orders >= 2``);
* recency: "not ordered in 3 months", "no orders in the last 90 days", "inactive for 6
  weeks", "last ordered over a year ago" -> ``days_since_last_order > 90``; "ordered in the
  last 30 days", "recent buyers" (30 days) -> ``days_since_last_order <= 30``;
* CLV: "clv above 200", "lifetime value of at least 1,000" -> ``clv > 200``; "high value",
  "VIP", "big spenders", "best customers" -> the top 20 % by predicted CLV (``clv >= p80``);
  "top 5 %" -> ``clv >= p95``; "low value", "bottom 10 %" -> ``clv <= p20`` / ``p10``;
* churn: "at risk", "likely to churn", "churners" -> ``churn_risk >= 0.5``; "not at risk",
  "unlikely to churn" -> ``churn_risk < 0.5``; "churn risk over 0.7" / "above 70 %" ->
  ``churn_risk > 0.7``;
* segments: "in segment 2", "segments 1 and 4", a quoted or spelled-out segment name, "in
  the bargain hunters segment";

and returns those as :class:`~shopseg.audience.conditions.Conditions`, whose topic is the
remaining words (generic ones such as "customers who" dropped), with one line per thing
understood, so a person can check what the machine took from their words. Units: money is
the shop's currency (a currency sign is read and ignored; "1.5k" is 1,500); days, weeks
(7), months (30) and years (365) become days; percentages of a probability become 0..1.
Comparisons keep their strictness: "over 500" is ``> 500``, "at least 500" is ``>= 500``.
Rules are plain regular expressions: predictable, explainable, no model.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from shopseg.audience.conditions import Condition, Conditions, Percentile

#: "high value" and its synonyms: the top share of customers by predicted CLV.
HIGH_VALUE_SHARE = 0.2
#: "at risk" means a churn risk at or above this.
AT_RISK = 0.5
#: "recent buyers" means a last order within this many days.
RECENT_DAYS = 30

_NUMBER_WORDS = {
    "a": 1,
    "an": 1,
    "one": 1,
    "once": 1,
    "two": 2,
    "twice": 2,
    "three": 3,
    "thrice": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "a couple of": 2,
    "a few": 3,
    "several": 3,
}
_UNIT_DAYS = {"day": 1, "week": 7, "month": 30, "year": 365}
_WORD_NUMBER = r"a couple of|a few|several|an?|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve"
_NUMBER = rf"(?P<n>\d+(?:\.\d+)?|{_WORD_NUMBER})"
_SPAN = rf"(?:{_NUMBER}\s+)?(?P<unit>day|week|month|year)s?"
_PERIOD = rf"(?:in|for|within|during|over)\s+(?:the\s+)?(?:last\s+|past\s+)?(?:more than\s+|over\s+)?{_SPAN}"
_VERB = r"(?:order(?:ed)?|bought|buy|purchased?|shopped|shop|visited|been back|come back|came back|returned)"
#: Comparison words -> operator (longest first, so "no more than" is not read as "more than").
_COMPARE = {
    "no more than": "<=",
    "no less than": ">=",
    "not more than": "<=",
    "not less than": ">=",
    "greater than": ">",
    "more than": ">",
    "at least": ">=",
    "at most": "<=",
    "less than": "<",
    "fewer than": "<",
    "up to": "<=",
    "exceeding": ">",
    "over": ">",
    "above": ">",
    "under": "<",
    "below": "<",
    ">=": ">=",
    "<=": "<=",
    ">": ">",
    "<": "<",
}
_CMP = "(?P<cmp>" + "|".join(re.escape(k) for k in _COMPARE) + ")"
_CURRENCY_WORD = r"(?:\s*(?:dollars|euros?|pounds|usd|eur|gbp)\b)?"
_MONEY = rf"(?:[$€£]\s*)?(?P<v>\d[\d,]*(?:\.\d+)?)\s*(?P<k>k\b|thousand\b)?{_CURRENCY_WORD}"
_COUNT = rf"(?P<c>\d+|{_WORD_NUMBER})"


@dataclass
class ParsedAudience:
    """What was read from a sentence: the conditions (with the topic) and one line per thing understood."""

    text: str
    conditions: Conditions
    understood: list[str] = field(default_factory=list)

    @property
    def topic(self) -> str | None:
        return self.conditions.topic


@dataclass
class _Finding:
    conditions: list[Condition]
    segment_ids: list[int] = field(default_factory=list)


def _quoted(match: re.Match[str]) -> str:
    return " ".join(match.group(0).split())


def _count(raw: str) -> float:
    raw = raw.strip()
    return float(raw) if raw[0].isdigit() else float(_NUMBER_WORDS[raw])


def _days(match: re.Match[str]) -> float:
    """Days in a matched span such as '3 months' or 'a year' (a missing number reads as 1)."""
    return _count(match.group("n") or "1") * _UNIT_DAYS[match.group("unit")]


def _money(match: re.Match[str]) -> float:
    value = float(match.group("v").replace(",", ""))
    return value * 1000 if match.group("k") else value


def _op(match: re.Match[str]) -> str:
    return _COMPARE[" ".join(match.group("cmp").lower().split())]


def _one(field_name: str, op: str, value: object) -> Callable[[re.Match[str]], _Finding]:
    def reading(match: re.Match[str]) -> _Finding:
        return _Finding([Condition(field_name, op, value, _quoted(match))])

    return reading


def _lapsed(match: re.Match[str]) -> _Finding:
    return _Finding([Condition("days_since_last_order", ">", _days(match), _quoted(match))])


def _active(match: re.Match[str]) -> _Finding:
    days = _days(match) if match.groupdict().get("unit") else float(RECENT_DAYS)
    return _Finding([Condition("days_since_last_order", "<=", days, _quoted(match))])


def _last_ordered_ago(match: re.Match[str]) -> _Finding:
    cmp = " ".join((match.group("cmp") or "").split())
    if cmp in {"less than", "under", "within"}:
        op = "<=" if cmp == "within" else "<"
        return _Finding([Condition("days_since_last_order", op, _days(match), _quoted(match))])
    return _lapsed(match)


def _spend(match: re.Match[str]) -> _Finding:
    return _Finding([Condition("spend", _op(match), _money(match), _quoted(match))])


def _spend_between(match: re.Match[str]) -> _Finding:
    low = float(match.group("lo").replace(",", ""))
    high = float(match.group("hi").replace(",", ""))
    words = _quoted(match)
    return _Finding([Condition("spend", ">=", low, words), Condition("spend", "<=", high, words)])


def _orders(match: re.Match[str]) -> _Finding:
    return _Finding([Condition("orders", _op(match), _count(match.group("c")), _quoted(match))])


def _orders_or_more(match: re.Match[str]) -> _Finding:
    op = ">=" if match.group("dir") == "more" else "<="
    return _Finding([Condition("orders", op, _count(match.group("c")), _quoted(match))])


def _times(match: re.Match[str]) -> _Finding:
    count = match.group("c") or match.group("w")
    op = _op(match) if match.group("cmp") else "="
    return _Finding([Condition("orders", op, _count(count), _quoted(match))])


def _clv_bound(match: re.Match[str]) -> _Finding:
    return _Finding([Condition("clv", _op(match), _money(match), _quoted(match))])


def _clv_share(high: bool) -> Callable[[re.Match[str]], _Finding]:
    def reading(match: re.Match[str]) -> _Finding:
        share = float(match.group("p")) if match.groupdict().get("p") else HIGH_VALUE_SHARE * 100
        share = min(max(share, 0.1), 100.0)
        value = Percentile(round(100.0 - share, 6) if high else share)
        return _Finding([Condition("clv", ">=" if high else "<=", value, _quoted(match))])

    return reading


def _churn_bound(match: re.Match[str]) -> _Finding:
    value = float(match.group("v"))
    value = value / 100 if match.group("pct") or value > 1 else value
    return _Finding([Condition("churn_risk", _op(match), min(max(value, 0.0), 1.0), _quoted(match))])


def _segment_ids(match: re.Match[str]) -> _Finding:
    ids = [int(x) for x in re.findall(r"\d+", match.group("ids"))]
    return _Finding([], segment_ids=ids)


_SHARE_OF = r"\s*(?:%|percent)(?:\s+(?:by|of|in)\s+(?:value|clv|spend|customers))?"
_SPEND_VERB = r"(?:spent|spend|spends|spending|paid|total\s+spend(?:ing)?|(?:in\s+)?total\s+spent)"
#: (pattern, reading) in order: negations before what they negate, specific before general.
_RULES: list[tuple[re.Pattern[str], Callable[[re.Match[str]], _Finding]]] = [
    # -- recency ---------------------------------------------------------------------------
    (
        re.compile(
            rf"\b(?:who\s+|that\s+)?(?:(?:have|has|did|do|does)\s+)?(?:not|never)\s+{_VERB}(?:\s+anything)?\s+{_PERIOD}"
        ),
        _lapsed,
    ),
    (re.compile(rf"\b(?:with\s+)?no\s+(?:orders?|purchases?|visits?)\s+{_PERIOD}"), _lapsed),
    (
        re.compile(
            r"\b(?:inactive|lapsed|dormant|away|gone)\s+(?:for|in|since)\s+"
            rf"(?:over\s+|more than\s+|at least\s+)?{_SPAN}"
        ),
        _lapsed,
    ),
    (
        re.compile(
            rf"\blast\s+(?:ordered|order(?:ing)?|purchased?|bought|shopped)\s+(?:was\s+)?"
            rf"(?P<cmp>over|more than|at least|less than|under|within)?\s*{_SPAN}\s+ago"
        ),
        _last_ordered_ago,
    ),
    (
        re.compile(
            rf"\b(?:who\s+|that\s+)?(?:(?:have|has)\s+)?{_VERB}(?:\s+something|\s+anything)?"
            rf"\s+(?:in|within|during)\s+(?:the\s+)?(?:last|past)\s+{_SPAN}"
        ),
        _active,
    ),
    (re.compile(rf"\bactive\s+(?:in|within|during)\s+(?:the\s+)?(?:last|past)\s+{_SPAN}"), _active),
    (re.compile(rf"\b(?:in|within|during)\s+the\s+(?:last|past)\s+{_SPAN}"), _active),
    (re.compile(r"\brecent(?:ly active)?\s+(?:buyers|customers|shoppers|purchasers)\b|\brecently active\b"), _active),
    # -- CLV -------------------------------------------------------------------------------
    (
        re.compile(
            r"\b(?:clv|lifetime value|predicted value|customer value)\s+(?:of\s+|is\s+)?"
            rf"{_CMP}\s*{_MONEY}"
        ),
        _clv_bound,
    ),
    # -- spend -----------------------------------------------------------------------------
    (
        re.compile(
            rf"\b{_SPEND_VERB}\s+(?:a\s+total\s+of\s+)?between\s+(?:[$€£]\s*)?(?P<lo>\d[\d,]*(?:\.\d+)?)\s+and\s+"
            r"(?:[$€£]\s*)?(?P<hi>\d[\d,]*(?:\.\d+)?)(?:\s+in\s+total)?"
        ),
        _spend_between,
    ),
    (
        re.compile(rf"\b{_SPEND_VERB}\s+(?:of\s+|a\s+total\s+of\s+|in\s+total\s+)?{_CMP}\s*{_MONEY}(?:\s+in\s+total)?"),
        _spend,
    ),
    (re.compile(rf"\b{_CMP}\s*{_MONEY}\s+(?:in\s+total|in\s+spend|spent|of\s+spend(?:ing)?)\b"), _spend),
    (re.compile(rf"\b{_CMP}\s*[$€£]\s*(?P<v>\d[\d,]*(?:\.\d+)?)\s*(?P<k>k\b|thousand\b)?"), _spend),
    # -- orders ----------------------------------------------------------------------------
    (re.compile(rf"\b{_COUNT}\s+or\s+(?P<dir>more|fewer|less)\s+(?:orders?|purchases?)\b"), _orders_or_more),
    (re.compile(rf"\b(?:with\s+|placed\s+|made\s+)?{_CMP}\s*{_COUNT}\s+(?:orders?|purchases?)\b"), _orders),
    (
        re.compile(
            rf"\b(?:ordered|bought|purchased|shopped)\s+(?:{_CMP}\s+)?"
            rf"(?:(?P<c>\d+|{_WORD_NUMBER})\s+times|(?P<w>once|twice|thrice))\b"
        ),
        _times,
    ),
    (
        re.compile(r"\b(?:exactly\s+)?one(?:[- ]time|[- ]off)\s+(?:buyers|customers|shoppers|purchasers)\b"),
        _one("orders", "=", 1.0),
    ),
    (re.compile(r"\brepeat\s+(?:buyers|customers|shoppers|purchasers)\b"), _one("orders", ">=", 2.0)),
    # -- CLV shares --------------------------------------------------------------------------
    (re.compile(rf"\btop\s+(?P<p>\d+(?:\.\d+)?){_SHARE_OF}"), _clv_share(True)),
    (re.compile(rf"\bbottom\s+(?P<p>\d+(?:\.\d+)?){_SHARE_OF}"), _clv_share(False)),
    (
        re.compile(r"\b(?:high(?:est)?[- ]value|most valuable|top[- ]value|big[- ]spenders?|vips?|best customers)\b"),
        _clv_share(True),
    ),
    (re.compile(r"\b(?:low(?:est)?[- ]value|least valuable|low[- ]spenders?)\b"), _clv_share(False)),
    # -- churn -----------------------------------------------------------------------------
    (
        re.compile(rf"\bchurn(?:[- ]risk)?\s+(?:of\s+|is\s+)?{_CMP}\s*(?P<v>\d+(?:\.\d+)?)\s*(?P<pct>%|percent)?"),
        _churn_bound,
    ),
    (
        re.compile(r"\b(?:not\s+at[- ]risk|(?:un|not\s+)likely to (?:churn|leave|lapse)|low[- ]churn(?:[- ]risk)?)\b"),
        _one("churn_risk", "<", AT_RISK),
    ),
    (
        re.compile(
            r"\b(?:at[- ]risk(?: of (?:churn(?:ing)?|leaving|lapsing))?|(?:likely|about|going) to (?:churn|leave|lapse)"
            r"|high[- ]churn(?:[- ]risk)?|churn[- ]risk|churners?|churning)\b"
        ),
        _one("churn_risk", ">=", AT_RISK),
    ),
    # -- segments --------------------------------------------------------------------------
    (
        re.compile(
            r"\b(?:in\s+)?(?:the\s+)?(?:segments?|clusters?)\s+(?:#\s*)?(?P<ids>\d+(?:\s*(?:,|and|or|&|/)\s*\d+)*)\b"
        ),
        _segment_ids,
    ),
]
_QUOTED_SEGMENT = re.compile(r"\b(?:in\s+)?(?:the\s+)?segment\s+[\"“'‘](?P<name>[^\"”'’]{1,120})[\"”'’]")
_NAMED_SEGMENT = re.compile(
    r"\b(?:in\s+)?(?:the\s+)?segment\s+(?:called\s+|named\s+)?(?P<words>[a-z][\w&·-]*(?:\s+[\w&·-]+){0,7})"
)
_SEGMENT_AFTER_NAME = re.compile(r"\b(?:segments?|group)\b(?!\s+(?:#\s*)?\d)")

#: Generic words that say who, not what they like: dropped from the topic.
_FILLER_TEXT = """a an the and or of in on at to for from with who that which whose have has had are is were was be been
    customers customer buyers buyer shoppers shopper people users user clients client persons audience
    show find give list get me us our my all any those them they their some also but only please
    like likes love loves loving enjoy enjoys into interested fans fan lovers lover total"""
_FILLER = frozenset(_FILLER_TEXT.split())


def _normal(name: str) -> str:
    """A segment name as words: lower case, the '·' separators and repeated spaces gone."""
    return " ".join(name.lower().replace("·", " ").split())


def parse_audience(text: str, segment_names: Mapping[int, str] | None = None) -> ParsedAudience:
    """Conditions, topic and explanations from one sentence; see the module docstring.

    ``segment_names`` ({id: name}) lets a segment be named rather than numbered.
    """
    original = " ".join(re.sub(r"n['’]t\b", " not", text, flags=re.IGNORECASE).split())
    lowered = original.lower()
    if len(lowered) != len(original):  # a rare letter whose lower case has another length
        original = lowered
    kept = list(lowered)
    conditions: list[tuple[int, Condition]] = []
    segment_ids: list[int] = []
    understood: list[tuple[int, str]] = []

    def consume(match: re.Match[str], finding: _Finding, explanation: str | None = None) -> None:
        for index in range(match.start(), match.end()):
            kept[index] = " "
        conditions.extend((match.start(), c) for c in finding.conditions)
        segment_ids.extend(i for i in finding.segment_ids if i not in segment_ids)
        if explanation is None:
            explanation = (
                "; ".join(f'"{c.words}": {c.text()} ({_describe(c)})' for c in finding.conditions)
                or f'"{_quoted(match)}": segment in ({", ".join(map(str, finding.segment_ids))})'
            )
        understood.append((match.start(), explanation))

    for pattern, reading in _RULES:
        for match in pattern.finditer("".join(kept)):
            consume(match, reading(match))
    for match, finding in _named_segments("".join(kept), segment_names or {}):
        names = segment_names or {}
        shown = ", ".join(f"{i} ({names.get(i, i)})" for i in finding.segment_ids)
        consume(match, finding, f'"{_quoted(match)}": segment {shown}')
    items = [c for _, c in sorted(conditions, key=lambda item: item[0])]
    if segment_ids:
        items.append(Condition("segment", "in", tuple(segment_ids), None))

    topic_words = [
        w
        for w in re.split(r"[^\w&'-]+", "".join(c if k != " " else " " for c, k in zip(original, kept, strict=True)))
        if w
    ]
    topic_words = [w for w in topic_words if w.lower().strip("-'") not in _FILLER and w.strip("-'")]
    topic = " ".join(topic_words) or None
    lines = [explanation for _, explanation in sorted(understood, key=lambda item: item[0])]
    if topic:
        lines.append(f'topic: "{topic}" is matched against what each customer bought, viewed and wrote')
    if not lines:
        lines.append("no condition or topic recognised: every customer of the run")
    return ParsedAudience(text=text, conditions=Conditions(items, topic), understood=lines)


def _describe(condition: Condition) -> str:
    """A few words on what a condition means, for the explanation."""
    value = condition.value
    if condition.field == "clv" and isinstance(value, Percentile):
        share = 100 - value.q if condition.op == ">=" else value.q
        return f"the {'top' if condition.op == '>=' else 'bottom'} {share:g}% of customers by predicted value"
    words = {
        "spend": "total spend",
        "orders": "number of orders",
        "days_since_last_order": "days since the last order, before the run's reference date",
        "clv": "predicted customer lifetime value",
        "churn_risk": "churn risk 0..1",
    }
    return words.get(condition.field, condition.field)


def _named_segments(text: str, names: Mapping[int, str]) -> list[tuple[re.Match[str], _Finding]]:
    """Segments named in the text: quoted after 'segment', spelled out in full, 'segment WORDS' or 'WORDS segment'."""
    if not names:
        return []
    normal = {segment_id: _normal(name) for segment_id, name in names.items()}
    found: list[tuple[re.Match[str], _Finding]] = []
    for match in _QUOTED_SEGMENT.finditer(text):
        ids = [i for i, name in normal.items() if _normal(match.group("name")) in name]
        if ids:
            found.append((match, _Finding([], ids)))
    for segment_id, name in names.items():
        start = text.find(name.lower())
        if start >= 0 and not any(m.start() <= start < m.end() for m, _ in found):
            match = re.compile(re.escape(name.lower())).search(text, start)
            found.append((match, _Finding([], [segment_id])))
    if found:
        return found
    for match in _NAMED_SEGMENT.finditer(text):
        words = match.group("words").split()
        for length in range(len(words), 0, -1):  # longest phrase naming at least one segment
            phrase = " ".join(words[:length])
            ids = [i for i, name in normal.items() if _normal(phrase) in name]
            if ids:
                span = re.compile(r"\b(?:in\s+)?(?:the\s+)?segment\s+(?:called\s+|named\s+)?" + re.escape(phrase))
                found.append((span.search(text, match.start()), _Finding([], ids)))
                break
    if found:
        return found
    for match in _SEGMENT_AFTER_NAME.finditer(text):  # "in the bargain hunters segment"
        before = text[: match.start()].split()
        for length in range(min(len(before), 8), 0, -1):
            phrase = " ".join(before[-length:])
            if phrase in {"the", "in the", "in"}:
                break
            ids = [i for i, name in normal.items() if _normal(phrase) in name]
            if ids:
                span = re.compile(r"(?:\bin\s+)?(?:\bthe\s+)?" + re.escape(phrase) + r"\s+" + re.escape(match.group(0)))
                exact = next((m for m in span.finditer(text) if m.end() == match.end()), None)
                if exact is not None:
                    found.append((exact, _Finding([], ids)))
                break
    return found
