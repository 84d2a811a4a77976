"""No NaN or infinity in a file a user reads: JSON gets ``null``, tables get an empty cell.

JSON has no NaN or Infinity (Python writes them anyway, and most parsers then refuse the
file), and an infinite CLV in a spreadsheet is a wrong number, not a large one. Input
validation keeps absurd values out (see :mod:`shopseg.ingest.validate`); this is the last
line: whatever non-finite number still reaches an output is written as missing, and the
run record counts where (``non_finite_written``), so it is never silent.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd


def finite_json(value: Any) -> Any:
    """``value`` with every NaN or infinite float (Python or NumPy) replaced by None, recursively."""
    if isinstance(value, dict):
        return {key: finite_json(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [finite_json(item) for item in value]
    if isinstance(value, float | np.floating):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    return value


def json_text(document: Any, *, indent: int | None = 2) -> str:
    """Strict JSON for ``document`` (non-finite numbers as null; other objects as their text)."""
    return json.dumps(finite_json(document), indent=indent, allow_nan=False, default=str)


def write_json(path: str | Path, document: Any, *, indent: int | None = 2) -> None:
    """Write ``document`` to ``path`` as strict JSON (see :func:`json_text`)."""
    Path(path).write_text(json_text(document, indent=indent))


def finite_frame(frame: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, int]]:
    """``frame`` with infinite floats set to missing, and how many per column (only columns that had any)."""
    counts: dict[str, int] = {}
    fixed = {}
    for column in frame.columns:
        values = frame[column]
        if pd.api.types.is_float_dtype(values.dtype):
            infinite = np.isinf(values.to_numpy(dtype="float64", na_value=np.nan))
            if infinite.any():
                counts[str(column)] = int(infinite.sum())
                fixed[column] = values.mask(infinite)
    if not fixed:
        return frame, counts
    return frame.assign(**fixed), counts
