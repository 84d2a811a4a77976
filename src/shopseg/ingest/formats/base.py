"""What an input format is, and the helpers every adapter shares.

An adapter recognises a file from its header and shape (:meth:`InputFormat.matches`)
and renames/derives its columns into canonical tables of strings
(:meth:`InputFormat.adapt`). Typing and row checks happen afterwards, in one place
(:mod:`shopseg.ingest.validate`), so every format gets the same rules and messages.
"""

from __future__ import annotations

import re
from typing import Protocol

import pandas as pd

from shopseg.ingest.reading import LINE, SOURCE, RawTable

#: Tables an adapter returns: canonical table name -> frame of strings with canonical
#: column names plus the bookkeeping columns LINE and SOURCE.
Tables = dict[str, pd.DataFrame]


class InputFormat(Protocol):
    """A file layout shopseg can read. Register new ones in :mod:`shopseg.ingest.formats`."""

    name: str
    description: str

    def matches(self, raw: RawTable, role: str) -> bool:
        """True when ``raw`` (given by the user as table ``role``) is in this layout."""
        ...

    def adapt(self, raw: RawTable, role: str) -> Tables:
        """Canonical tables (still strings) from ``raw``."""
        ...


def normalise(name: str) -> str:
    """Header name reduced to lowercase letters and digits: ``Customer ID`` -> ``customerid``."""
    return re.sub(r"[^a-z0-9]", "", str(name).lower())


def find_column(raw: RawTable, *candidates: str) -> str | None:
    """The file's column whose normalised name is the first of ``candidates`` present."""
    by_name = {normalise(c): c for c in raw.columns}
    for candidate in candidates:
        if candidate in by_name:
            return by_name[candidate]
    return None


def select(raw: RawTable, columns: dict[str, str]) -> pd.DataFrame:
    """Frame with canonical names from {canonical name: file column}, plus bookkeeping columns."""
    frame = pd.DataFrame({canonical: raw.frame[source] for canonical, source in columns.items()})
    frame[LINE] = raw.frame[LINE].to_numpy()
    frame[SOURCE] = raw.frame[SOURCE].to_numpy()
    return frame
