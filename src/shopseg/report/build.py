"""Assemble ``report.html`` from a run folder: charts inlined, Plotly's JavaScript embedded once.

The file works offline (no CDN, no external font or image). Every text that comes from
data — segment names, keywords, personas, file names — is HTML-escaped.
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

import pandas as pd
import plotly.graph_objects as go
from plotly.offline import get_plotlyjs

from shopseg.report import charts

_STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;color:#1f2933;background:#f7f8fa}
main{max-width:1150px;margin:auto;padding:24px}
h1{font-size:28px;margin:8px 0}
h2{margin-top:36px;border-bottom:1px solid #d9dee5;padding-bottom:6px}
.card{background:#fff;border:1px solid #e3e7ed;border-radius:8px;padding:16px;margin:14px 0}
table{border-collapse:collapse;width:100%;font-size:14px}
td,th{border-bottom:1px solid #eef1f4;padding:6px 8px;text-align:left}
th{background:#f1f4f8}
.num{text-align:right}
.muted{color:#6b7785;font-size:13px}
.chip{display:inline-block;background:#eef2ff;border-radius:12px;padding:2px 9px;margin:2px;font-size:13px}
"""


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _figure(figure: go.Figure | None, element_id: str) -> str:
    if figure is None:
        return ""
    body = figure.to_html(full_html=False, include_plotlyjs=False, div_id=element_id, config={"displaylogo": False})
    return f'<div class="card chart" data-chart="{_e(element_id)}">{body}</div>'


def _summary(record: dict[str, Any]) -> str:
    rows = record.get("rows", {})
    model = record.get("model", {})
    inputs = "".join(
        f"<tr><td>{_e(f['path'])}</td><td>{_e(f['role'])}</td><td>{_e(f['format'])}</td>"
        f"<td class=num>{f['rows_read']:,}</td><td class=num>{f['kept']:,}</td><td class=num>{f['quarantined']:,}</td>"
        f"<td class=num>{f['duplicates']:,}</td><td class=num>{f['guests']:,}</td></tr>"
        for f in record.get("inputs", [])
    )
    notes = "".join(f"<li>{_e(n)}</li>" for n in record.get("notes", []))
    return f"""
<div class="card"><table><tr><th>file</th><th>as</th><th>format</th><th>read</th><th>kept</th><th>quarantined</th>
<th>duplicates</th><th>guests</th></tr>{inputs}</table>
<p>{record.get("customers_segmented", 0):,} customers segmented from {rows.get("rows_read", 0):,} rows read
({rows.get("rows_quarantined", 0):,} quarantined, see quarantine.csv). Model: {_e(model.get("algorithm"))},
{_e(model.get("k_chosen"))} segments ({_e(model.get("selection"))}); seed {_e(record.get("seed"))};
shopseg {_e(record.get("shopseg_version"))}.</p>{f"<ul class=muted>{notes}</ul>" if notes else ""}</div>"""


def _segment_cards(profiles: list[dict[str, Any]]) -> str:
    cards = []
    for p in profiles:
        keywords = [k["term"] for source in ("reviews", "purchases") for k in p.get("keywords", {}).get(source, [])[:6]]
        chips = "".join(f'<span class="chip">{_e(k)}</span>' for k in keywords)
        actions = "".join(
            f"<li>{_e(a['action'])} <span class=muted>({_e(', '.join(a['evidence']))})</span></li>"
            for a in p["playbook"]
        )
        flag = ""
        if isinstance(p.get("stability"), dict) and p["stability"].get("unstable"):
            flag = ' <span class="chip" style="background:#fde2e1">unstable</span>'
        cards.append(
            f'<div class="card segment" id="segment-{p["segment_id"]}"><h3>{_e(p["name"])}{flag}</h3>'
            f"<p class=muted>{p['size']:,} customers · {p['share']:.1%}</p><p>{_e(p['persona'])}</p>"
            f"<div>{chips}</div><ol>{actions}</ol></div>"
        )
    return "".join(cards)


#: Columns of recommendations_eval.json shown in the report, in this order.
EVALUATION_COLUMNS = ("recall@10", "ndcg@10", "map@10", "coverage", "novelty", "cold_recall@10", "fit_seconds")
#: Best sellers shown per segment.
BEST_SELLERS_SHOWN = 5


def _cell(value: object) -> str:
    if isinstance(value, bool) or value is None:
        return f"<td>{_e('–' if value is None else value)}</td>"
    if isinstance(value, int | float):
        return f"<td class=num>{value:,.4f}</td>" if isinstance(value, float) else f"<td class=num>{value:,}</td>"
    return f"<td>{_e(value)}</td>"


