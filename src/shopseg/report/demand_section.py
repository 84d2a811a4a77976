"""The demand section of a report: expected units by segment, category and product, and the back-test.

:func:`demand_section` returns HTML (tables only, no script) for a page or report;
:func:`demand_page` wraps it in a page of its own (``demand.html``). Every text that comes
from data (segment names, product ids, categories) is HTML-escaped.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from shopseg import schema as s
from shopseg.report.build import _STYLE, _e

#: Products listed per page section (the whole table is demand.csv).
TOP_PRODUCTS = 25


def _number(value: object, pattern: str = ",.0f") -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return "-"
    return format(value, pattern)


def _units_table(frame: pd.DataFrame, label_columns: list[tuple[str, str]]) -> str:
    head = "".join(f"<th>{_e(title)}</th>" for _, title in label_columns)
    head += "<th class=num>expected units</th><th class=num>p05</th><th class=num>p95</th>"
    rows = "".join(
        "<tr>"
        + "".join(f"<td>{_e(row[column])}</td>" for column, _ in label_columns)
        + f"<td class=num>{_number(row['expected_units'], ',.1f')}</td><td class=num>{_number(row['p05'])}</td>"
        f"<td class=num>{_number(row['p95'])}</td></tr>"
        for _, row in frame.iterrows()
    )
    return f"<table><tr>{head}</tr>{rows}</table>"


def _backtest(backtest: dict[str, Any] | None) -> str:
    if not backtest:
        return ""
    metrics = pd.DataFrame(backtest["metrics"])
    rows = "".join(
        f"<tr><td>{_e(r['level'])}</td><td>{_e(r['method'])}</td><td class=num>{_number(r['wape'], '.3f')}</td>"
        f"<td class=num>{_number(r['mase'], '.3f')}</td><td class=num>{r['series']:,}</td></tr>"
        for _, r in metrics.iterrows()
    )
    coverage = ", ".join(f"{_e(k)} {_number(v, '.2f')}" for k, v in backtest.get("coverage", {}).items())
    return (
        f"<div class=card><p>Back-test: refitted on the data up to {_e(backtest['cutoff'])}, the next "
        f"{backtest['horizon_days']} days forecast and compared with what was bought "
        f"({_number(backtest['actual_units'])} units; forecast {_number(backtest['forecast_units'])}). "
        "WAPE: share of units missed; MASE below 1: better than the seasonal naive was on the history.</p>"
        "<table><tr><th>level</th><th>method</th><th class=num>WAPE</th><th class=num>MASE</th>"
        f"<th class=num>series</th></tr>{rows}</table>"
        f"<p class=muted>Share of series inside their 90% interval: {coverage}.</p></div>"
    )


def demand_section(report: dict[str, Any], levels: pd.DataFrame) -> str:
    """HTML of the demand forecast: totals, by segment, by category, top products, back-test."""
    names = report.get("segment_names", {})
    window = report.get("window", {})
    season = report.get("seasonality", {})
    by_segment = levels.loc[levels["level"] == "segment"].copy()
    by_segment["segment"] = [
        f"{int(g)} {names.get(str(int(g)), '')}".strip() for g in by_segment[s.SEGMENT_ID].to_numpy()
    ]
    by_category = levels.loc[levels["level"] == "category"].sort_values("expected_units", ascending=False)
    products = levels.loc[levels["level"] == "product"].nlargest(TOP_PRODUCTS, "expected_units")
    total = levels.loc[levels["level"] == "total"].iloc[0]
    seasonal = (
        f"seasonal index {season.get('index', 1.0):.3f} ({_e(season.get('reason', ''))})"
        if season
        else "no seasonal index"
    )
    return (
        f"<div class=card><p>Expected units from {_e(window.get('first_day'))} to {_e(window.get('last_day'))} "
        f"({report.get('horizon_days')} days): <b>{_number(total['expected_units'], ',.0f')}</b> "
        f"(90% interval {_number(total['p05'])} to {_number(total['p95'])}), {report.get('products', 0):,} products "
        f"in {report.get('categories', 0):,} categories, {report.get('segments', 0)} segments. "
        f"Levels reconciled by {_e(report.get('reconciliation', {}).get('method'))}; {seasonal}.</p></div>"
        f"<h3>By segment</h3>{_units_table(by_segment, [('segment', 'segment')])}"
        f"<h3>By category</h3>{_units_table(by_category, [(s.CATEGORY, 'category')])}"
        f"<h3>Top {len(products)} products (all segments)</h3>"
        f"{_units_table(products, [(s.PRODUCT_ID, 'product'), (s.CATEGORY, 'category')])}"
        f"<p class=muted>Every segment x product is in demand.csv; every level in demand_levels.csv.</p>"
        f"{_backtest(report.get('backtest'))}"
    )


def demand_page(report: dict[str, Any], levels: pd.DataFrame) -> str:
    """A self-contained page (no script, no external file) with :func:`demand_section`."""
    return (
        "<!DOCTYPE html><html lang=en><head><meta charset=utf-8><title>shopseg demand</title>"
        f"<style>{_STYLE}</style></head><body><main><h1>Demand per segment</h1>"
        f"{demand_section(report, levels)}</main></body></html>"
    )
