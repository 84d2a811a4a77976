"""One function per chart of the report; each returns a Plotly figure with title and axis labels.

Inputs are the run folder's tables (segments, features, profiles, run record), so the
charts can be rebuilt from any saved run.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import plotly.express as px
import plotly.graph_objects as go

from shopseg.profile.markdown import LABELS

_LAYOUT = {"template": "plotly_white", "margin": {"l": 60, "r": 20, "t": 60, "b": 50}, "height": 420}


def _label(feature: str) -> str:
    return LABELS.get(feature, feature.replace("_", " "))


def segment_sizes(profiles: list[dict[str, Any]]) -> go.Figure:
    """Customers per segment (bar), with each segment's share."""
    frame = pd.DataFrame({"segment": [p["name"] for p in profiles], "customers": [p["size"] for p in profiles]})
    figure = px.bar(frame, x="customers", y="segment", orientation="h", text="customers")
    figure.update_layout(title="Segment sizes", xaxis_title="customers", yaxis_title="", **_LAYOUT)
    figure.update_yaxes(autorange="reversed")
    return figure


def segment_value(segments: pd.DataFrame) -> go.Figure | None:
    """Total spend (and predicted CLV when available) per segment."""
    if "monetary_total" not in segments:
        return None
    columns = {"monetary_total": "historical spend"}
    if "clv" in segments:
        columns["clv"] = "predicted value (CLV)"
    totals = segments.groupby(["segment_id", "segment_name"])[list(columns)].sum().rename(columns=columns)
    long = totals.reset_index().drop(columns="segment_id")
    long = long.melt(id_vars="segment_name", var_name="measure", value_name="amount")
    figure = px.bar(long, x="amount", y="segment_name", color="measure", barmode="group", orientation="h")
    figure.update_layout(title="Value per segment", xaxis_title="amount (shop currency)", yaxis_title="", **_LAYOUT)
    figure.update_yaxes(autorange="reversed")
    return figure


def customer_map(segments: pd.DataFrame, max_points: int = 20_000) -> go.Figure | None:
    """The 2-D customer map coloured by segment (a fixed sample when there are many)."""
    if not {"map_x", "map_y"} <= set(segments.columns):
        return None
    shown = segments.sample(n=max_points, random_state=0) if len(segments) > max_points else segments
    figure = px.scatter(
        shown, x="map_x", y="map_y", color="segment_name", hover_data=["customer_id"], opacity=0.6, render_mode="webgl"
    )
    figure.update_traces(marker={"size": 4})
    title = "Customer map (2-D projection of the segmentation space)"
    if len(shown) < len(segments):
        title += f": {len(shown):,} of {len(segments):,} customers"
    figure.update_layout(title=title, xaxis_title="map x (unitless)", yaxis_title="map y (unitless)", **_LAYOUT)
    return figure


def feature_heatmap(profiles: list[dict[str, Any]], features: pd.DataFrame, columns: list[str]) -> go.Figure | None:
    """Segment means of the segmentation features, standardized (0 = shop average)."""
    columns = [c for c in columns if c in features][:30]
    if not columns:
        return None
    mean, std = features[columns].mean(), features[columns].std().replace(0, 1.0)
    z = np.array([[(p["means"].get(c, 0.0) - mean[c]) / std[c] for c in columns] for p in profiles])
    figure = go.Figure(
        go.Heatmap(
            z=z,
            x=[_label(c) for c in columns],
            y=[p["name"] for p in profiles],
            colorscale="RdBu",
            reversescale=True,
            zmid=0,
            colorbar={"title": "std. devs<br>from average"},
        )
    )
    figure.update_layout(title="What each segment looks like (feature means, standardized)", **_LAYOUT)
    figure.update_layout(height=max(420, 60 * len(profiles)))
    figure.update_yaxes(autorange="reversed")
    return figure


def value_distributions(segments: pd.DataFrame) -> list[go.Figure]:
    """CLV and churn risk per segment, as box plots."""
    figures = []
    for column, title, axis in (
        ("clv", "Predicted customer value (CLV) per segment", "CLV (shop currency)"),
        ("churn_risk", "Churn risk per segment", "probability of no order in the holdout window"),
    ):
        if column in segments:
            ordered = segments.sort_values("segment_id", kind="stable")
            figure = px.box(ordered, x=column, y="segment_name", points=False)
            figure.update_layout(title=title, xaxis_title=axis, yaxis_title="", **_LAYOUT)
            figure.update_yaxes(autorange="reversed")
            figures.append(figure)
    return figures


def model_selection(record: dict[str, Any]) -> go.Figure | None:
    """Silhouette (and any other recorded score) per number of segments k."""
    scores = record.get("model", {}).get("silhouette_by_k") or {}
    if not scores:
        return None
    ks = sorted(int(k) for k in scores)
    figure = go.Figure(
        go.Scatter(x=ks, y=[scores[str(k)] if str(k) in scores else scores[k] for k in ks], mode="lines+markers")
    )
    chosen = record.get("model", {}).get("k_chosen")
    if chosen:
        figure.add_vline(x=chosen, line_dash="dash", annotation_text=f"chosen k = {chosen}")
    figure.update_layout(
        title="Choosing the number of segments",
        xaxis_title="k (segments)",
        yaxis_title="silhouette (higher is better)",
        **_LAYOUT,
    )
    return figure


def stability(profiles: list[dict[str, Any]]) -> go.Figure | None:
    """Bootstrap Jaccard stability per segment, when measured."""
    values = [
        (p["name"], p["stability"]["jaccard_mean"])
        for p in profiles
        if (p.get("stability") or {}).get("jaccard_mean") is not None
    ]
    if not values:
        return None
    frame = pd.DataFrame(values, columns=["segment", "jaccard"])
    figure = px.bar(frame, x="jaccard", y="segment", orientation="h", range_x=[0, 1])
    figure.add_vline(x=0.6, line_dash="dash", annotation_text="unstable below 0.6")
    figure.update_layout(
        title="Segment stability (mean bootstrap Jaccard)", xaxis_title="Jaccard", yaxis_title="", **_LAYOUT
    )
    figure.update_yaxes(autorange="reversed")
    return figure
