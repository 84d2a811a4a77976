"""CSV that is safe to open in a spreadsheet.

A cell starting with ``=``, ``+``, ``-``, ``@``, tab or carriage return is run as a formula
by Excel and LibreOffice (CSV injection). Text cells that start so get a leading ``'``;
numbers are left alone.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` whose text cells cannot be read as spreadsheet formulas."""
    frame = frame.copy()
    for column in frame.columns:
        if pd.api.types.is_object_dtype(frame[column]) or pd.api.types.is_string_dtype(frame[column]):
            text = frame[column].astype("string")
            risky = text.str.startswith(_FORMULA_START).fillna(False)
            frame[column] = text.where(~risky, "'" + text)
    return frame


def write_safe_csv(frame: pd.DataFrame, path: str | Path) -> None:
    """Write ``frame`` as UTF-8 CSV with formula-like text neutralised."""
    neutralise_formulas(frame).to_csv(path, index=False)
