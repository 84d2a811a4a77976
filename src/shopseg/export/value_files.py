"""The value stage's files: value.json (the full report) and holdout.csv (predicted vs actual holdout).

Written by ``shopseg value --out`` (with value.parquet) and into every run folder whose value
stage ran; run.json keeps a short summary that points at value.json
(:func:`shopseg.value.customer_value.run_summary`).
"""

from __future__ import annotations

from pathlib import Path

from shopseg.export.finite import write_json
from shopseg.export.safe_csv import write_safe_csv
from shopseg.value import ValueResult

VALUE_JSON = "value.json"
HOLDOUT_CSV = "holdout.csv"


def write_value_files(folder: Path, result: ValueResult) -> list[str]:
    """Write value.json and, with a holdout, holdout.csv into ``folder``; the names written."""
    write_json(folder / VALUE_JSON, result.report)
    written = [VALUE_JSON]
    if result.holdout is not None:
        write_safe_csv(result.holdout, folder / HOLDOUT_CSV)
        written.append(HOLDOUT_CSV)
    return written
