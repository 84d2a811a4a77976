"""``track.html``: segments over time on one self-contained page (Plotly inlined, works offline).

A Sankey diagram of the customers moving between tracked segments from run to run, every
segment's share over time, the MONIC events of each step, and the drift of each step
(features by PSI with their verdicts, embedding drift). Every text from data is escaped.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import plotly.graph_objects as go
from plotly.offline import get_plotlyjs

from shopseg.report.build import _STYLE, _e, _figure

_LAYOUT = {"template": "plotly_white", "margin": {"l": 40, "r": 20, "t": 50, "b": 40}}


def sankey(summary: dict[str, Any], migration: pd.DataFrame) -> go.Figure | None:
    """Customers flowing between tracked segments of consecutive runs (new and gone customers left out)."""
    moved = migration.dropna(subset=["segment_from", "segment_to"])
    if moved.empty:
        return None
    runs = [run["name"] for run in summary["runs"]]
    nodes: dict[tuple[str, int], int] = {}
    labels: list[str] = []
    for run in summary["runs"]:
        for segment in run["segments"]:
            key = (run["name"], segment["tracked_id"])
            if key not in nodes:
                nodes[key] = len(labels)
                labels.append(f"{segment['tracked_id']}: {segment['name']} ({run['name']})")
    source, target, value = [], [], []
    for row in moved.itertuples(index=False):
        start, end = (row.run_from, int(row.segment_from)), (row.run_to, int(row.segment_to))
        if start in nodes and end in nodes:
            source.append(nodes[start])
            target.append(nodes[end])
            value.append(int(row.customers))
    figure = go.Figure(
        go.Sankey(
            node={"label": labels, "pad": 12, "thickness": 14},
            link={"source": source, "target": target, "value": value},
        )
    )
    figure.update_layout(title=f"Customers between segments: {' → '.join(runs)}", height=560, **_LAYOUT)
    return figure


def shares_over_time(summary: dict[str, Any]) -> go.Figure | None:
    """Share of customers in every tracked segment, run by run."""
    rows = [
        {
            "run": run["name"],
            "segment": f"{s['tracked_id']}: {s['name']}",
            "tracked": s["tracked_id"],
            "share": s["share"],
        }
        for run in summary["runs"]
        for s in run["segments"]
    ]
    if not rows:
        return None
    frame = pd.DataFrame(rows)
    figure = go.Figure()
    for _, part in frame.groupby("tracked", sort=True):
        label = part["segment"].iloc[-1]
        figure.add_trace(go.Scatter(x=part["run"], y=part["share"], mode="lines+markers", name=label))
    figure.update_layout(title="Share of customers per tracked segment", yaxis_tickformat=".0%", height=420, **_LAYOUT)
    return figure


def psi_chart(step: dict[str, Any], element: int) -> go.Figure | None:
    """PSI per feature of one step, with the 0.1 and 0.25 lines."""
    features = pd.DataFrame(step.get("features", []))
    if features.empty:
        return None
    features = features.head(30).iloc[::-1]
    colour = features["verdict"].map({"stable": "#4c9f70", "moderate": "#e0a030", "shifted": "#c8553d"}).fillna("#999")
    figure = go.Figure(go.Bar(x=features["psi"], y=features["feature"], orientation="h", marker_color=colour))
    for line in (0.1, 0.25):
        figure.add_vline(x=line, line_dash="dash", line_color="#888")
    figure.update_layout(
        title=f"Feature drift (PSI), {step['run_from']} → {step['run_to']}",
        height=max(300, 22 * len(features) + 80),
        **_LAYOUT,
    )
    return figure


def _events(step: dict[str, Any]) -> str:
    items = "".join(
        f"<tr><td>{_e(event['kind'])}</td><td>{_e(', '.join(map(str, event['sources'])) or '-')}</td>"
        f"<td>{_e(', '.join(map(str, event['targets'])) or '-')}</td>"
        f"<td>{_e(', '.join(f'{k}: {v}' for k, v in event.get('shares', {}).items()))}</td></tr>"
        for event in step["events"]
    )
    return (
        f"<div class=card><p>{_e(step['run_from'])} → {_e(step['run_to'])}, matched by {_e(step['method'])}</p>"
        f"<table><tr><th>event</th><th>from (tracked ids)</th><th>to (tracked ids)</th><th>overlap</th></tr>"
        f"{items}</table></div>"
    )


def _embedding(step: dict[str, Any]) -> str:
    embedding = step.get("embedding") or {}
    auc = embedding.get("auc")
    text = (
        f"domain classifier AUC {auc:.3f} ({_e(embedding.get('verdict'))}; 0.5 = indistinguishable)"
        if auc is not None
        else _e(embedding.get("note", "not measured"))
    )
    return f"<p class=muted>Embedding drift, {_e(step['run_from'])} → {_e(step['run_to'])}: {text}</p>"


def build_track_report(summary: dict[str, Any], migration: pd.DataFrame, drift: dict[str, Any]) -> str:
    """The page's HTML (see the module docstring)."""
    runs = "".join(
        f"<tr><td>{_e(run['name'])}</td><td>{_e(run['reference_ts'] or '-')}</td>"
        f"<td class=num>{run['customers']:,}</td><td class=num>{len(run['segments'])}</td></tr>"
        for run in summary["runs"]
    )
    sections = [
        (
            "Runs",
            f"<div class=card><table><tr><th>run</th><th>as of (reference time)</th><th>customers</th>"
            f"<th>segments</th></tr>{runs}</table></div>",
        ),
        ("Migration between segments", _figure(sankey(summary, migration), "sankey")),
        ("Shares over time", _figure(shares_over_time(summary), "shares")),
        ("What happened to each segment", "".join(_events(step) for step in summary["steps"])),
        (
            "Drift",
            "".join(
                _embedding(step) + _figure(psi_chart(step, i), f"psi-{i}") for i, step in enumerate(drift["steps"])
            ),
        ),
    ]
    body = "".join(f"<h2>{_e(title)}</h2>{content}" for title, content in sections if content)
    return (
        "<!DOCTYPE html><html lang=en><head><meta charset=utf-8><title>shopseg segments over time</title>"
        f"<style>{_STYLE}</style><script>{get_plotlyjs()}</script></head><body><main>"
        f"<h1>Segments over time</h1><p class=muted>Generated by shopseg track.</p>{body}</main></body></html>"
    )
