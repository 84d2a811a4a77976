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


def purchase_tracking(value: dict[str, Any] | None) -> go.Figure | None:
    """Cumulative repeat purchases per week, actual vs the calibration fit's expectation (value.json: tracking)."""
    tracking = (value or {}).get("tracking")
    if not tracking or not tracking.get("week_ends"):
        return None
    model = ((value.get("holdout_check") or {}).get("calibration_model") or {}).get("label", "model")
    figure = go.Figure()
    figure.add_scatter(x=tracking["week_ends"], y=tracking["actual"], mode="lines", name="actual")
    figure.add_scatter(x=tracking["week_ends"], y=tracking["expected"], mode="lines", name=f"{model} (expected)")
    figure.add_vline(x=tracking["calibration_end"], line_dash="dash")
    figure.add_annotation(x=tracking["calibration_end"], y=1, yref="paper", text="end of calibration", showarrow=False)
    figure.update_layout(
        title=f"Tracking: cumulative repeat purchases of the {tracking['customers']:,} calibration customers",
        xaxis_title="week ending",
        yaxis_title="cumulative repeat purchase days",
        **_LAYOUT,
    )
    return figure


def frequency_recency_heatmaps(value: dict[str, Any] | None) -> list[go.Figure]:
    """Expected orders over the horizon and P(alive) for every frequency x recency (value.json: matrices)."""
    grid = (value or {}).get("matrices")
    if not grid:
        return []
    weeks = [round(d / 7, 1) for d in grid["recency_days"]]
    age = grid["T_days"] / 7
    figures = []
    for key, title, scale in (
        ("expected_orders", f"Expected orders in the next {grid['horizon_days']:.0f} days", "Viridis"),
        ("p_alive", "P(alive)", "RdYlGn"),
    ):
        figure = go.Figure(
            go.Heatmap(z=grid[key], x=weeks, y=grid["frequency"], colorscale=scale, colorbar={"title": key})
        )
        figure.update_layout(
            title=f"{title} by purchase history (a customer first seen {age:.0f} weeks before the last day)",
            xaxis_title="weeks from first to last purchase (recency)",
            yaxis_title="repeat purchases (frequency)",
            **_LAYOUT,
        )
        figures.append(figure)
    return figures


def clv_intervals(segments: pd.DataFrame, top: int = 40) -> go.Figure | None:
    """The highest-CLV customers with their 90% intervals (clv_p05 .. clv_p95)."""
    if not {"clv", "clv_p05", "clv_p95"} <= set(segments.columns):
        return None
    shown = segments.nlargest(top, "clv").iloc[::-1]
    figure = go.Figure(
        go.Scatter(
            x=shown["clv"],
            y=shown["customer_id"].astype(str),
            mode="markers",
            error_x={
                "type": "data",
                "symmetric": False,
                "array": (shown["clv_p95"] - shown["clv"]).clip(lower=0),
                "arrayminus": (shown["clv"] - shown["clv_p05"]).clip(lower=0),
            },
            name="CLV",
        )
    )
    figure.update_layout(
        title=f"CLV of the top {len(shown)} customers with 90% intervals",
        xaxis_title="CLV (shop currency)",
        yaxis_title="customer",
        **{**_LAYOUT, "height": max(420, 16 * len(shown))},
    )
    return figure


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
