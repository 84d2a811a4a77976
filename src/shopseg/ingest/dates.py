"""Parse a column of date strings written in any of the formats shops export.

Shops mix formats (``12/1/2010 8:26`` beside ``2010-12-01 08:26:00``), and day-first
versus month-first is ambiguous for a single value. The column decides: every candidate
format is tried on the distinct values, formats are ranked by how many values they
read, and each value takes the best-ranked format that reads it. A column where some
value can only be day-first (``13/01/2024``) is read day-first throughout, and likewise
month-first. A column with both kinds (two exports pasted together) cannot be read
safely -- every ``03/04/2024`` in it could be either -- so :func:`parse_dates` raises
:class:`MixedDateOrder` and the caller stops with the lines of both kinds, until the user
says which order holds (``date_format="day-first"`` or ``"month-first"``: values of the
other order then do not parse and are quarantined).
"""

from __future__ import annotations

import pandas as pd

#: Formats tried, besides ISO 8601 (which pandas reads in all its variants).
CANDIDATE_FORMATS: tuple[str, ...] = (
    "%Y%m%d",
    "%m/%d/%Y %H:%M",
    "%m/%d/%Y %H:%M:%S",
    "%m/%d/%Y",
    "%d/%m/%Y %H:%M",
    "%d/%m/%Y %H:%M:%S",
    "%d/%m/%Y",
    "%m/%d/%y %H:%M",
    "%m/%d/%y",
    "%d/%m/%y",
    "%d.%m.%Y %H:%M:%S",
    "%d.%m.%Y %H:%M",
    "%d.%m.%Y",
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d",
    "%d-%m-%Y %H:%M",
    "%d-%m-%Y",
    "%d %b %Y",
    "%b %d, %Y",
)


#: ``date_format`` values that fix only the order of day and month; every other format still applies.
DAY_FIRST, MONTH_FIRST = "day-first", "month-first"
_DAY_FIRST_FORMATS = frozenset(f for f in CANDIDATE_FORMATS if f.startswith("%d/"))
_MONTH_FIRST_FORMATS = frozenset(f for f in CANDIDATE_FORMATS if f.startswith("%m/"))
#: The two leading numbers of a slashed date (``13/01/2024 10:00``).
_SLASHED = r"^(\d{1,2})/(\d{1,2})/\d{2,4}\b"


class MixedDateOrder(ValueError):
    """A column holds dates that can only be day-first and others that can only be month-first.

    ``day_first`` and ``month_first`` are boolean masks over the values given to
    :func:`parse_dates` (same index), ``ambiguous`` counts the values that fit both orders.
    """

    def __init__(self, day_first: pd.Series, month_first: pd.Series, ambiguous: int) -> None:
        super().__init__("the column mixes day-first and month-first dates")
        self.day_first = day_first
        self.month_first = month_first
        self.ambiguous = ambiguous


def _orders_possible(text: pd.Series) -> tuple[pd.Series, pd.Series, pd.Series]:
    """Masks of slashed values that can only be day-first, only month-first, or either."""
    parts = text.str.extract(_SLASHED)
    first = pd.to_numeric(parts[0], errors="coerce")
    second = pd.to_numeric(parts[1], errors="coerce")
    day_only = ((first > 12) & (first <= 31) & (second >= 1) & (second <= 12)).fillna(False)
    month_only = ((second > 12) & (second <= 31) & (first >= 1) & (first <= 12)).fillna(False)
    either = ((first >= 1) & (first <= 12) & (second >= 1) & (second <= 12)).fillna(False)
    return day_only.astype(bool), month_only.astype(bool), either.astype(bool)


def _parse_iso(values: pd.Series) -> pd.Series:
    parsed = pd.to_datetime(values, format="ISO8601", errors="coerce", utc=True)
    return parsed.dt.tz_localize(None)