def _model_cell(name: object, best: object, chosen: object) -> str:
    text = f"<b>{_e(name)}</b>" if name == best else _e(name)
    return f"<td>{text}{' <span class=muted>(used)</span>' if name == chosen else ''}</td>"


def _best_sellers(profiles: list[dict[str, Any]]) -> str:
    """Per segment, its best sellers: title, with the share of the segment buying it and the lift."""
    rows = []
    for p in profiles:
        products = p.get("best_sellers") or []
        if not products:
            continue
        cells = []
        for product in products[:BEST_SELLERS_SHOWN]:
            facts = [f"{product['share']:.0%}" if product.get("share") is not None else ""]
            facts.append(f"{product['lift']:.1f}×" if product.get("lift") is not None else "")
            detail = " · ".join(f for f in facts if f)
            cells.append(
                f"<td>{_e(product.get('title') or product.get('product_id'))}"
                f"{f' <span class=muted>{_e(detail)}</span>' if detail else ''}</td>"
            )
        cells += ["<td></td>"] * (BEST_SELLERS_SHOWN - len(cells))
        rows.append(f"<tr><td>{_e(p['name'])}</td>{''.join(cells)}</tr>")
    if not rows:
        return ""
    head = "".join(f"<th>#{i}</th>" for i in range(1, BEST_SELLERS_SHOWN + 1))
    return (
        '<div class="card"><h3>Best sellers per segment</h3><table>'
        f"<tr><th>segment</th>{head}</tr>{''.join(rows)}</table>"
        "<p class=muted>Share of the segment's buyers who bought it · lift over the whole shop.</p></div>"
    )


def _evaluation(evaluation: dict[str, Any] | None) -> str:
    """The recommenders compared on the time split (recommendations_eval.json)."""
    if not evaluation:
        return ""
    if evaluation.get("skipped"):
        return f'<div class="card"><p>Recommenders not evaluated: {_e(evaluation["skipped"])}</p></div>'
    rows = evaluation.get("metrics") or []
    if not rows:
        return ""
    columns = [c for c in EVALUATION_COLUMNS if any(c in r for r in rows)]
    best, chosen = evaluation.get("best_model"), evaluation.get("model")
    head = "".join(f"<th>{_e(c)}</th>" for c in ["model", *columns])
    body = "".join(
        f"<tr>{_model_cell(r.get('model'), best, chosen)}{''.join(_cell(r.get(c)) for c in columns)}</tr>" for r in rows
    )
    split = evaluation.get("split") or {}
    caption = (
        f"Fitted on the history before {_e(split.get('cut'))}, scored on the last {_e(split.get('test_days'))} days "
        f"({_e(split.get('test_customers'))} customers bought then). Best NDCG@10 in bold."
    )
    return (
        f'<div class="card"><h3>Recommendation quality</h3><table><tr>{head}</tr>{body}</table>'
        f"<p class=muted>{caption}</p></div>"
    )


def _fitted_on(record: dict[str, Any]) -> str:
    seen = record.get("fitted_on") or {}
    return (
        f"{seen.get('customers', 0):,} customers, {str(seen.get('first_day', ''))[:10]} to "
        f"{str(seen.get('last_day', ''))[:10]} ({seen.get('weeks')} weeks)"
    )


def _parameters(record: dict[str, Any], title: str) -> str:
    errors = record.get("standard_errors_weeks") or {}
    rows = "".join(
        f"<tr><td>{_e(name)}</td>{_cell(float(value))}{_cell(errors.get(name))}</tr>"
        for name, value in (record.get("params_weeks") or {}).items()
    )
    return (
        f"<h3>{_e(title)}</h3><p class=muted>{_e(record.get('label'))} fitted on {_e(_fitted_on(record))}; "
        f"time parameters in weeks; log-likelihood {record.get('log_likelihood', 0):,.1f}.</p>"
        f"<table><tr><th>parameter</th><th>estimate</th><th>std. error</th></tr>{rows}</table>"
    )


