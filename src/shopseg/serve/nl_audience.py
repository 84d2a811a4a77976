"""Natural-language audiences: explicit filters out of a sentence, the rest is taste.

``parse_audience("eco-conscious outdoor buyers who have not ordered in 3 months")`` reads

* recency: "not ordered in 3 months", "no orders in the last 90 days", "inactive for 6
  weeks", "last ordered over a year ago" -> last order at least N days before the run's
  reference date; "ordered in the last 30 days", "recent buyers" -> at most N days;
* value: "high value", "VIP", "big spenders", "most valuable" -> top 20 % by predicted
  CLV; "top 5 %" -> top 5 %; "low value" -> bottom 20 %; "CLV over 500" -> clv >= 500;
* churn: "at risk", "likely to churn", "churners" -> churn risk >= 0.5; "not at risk",
  "unlikely to churn" -> churn risk <= 0.5; "churn risk above 70 %" -> >= 0.7;
* segments: "segment 3", "segments 1 and 4", a quoted or spelled-out segment name;

and returns those as :class:`~shopseg.serve.filters.AudienceFilters`, the remaining words
(generic ones such as "customers who" dropped) as the taste description, and one sentence
per thing understood, so a person can check what the machine took from their words.
Rules are deliberately plain regular expressions: predictable, explainable, no model.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from shopseg.serve.filters import AudienceFilters

#: "high value" and its synonyms mean the top share of customers by predicted CLV.
HIGH_VALUE_SHARE = 0.2
#: "at risk" means a churn risk at or above this.
AT_RISK = 0.5
#: "recent buyers" means a last order within this many days.
RECENT_DAYS = 30

_NUMBER_WORDS = {
    "a": 1,
    "an": 1,
    "one": 1,
    "two": 2,
    "three": 3,
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
_NUMBER = (
    r"(?P<n>\d+(?:\.\d+)?|a couple of|a few|several|an?|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve)"
)
_SPAN = rf"(?:{_NUMBER}\s+)?(?P<unit>day|week|month|year)s?"
_PERIOD = rf"(?:in|for|within|during|over)\s+(?:the\s+)?(?:last\s+|past\s+)?(?:more than\s+|over\s+)?{_SPAN}"
_VERB = r"(?:order(?:ed)?|bought|buy|purchased?|shopped|shop|visited|been back|come back|came back|returned)"
_MORE = r"(?:over|above|greater than|more than|at least|>=|>)"
_LESS = r"(?:under|below|less than|at most|<=|<)"

#: Generic words that say who, not what they like: dropped from the taste description.
_FILLER_TEXT = """a an the and or of in on at to for from with who that which whose have has had are is were was be been
    customers customer buyers buyer shoppers shopper people users user clients client persons audience
    show find give list get me us our my all any those them they their some also but only please
    like likes love loves loving enjoy enjoys into interested fans fan"""
_FILLER = frozenset(_FILLER_TEXT.split())


@dataclass
class ParsedAudience:
    """What was read from a sentence: filters, the taste text left over, and one line per thing understood."""

    text: str
    filters: AudienceFilters
    taste: str | None
    understood: list[str] = field(default_factory=list)


@dataclass
class _Finding:
    updates: dict[str, object]
    explanation: str


def _days(match: re.Match[str]) -> float:
    """Days in a matched span such as '3 months' or 'a year' (a missing number reads as 1)."""
    raw = (match.group("n") or "1").strip()
    number = float(raw) if raw[0].isdigit() else float(_NUMBER_WORDS[raw])
    return number * _UNIT_DAYS[match.group("unit")]


def _number(raw: str) -> float:
    return float(raw.replace(",", ""))


def _quoted(match: re.Match[str]) -> str:
    return " ".join(match.group(0).split())


def _lapsed(match: re.Match[str]) -> _Finding:
    days = _days(match)
    return _Finding(
        {"recency_min_days": days},
        f'"{_quoted(match)}": last order at least {days:g} days before the run\'s reference date',
    )


def _active(match: re.Match[str]) -> _Finding:
    days = _days(match) if match.groupdict().get("unit") else RECENT_DAYS
    return _Finding(
        {"recency_max_days": days},
        f'"{_quoted(match)}": last order at most {days:g} days before the run\'s reference date',
    )


def _last_ordered_ago(match: re.Match[str]) -> _Finding:
    less = (match.group("cmp") or "").strip() in {"less than", "under", "within"}
    return _active(match) if less else _lapsed(match)


def _high_value(match: re.Match[str]) -> _Finding:
    share = float(match.group("p")) / 100 if match.groupdict().get("p") else HIGH_VALUE_SHARE
    share = min(max(share, 0.001), 1.0)
    return _Finding(
        {"clv_top_share": share}, f'"{_quoted(match)}": the top {share:.0%} of customers by predicted value (CLV)'
    )


def _low_value(match: re.Match[str]) -> _Finding:
    share = float(match.group("p")) / 100 if match.groupdict().get("p") else HIGH_VALUE_SHARE
    share = min(max(share, 0.001), 1.0)
    return _Finding(
        {"clv_bottom_share": share},
        f'"{_quoted(match)}": the bottom {share:.0%} of customers by predicted value (CLV)',
    )


def _clv_bound(match: re.Match[str]) -> _Finding:
    value = _number(match.group("v"))
    if re.fullmatch(_MORE, match.group("cmp")):
        return _Finding({"clv_min": value}, f'"{_quoted(match)}": predicted value (CLV) at least {value:g}')
    return _Finding({"clv_max": value}, f'"{_quoted(match)}": predicted value (CLV) at most {value:g}')


def _churn_bound(match: re.Match[str]) -> _Finding:
    value = _number(match.group("v"))
    value = value / 100 if match.group("pct") or value > 1 else value
    value = min(max(value, 0.0), 1.0)
    if re.fullmatch(_MORE, match.group("cmp")):
        return _Finding({"churn_risk_min": value}, f'"{_quoted(match)}": churn risk at least {value:g}')
    return _Finding({"churn_risk_max": value}, f'"{_quoted(match)}": churn risk at most {value:g}')


def _at_risk(match: re.Match[str]) -> _Finding:
    return _Finding({"churn_risk_min": AT_RISK}, f'"{_quoted(match)}": churn risk at least {AT_RISK:g}')


def _not_at_risk(match: re.Match[str]) -> _Finding:
    return _Finding({"churn_risk_max": AT_RISK}, f'"{_quoted(match)}": churn risk at most {AT_RISK:g}')


def _segment_ids(match: re.Match[str]) -> _Finding:
    ids = [int(x) for x in re.findall(r"\d+", match.group("ids"))]
    return _Finding({"segment_ids": ids}, f'"{_quoted(match)}": segment{"s" if len(ids) > 1 else ""} {_ids(ids)}')


def _ids(ids: list[int]) -> str:
    return ", ".join(str(i) for i in ids)


_SHARE_OF = r"\s*(?:%|percent)(?:\s+(?:by|of|in)\s+(?:value|clv|spend|customers))?"
#: (pattern, reading) in order: negations before what they negate, specific before general.
_RULES: list[tuple[re.Pattern[str], Callable[[re.Match[str]], _Finding]]] = [
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
    (re.compile(r"\brecent(?:ly active)?\s+(?:buyers|customers|shoppers|purchasers)\b|\brecently active\b"), _active),
    (
        re.compile(
            r"\b(?:clv|lifetime value|predicted value|customer value)\s+(?:of\s+)?"
            rf"(?P<cmp>{_MORE}|{_LESS})\s*(?P<v>\d[\d,]*(?:\.\d+)?)"
        ),
        _clv_bound,
    ),
    (re.compile(rf"\btop\s+(?P<p>\d+(?:\.\d+)?){_SHARE_OF}"), _high_value),
    (re.compile(rf"\bbottom\s+(?P<p>\d+(?:\.\d+)?){_SHARE_OF}"), _low_value),
    (
        re.compile(r"\b(?:high(?:est)?[- ]value|most valuable|top[- ]value|big[- ]spenders?|vips?|best customers)\b"),
        _high_value,
    ),
    (re.compile(r"\b(?:low(?:est)?[- ]value|least valuable|low[- ]spenders?)\b"), _low_value),
    (
        re.compile(
            rf"\bchurn(?:[- ]risk)?\s+(?:of\s+)?(?P<cmp>{_MORE}|{_LESS})\s*(?P<v>\d+(?:\.\d+)?)\s*(?P<pct>%|percent)?"
        ),
        _churn_bound,
    ),
    (
        re.compile(r"\b(?:not\s+at[- ]risk|(?:un|not\s+)likely to (?:churn|leave|lapse)|low[- ]churn(?:[- ]risk)?)\b"),
        _not_at_risk,
    ),
    (
        re.compile(
            r"\b(?:at[- ]risk(?: of (?:churn(?:ing)?|leaving|lapsing))?|(?:likely|about|going) to (?:churn|leave|lapse)"
            r"|high[- ]churn(?:[- ]risk)?|churn[- ]risk|churners?|churning)\b"
        ),
        _at_risk,
    ),
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


def parse_audience(text: str, segment_names: Mapping[int, str] | None = None) -> ParsedAudience:
    """Filters, taste text and explanations from one sentence; see the module docstring.

    ``segment_names`` ({id: name}) lets a segment be named rather than numbered.
    """
    original = " ".join(re.sub(r"n['’]t\b", " not", text, flags=re.IGNORECASE).split())
    lowered = original.lower()
    if len(lowered) != len(original):  # a rare letter whose lower case has another length
        original = lowered
    kept = list(lowered)
    updates: dict[str, object] = {}
    understood: list[tuple[int, str]] = []

    def consume(match: re.Match[str], finding: _Finding) -> None:
        for index in range(match.start(), match.end()):
            kept[index] = " "
        for name, value in finding.updates.items():
            if name == "segment_ids":
                updates[name] = [*updates.get(name, []), *(v for v in value if v not in updates.get(name, []))]
            else:
                updates[name] = value
        understood.append((match.start(), finding.explanation))

    for pattern, reading in _RULES:
        for match in pattern.finditer("".join(kept)):
            consume(match, reading(match))
    for match, finding in _named_segments("".join(kept), segment_names or {}):
        consume(match, finding)

    taste_words = [
        w
        for w in re.split(r"[^\w&'-]+", "".join(c if k != " " else " " for c, k in zip(original, kept, strict=True)))
        if w
    ]
    taste_words = [w for w in taste_words if w.lower().strip("-'") not in _FILLER and w.strip("-'")]
    taste = " ".join(taste_words) or None
    lines = [explanation for _, explanation in sorted(understood, key=lambda item: item[0])]
    if taste:
        lines.append(f'taste: "{taste}" is matched against what each customer bought and wrote')
    if not lines:
        lines.append("no filter or taste words recognised: every customer of the run")
    filters = AudienceFilters.model_validate(updates)
    return ParsedAudience(text=text, filters=filters, taste=taste, understood=lines)


def _named_segments(text: str, names: Mapping[int, str]) -> list[tuple[re.Match[str], _Finding]]:
    """Segments named in the text: quoted after 'segment', spelled out in full, or 'segment WORDS' matching one name."""
    if not names:
        return []
    lowered_names = {segment_id: name.lower() for segment_id, name in names.items()}
    found = []
    for match in _QUOTED_SEGMENT.finditer(text):
        ids = [i for i, name in lowered_names.items() if match.group("name").strip() in name]
        if ids:
            found.append(
                (
                    match,
                    _Finding(
                        {"segment_ids": ids}, f'"{_quoted(match)}": segment{"s" if len(ids) > 1 else ""} {_ids(ids)}'
                    ),
                )
            )
    for segment_id, name in lowered_names.items():
        start = text.find(name)
        if start >= 0 and not any(m.start() <= start < m.end() for m, _ in found):
            match = re.compile(re.escape(name)).search(text, start)
            found.append(
                (match, _Finding({"segment_ids": [segment_id]}, f'"{names[segment_id]}": segment {segment_id}'))
            )
    if found:
        return found
    for match in _NAMED_SEGMENT.finditer(text):
        words = match.group("words").split()
        for length in range(len(words), 0, -1):  # longest phrase naming at least one segment
            phrase = " ".join(words[:length])
            ids = [i for i, name in lowered_names.items() if phrase in name]
            if ids:
                span = re.compile(r"\b(?:in\s+)?(?:the\s+)?segment\s+(?:called\s+|named\s+)?" + re.escape(phrase))
                exact = span.search(text, match.start())
                found.append(
                    (
                        exact,
                        _Finding(
                            {"segment_ids": ids},
                            f'"{_quoted(exact)}": segment{"s" if len(ids) > 1 else ""} {_ids(ids)}',
                        ),
                    )
                )
                break
    return found
