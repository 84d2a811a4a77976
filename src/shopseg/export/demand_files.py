"""The demand command's files: demand.csv / demand.parquet, demand_levels.csv, demand.json, demand.html.

* demand.csv and demand.parquet: one row per segment and product (segment_id, product_id,
  expected_units, p05, p95, then segment_name and category);
* demand_levels.csv: every level of the hierarchy (total, segment, category, product,
  segment/category, segment/product) with the forecast before reconciliation (base_units);
* demand.json: the report (horizon, window, calibration, seasonality, reconciliation, back-test);
* demand.html: the report section as a page of its own.
"""

from __future__ import annotations

from pathlib import Path

from shopseg import schema as s
from shopseg.demand import DEMAND_COLUMNS, DemandForecast
from shopseg.export.finite import write_json
from shopseg.export.safe_csv import write_safe_csv
from shopseg.report.demand_section import demand_page

DEMAND_FILES = ("demand.csv", "demand.parquet", "demand_levels.csv", "demand.json", "demand.html")


def write_demand_files(folder: Path, forecast: DemandForecast) -> list[str]:
    """Write :data:`DEMAND_FILES` into ``folder``; the names written."""
    names = {int(k): v for k, v in forecast.report.get("segment_names", {}).items()}
    table = forecast.table.assign(**{s.SEGMENT_NAME: forecast.table[s.SEGMENT_ID].map(names).fillna("")})
    table = table[[*DEMAND_COLUMNS, s.SEGMENT_NAME, s.CATEGORY]]
    write_safe_csv(table, folder / "demand.csv")
    table.to_parquet(folder / "demand.parquet", index=False)
    write_safe_csv(forecast.levels, folder / "demand_levels.csv")
    write_json(folder / "demand.json", forecast.report)
    (folder / "demand.html").write_text(demand_page(forecast.report, forecast.levels), encoding="utf-8")
    return list(DEMAND_FILES)
