"""Charts of the dashboard: the report's overview charts, plus the charts of one segment's page.

Each chart is rendered once into an HTML fragment (a ``div`` and its ``Plotly.newPlot``
call; Plotly's library itself comes from ``/static/plotly.js``). Plotly escapes the data it
embeds, so segment names and product titles cannot close the script.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go

from shopseg import schema as s
from shopseg.profile.markdown import LABELS
from shopseg.report import charts as report_charts
from shopseg.run_data import RunData

#: Names of the value stage's scores, as a marketer reads them.
SCORE_LABELS = {
    "clv": "predicted value (CLV)",
    "p_alive": "P(still a customer)",
    "expected_orders_365d": "expected orders, next 365 days",
    "churn_risk": "churn risk",
    "high_value_prob": "P(high value)",
    "next_order_date_estimate": "next order (estimate)",
    "last_order_date": "last order",
}
_LAYOUT = {"template": "plotly_white", "margin": {"l": 60, "r": 20, "t": 60, "b": 50}, "height": 380}


@dataclass(frozen=True)
class Chart:
    """One rendered chart: a stable id (for tests and anchors), its title and the HTML fragment."""

    id: str
    title: str
    html: str


def render(figure: go.Figure | None, chart_id: str) -> Chart | None:
    """The figure as an HTML fragment without Plotly's library (None stays None)."""
    if figure is None:
        return None
    body = figure.to_html(full_html=False, include_plotlyjs=False, div_id=chart_id, config={"displaylogo": False})
    title = figure.layout.title.text or chart_id
    return Chart(id=chart_id, title=title, html=body)


def label(feature: str) -> str:
    """A feature's or score's readable name (features as in profiles.md)."""
    return LABELS.get(feature) or SCORE_LABELS.get(feature) or feature.replace("_", " ")


def overview_charts(run: RunData) -> list[Chart]:
    """The report's charts for the whole run: sizes, value, customer map, heatmap, CLV and churn."""
    profiles = [run.profiles[k] for k in sorted(run.profiles)]
    segments = run.segments.reset_index(drop=True)
    figures: list[tuple[go.Figure | None, str]] = [
        (report_charts.segment_sizes(profiles), "segment-sizes"),
        (report_charts.segment_value(segments), "segment-value"),
        (report_charts.customer_map(segments), "customer-map"),
    ]
    features_path = run.run_dir / "features.parquet"
    columns = run.record.get("features", {}).get("segmentation", [])
    if features_path.exists() and columns:
        features = pd.read_parquet(features_path).set_index(s.CUSTOMER_ID)
        figures.append((report_charts.feature_heatmap(profiles, features, columns), "feature-heatmap"))
    figures += [(f, f"value-{i}") for i, f in enumerate(report_charts.value_distributions(segments))]
    return [chart for figure, chart_id in figures if (chart := render(figure, chart_id)) is not None]


def segment_charts(run: RunData, profile: dict[str, Any]) -> list[Chart]:
    """One segment's charts: what sets it apart, its categories, and its CLV against everyone's."""
    figures = [
        (_distinguishing(profile), "segment-distinguishing"),
        (_categories(profile), "segment-categories"),
        (_value_against_all(run, int(profile["segment_id"])), "segment-clv"),
    ]
    return [chart for figure, chart_id in figures if (chart := render(figure, chart_id)) is not None]


def _distinguishing(profile: dict[str, Any]) -> go.Figure | None:
    rows = profile.get("distinguishing") or []
    if not rows:
        return None
    frame = pd.DataFrame({"feature": [label(r["feature"]) for r in rows], "effect": [r["effect"] for r in rows]})
    figure = px.bar(frame, x="effect", y="feature", orientation="h", color="effect", color_continuous_scale="RdBu")
    figure.update_layout(
        title="What sets this segment apart (effect size against the other customers)",
        xaxis_title="Cohen's d (standard deviations; + = more than the rest)",
        yaxis_title="",
        coloraxis_showscale=False,
        **_LAYOUT,
    )
    figure.update_yaxes(autorange="reversed")
    return figure


def _categories(profile: dict[str, Any]) -> go.Figure | None:
    rows = profile.get("top_categories") or []
    if not rows:
        return None
    frame = pd.DataFrame(rows)
    figure = px.bar(frame, x="lift", y="category", orientation="h", text=frame["share"].map("{:.0%}".format))
    figure.add_vline(x=1.0, line_dash="dash", annotation_text="shop average")
    figure.update_layout(
        title="Categories: spend share (labels) and lift against the shop",
        xaxis_title="lift (1 = as the shop)",
        yaxis_title="",
        **_LAYOUT,
    )
    figure.update_yaxes(autorange="reversed")
    return figure


def _value_against_all(run: RunData, segment_id: int) -> go.Figure | None:
    if "clv" not in run.segments:
        return None
    clv = run.segments["clv"]
    upper = float(clv.quantile(0.99)) or None
    figure = go.Figure()
    for name, values in (
        ("all customers", clv),
        ("this segment", clv[run.segments[s.SEGMENT_ID] == segment_id]),
    ):
        figure.add_trace(
            go.Histogram(x=values.clip(upper=upper), name=name, histnorm="percent", opacity=0.6, nbinsx=40)
        )
    figure.update_layout(
        title="Predicted customer value (CLV): this segment against all customers",
        xaxis_title="CLV (shop currency; top 1 % clipped)",
        yaxis_title="% of customers",
        barmode="overlay",
        **_LAYOUT,
    )
    return figure