def _value_tables(value: dict[str, Any] | None) -> str:
    """The models compared on the holdout, the calibration fit with its check, the production fit, warnings."""
    if not value or not value.get("available"):
        return ""
    parts = []
    selection = value.get("model_selection") or {}
    calibration = value.get("calibration") or {}
    if selection.get("candidates"):
        head = "".join(f"<th>{c}</th>" for c in ("model", "converged", "MAE / customer", "total error", "BIC"))
        body = "".join(
            f"<tr>{_model_cell(r['label'], None, r['label'] if r.get('chosen') else None)}"
            f"<td>{'yes' if r.get('converged') else 'no'}</td>{_cell(r.get('mae_per_customer'))}"
            f"{_cell(r.get('total_error'))}{_cell(r.get('bic'))}</tr>"
            for r in selection["candidates"]
        )
        fitted = (
            f"fitted on the calibration period (to {str(calibration.get('calibration_end'))[:10]}), judged on the "
            f"next {calibration.get('holdout_weeks')} weeks"
            if selection.get("criterion") == "holdout_mae"
            else "fitted on the whole history, judged by BIC (no holdout)"
        )
        parts.append(
            f"<h3>Transaction models compared</h3><table><tr>{head}</tr>{body}</table>"
            f"<p class=muted>{_e(fitted)}. Total error: predicted minus actual holdout orders, relative.</p>"
        )
    check = value.get("holdout_check")
    if check:
        parts.append(_parameters(check["calibration_model"], "Calibration fit (checked on the holdout)"))
        parts.append(
            f"<p>Holdout, next {check['window_days'] / 7:.1f} weeks: {check['predicted_purchases']:,.0f} orders "
            f"predicted, {check['actual_purchases']:,.0f} placed; MAE per customer "
            f"{check['mean_absolute_error_per_customer']:.3f}; {check['interval_coverage']:.1%} of customers inside "
            "their 90% interval (holdout.csv has every customer).</p>"
        )
    if value.get("transaction_model"):
        parts.append(_parameters(value["transaction_model"], "Production fit (whole history: the customer values)"))
    churn = value.get("churn") or {}
    parts.append(f"<p>churn_risk: {_e(churn.get('source'))} ({_e(churn.get('reason'))}).</p>")
    warnings = "".join(f"<li>{_e(w)}</li>" for w in value.get("warnings", []))
    if warnings:
        parts.append(f"<h3>Warnings</h3><ul>{warnings}</ul>")
    return f'<div class="card">{"".join(parts)}</div>'


def _recommendations(run_dir: Path, profiles: list[dict[str, Any]]) -> str:
    path = run_dir / "recommendations_eval.json"
    evaluation = json.loads(path.read_text()) if path.exists() else None
    return _best_sellers(profiles) + _evaluation(evaluation)


def build_report(run_dir: str | Path, out: str | Path | None = None) -> Path:
    """Write ``report.html`` for the run in ``run_dir`` (or to ``out``); return its path."""
    run_dir = Path(run_dir)
    record = json.loads((run_dir / "run.json").read_text())
    profiles = json.loads((run_dir / "profiles.json").read_text())
    segments = pd.read_parquet(run_dir / "segments.parquet")
    features = pd.read_parquet(run_dir / "features.parquet").set_index("customer_id")
    columns = record.get("features", {}).get("segmentation", [])
    value_path = run_dir / "value.json"
    value = json.loads(value_path.read_text()) if value_path.exists() else None
    sections = [
        ("Run summary", _summary(record)),
        (
            "Segments",
            _figure(charts.segment_sizes(profiles), "segment-sizes")
            + _figure(charts.segment_value(segments), "segment-value"),
        ),
        ("Customer map", _figure(charts.customer_map(segments), "customer-map")),
        ("Segment profiles", _figure(charts.feature_heatmap(profiles, features, columns), "feature-heatmap")),
        (
            "Value and risk",
            "".join(_figure(f, f"value-{i}") for i, f in enumerate(charts.value_distributions(segments)))
            + _figure(charts.clv_intervals(segments), "clv-intervals")
            + _value_tables(value)
            + _figure(charts.purchase_tracking(value), "value-tracking")
            + "".join(_figure(f, f"value-matrix-{i}") for i, f in enumerate(charts.frequency_recency_heatmaps(value))),
        ),
        ("Personas and playbooks", _segment_cards(profiles)),
        ("Recommendations", _recommendations(run_dir, profiles)),
        (
            "Model selection and stability",
            _figure(charts.model_selection(record), "model-selection")
            + _figure(charts.stability(profiles), "stability"),
        ),
    ]
    body = "".join(f"<h2>{_e(title)}</h2>{content}" for title, content in sections if content)
    # The run's own folder name (a run is written in a temporary folder before it takes this name).
    name = Path(str(record.get("config", {}).get("out") or run_dir)).name
    page = (
        "<!DOCTYPE html><html lang=en><head><meta charset=utf-8><title>shopseg report</title>"
        f"<style>{_STYLE}</style><script>{get_plotlyjs()}</script></head><body><main>"
        f"<h1>Customer segments</h1><p class=muted>Generated by shopseg from {_e(name)}.</p>{body}"
        "</main></body></html>"
    )
    path = Path(out) if out else run_dir / "report.html"
    path.write_text(page, encoding="utf-8")
    return path