def _parse_epoch(values: pd.Series) -> pd.Series:
    """Unix epoch seconds (10 digits) or milliseconds (13 digits), as RetailRocket writes."""
    digits = values.str.fullmatch(r"\d{10}|\d{13}")
    numbers = pd.to_numeric(values.where(digits), errors="coerce")
    seconds = numbers.where(numbers < 1e11, numbers / 1000)
    return pd.to_datetime(seconds, unit="s", errors="coerce")


def parse_dates(values: pd.Series, date_format: str | None = None) -> pd.Series:
    """Parse ``values`` (strings) into ``datetime64[ns]``; unreadable values become NaT.

    With ``date_format`` (a strptime pattern) only that format is used; ``"day-first"`` or
    ``"month-first"`` keep every format but the other order's. Without it, a column that
    mixes both orders raises :class:`MixedDateOrder` (see the module docstring).
    """
    text = values.astype("string").str.strip()
    unique = pd.Series(text.dropna().unique(), dtype="string")
    unique = unique[unique != ""]
    if unique.empty:  # nothing to read (no rows, or every value blank)
        return pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns]")
    if date_format in (DAY_FIRST, MONTH_FIRST):
        parsed_unique = _best_effort(unique, _MONTH_FIRST_FORMATS if date_format == DAY_FIRST else _DAY_FIRST_FORMATS)
    elif date_format:
        parsed_unique = pd.to_datetime(unique, format=date_format, errors="coerce")
    else:
        day_only, month_only, either = _orders_possible(unique)
        if day_only.any() and month_only.any():
            ambiguous = int(text.isin(set(unique[either])).sum())
            raise MixedDateOrder(text.isin(set(unique[day_only])), text.isin(set(unique[month_only])), ambiguous)
        excluded = _MONTH_FIRST_FORMATS if day_only.any() else _DAY_FIRST_FORMATS if month_only.any() else frozenset()
        parsed_unique = _best_effort(unique, excluded)
    lookup = pd.Series(parsed_unique.to_numpy(), index=unique.to_numpy())
    result = text.map(lookup)
    return pd.to_datetime(result, errors="coerce").astype("datetime64[ns]")


def _attempt(name: str, values: pd.Series) -> pd.Series:
    """Parse ``values`` with one candidate: a strptime format, ``iso`` or ``epoch``."""
    if name == "iso":
        return _parse_iso(values.where(~values.str.fullmatch(r"\d+")))
    if name == "epoch":
        return _parse_epoch(values)
    if name == "%Y%m%d":  # eight digits read as YYYYMMDD (CDNOW), not as epoch seconds
        return pd.to_datetime(values.where(values.str.fullmatch(r"\d{8}")), format=name, errors="coerce")
    return pd.to_datetime(values, format=name, errors="coerce")


def _best_effort(unique: pd.Series, excluded: frozenset[str] = frozenset(), sample_size: int = 2000) -> pd.Series:
    """Rank the candidates (but ``excluded``) on a sample of the distinct values, then fill in rank order.

    Each candidate is applied only to the values still unread, so a clean ISO column costs
    one parse, not one per candidate.
    """
    result = pd.Series(pd.NaT, index=unique.index, dtype="datetime64[ns]")
    if unique.empty:
        return result
    sample = unique.iloc[:: max(1, len(unique) // sample_size)]
    candidates = ("%Y%m%d", "iso", "epoch", *(f for f in CANDIDATE_FORMATS if f != "%Y%m%d" and f not in excluded))
    hits = {name: int(_attempt(name, sample).notna().sum()) for name in candidates}
    ranked = sorted((name for name in candidates if hits[name] > 0), key=lambda name: -hits[name])
    # Formats too rare to show in the sample still get a try on what is left.
    ranked += [name for name in candidates if hits[name] == 0]
    for name in ranked:
        missing = result.isna()
        if not missing.any():
            break
        parsed = _attempt(name, unique[missing]).astype("datetime64[ns]")
        result[missing] = parsed
    return result
