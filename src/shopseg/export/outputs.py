"""The files of a run folder.

=================== ==================================================================
segments.parquet    customer_id, segment_id, segment_name and the main features
segments.csv        the same, spreadsheet-safe
features.parquet    every feature per customer
profiles.json       one profile per segment (see shopseg.profile.profiles.SegmentProfile)
profiles.md         the same as a readable summary
quarantine.csv      every rejected row: file, line, column, value, reason
run.json            version, config, input hashes, row counts, seed, timings, model choice
shopseg.duckdb      input tables, features, segments, profiles, quarantine, and
                    embedding_cache: the text vectors used (model id, text hash, vector)
model/model.json    the fitted model (JSON, no pickle) for assigning new customers;
                    model/fusion/ holds the text fusion model (JSON + safetensors)
report.html         the self-contained HTML report (charts inlined, works offline)
model_selection.csv every score per k (silhouette, Calinski-Harabasz, Davies-Bouldin, inertia, BIC)
value.json          the value stage's report: models compared on the holdout, fitted
                    parameters, churn decision, warnings, what each value column means
holdout.csv         per customer: predicted vs actual holdout orders (with the 90% interval)
                    and spend, from the calibration fit
=================== ==================================================================

When the recommend step ran: recommendations.parquet, recommendations_eval.json,
model/recommend/, ``best_sellers`` in each profile and the DuckDB tables ``recommendations``
and ``segment_top_products`` (see :mod:`shopseg.export.recommendations`).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from shopseg.embed.stage import embeddings_table
from shopseg.export.finite import finite_frame, json_text, write_json
from shopseg.export.recommendations import (
    published_best_sellers,
    recommendation_tables,
    with_best_sellers,
    write_recommendations,
)
from shopseg.export.safe_csv import write_safe_csv
from shopseg.export.value_files import write_value_files
from shopseg.pipeline import Segmenter
from shopseg.profile.markdown import render_profiles_markdown
from shopseg.recommend import RecommendationResult
from shopseg.report import build_report
from shopseg.shop import Shop
from shopseg.store import write_store

OUTPUT_FILES = (
    "segments.parquet",
    "segments.csv",
    "features.parquet",
    "profiles.json",
    "profiles.md",
    "quarantine.csv",
    "run.json",
    "shopseg.duckdb",
    "model",
    "report.html",
)


def write_outputs(
    folder: Path,
    shop: Shop,
    segmenter: Segmenter,
    record: dict[str, object],
    recommendations: RecommendationResult | None = None,
) -> None:
    """Write every output of a run into ``folder`` (a temporary folder; see run_folder)."""
    segments, segments_fixed = finite_frame(segmenter.assignments())
    segments.to_parquet(folder / "segments.parquet", index=False)
    write_safe_csv(segments, folder / "segments.csv")
    features, features_fixed = finite_frame(segmenter.features_.frame.reset_index())
    features.to_parquet(folder / "features.parquet", index=False)
    non_finite = {f"segments.{c}": n for c, n in segments_fixed.items()} | {
        f"features.{c}": n for c, n in features_fixed.items()
    }
    if non_finite:
        record["non_finite_written"] = non_finite
    profiles = segmenter.published_profiles()
    best_sellers = (
        published_best_sellers(recommendations, bool(segmenter.dp_epsilon)) if recommendations is not None else {}
    )
    if recommendations is not None:
        profiles = with_best_sellers(profiles, best_sellers)
    write_json(folder / "profiles.json", profiles)
    (folder / "profiles.md").write_text(render_profiles_markdown(profiles))
    write_safe_csv(shop.quarantine, folder / "quarantine.csv")
    segmenter.save(folder / "model")
    if segmenter.value_ is not None and segmenter.value_.available:
        write_value_files(folder, segmenter.value_)
    if recommendations is not None:
        write_recommendations(folder, recommendations)
    selection = getattr(segmenter.clusterer_, "selection_", None)
    if selection is not None and not selection.empty:
        selection.to_csv(folder / "model_selection.csv", index=False)
    profile_rows = pd.DataFrame(
        {
            "segment_id": [p["segment_id"] for p in profiles],
            "segment_name": [p["name"] for p in profiles],
            "size": [p["size"] for p in profiles],
            "share": [p["share"] for p in profiles],
            "profile_json": [json_text(p, indent=None) for p in profiles],
        }
    )
    quarantine = shop.quarantine.astype({"line": "int64"}).astype(
        {c: "string" for c in ("file", "column", "value", "reason")}
    )
    write_store(
        folder / "shopseg.duckdb",
        {
            **shop.tables(),
            "features": features,
            "segments": segments,
            "profiles": profile_rows,
            "quarantine": quarantine,
            **(
                recommendation_tables(recommendations, best_sellers, segmenter.segment_names_)
                if recommendations is not None
                else {}
            ),
            "embedding_cache": embeddings_table(segmenter.text_.vectors if segmenter.text_ is not None else None),
        },
    )
    write_json(folder / "run.json", record)
    build_report(folder)
