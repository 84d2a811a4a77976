"""Segments over time: follow the segments of several runs of one shop (what ``shopseg track`` does).

``track_runs([RUN_A, RUN_B, ...], out)`` reads run folders (oldest first, e.g. ``shopseg
segment --as-of`` at the end of each month, or a run and its ``shopseg update``), gives every
segment a tracked id that stays with it from run to run and names what happened to each
segment between consecutive runs (survive, split, merge, appear, disappear:
:mod:`shopseg.track.matching`), and measures how the customers drifted
(:mod:`shopseg.track.drift`). It writes into ``out``, atomically:

================= ===================================================================
transitions.csv   run_from, run_to, customer_id, segment_from, segment_to (tracked ids;
                  empty for a customer not in that run)
migration.csv     run_from, run_to, segment_from, name_from, segment_to, name_to,
                  customers, revenue (their net spend between the two runs' dates, from
                  the later run's store), clv (their CLV in the later run)
drift.json        per step: feature PSI with verdicts, segment share changes, embedding
                  drift (domain classifier AUC), and the thresholds used
track.json        the runs, every run's segments with their tracked ids, the MONIC events
                  per step and the matching thresholds
track.html        one page: Sankey of the migrations, shares over time, drift
================= ===================================================================

Tracked ids start as the first run's segment ids; a segment that appears later gets the
next unused number. Customers are matched by id, so runs must use the same ids (the same
``--pseudonymise`` key, if any).
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from shopseg import schema as s
from shopseg.errors import ShopsegError
from shopseg.export.finite import write_json
from shopseg.export.run_folder import prepare_output, write_atomically
from shopseg.export.safe_csv import write_safe_csv
from shopseg.pipeline import Segmenter
from shopseg.shop import Shop
from shopseg.store import read_store_shop
from shopseg.track.drift import domain_auc, feature_psi, share_changes, thresholds
from shopseg.track.matching import (
    Matching,
    MatchSettings,
    match_by_centroid,
    match_by_overlap,
    robust_scale,
    segment_centroids,
)
from shopseg.track.migration import migration_table, transitions_table

STORE = "shopseg.duckdb"
TRACK_FILES = ("transitions.csv", "migration.csv", "drift.json", "track.json", "track.html")
#: Customers per run placed on the earlier model for the embedding drift (a seeded sample above it).
EMBEDDING_SAMPLE = 20_000


@dataclass
class RunView:
    """A run folder as tracking reads it: segments, features, record, reference time and name."""

    path: Path
    name: str
    segments: pd.DataFrame
    features: pd.DataFrame
    record: dict[str, Any]
    reference_ts: pd.Timestamp | None
    _model: Segmenter | None = field(default=None, repr=False)

    @classmethod
    def read(cls, path: str | Path) -> RunView:
        """Read ``path`` (a folder written by ``shopseg segment`` or ``shopseg update``)."""
        path = Path(path)
        missing = [n for n in ("segments.parquet", "features.parquet", "run.json") if not (path / n).is_file()]
        if missing:
            raise ShopsegError(
                f"{path}: not a shopseg run folder ({', '.join(missing)} missing); give the --out folders of "
                "'shopseg segment' or 'shopseg update'."
            )
        record = json.loads((path / "run.json").read_text())
        segments = pd.read_parquet(path / "segments.parquet")
        segments[s.CUSTOMER_ID] = segments[s.CUSTOMER_ID].astype(str)
        features = pd.read_parquet(path / "features.parquet")
        features[s.CUSTOMER_ID] = features[s.CUSTOMER_ID].astype(str)
        reference = record.get("reference_ts")
        return cls(
            path=path,
            name=path.name,
            segments=segments.set_index(s.CUSTOMER_ID),
            features=features.set_index(s.CUSTOMER_ID),
            record=record,
            reference_ts=pd.Timestamp(reference) if reference else None,
        )

    @property
    def labels(self) -> pd.Series:
        """Segment id per customer."""
        return self.segments[s.SEGMENT_ID].astype("int64")

    @property
    def names(self) -> dict[int, str]:
        """{segment id: name} of this run."""
        pairs = self.segments[[s.SEGMENT_ID, s.SEGMENT_NAME]].drop_duplicates(s.SEGMENT_ID)
        return {int(k): str(v) for k, v in zip(pairs[s.SEGMENT_ID], pairs[s.SEGMENT_NAME], strict=True)}

    @property
    def segmentation_columns(self) -> list[str]:
        columns = self.record.get("features", {}).get("segmentation") or []
        return [c for c in columns if c in self.features]

    def model(self) -> Segmenter:
        if self._model is None:
            self._model = Segmenter.load(self.path)
        return self._model

    def shop(self) -> Shop:
        """The input tables the run read, from its store."""
        store = self.path / STORE
        if not store.is_file():
            raise ShopsegError(f"{self.path}: no {STORE}; the run's input tables are needed here.")
        return read_store_shop(store)

    def revenue_between(self, start: pd.Timestamp | None, end: pd.Timestamp | None) -> pd.Series | None:
        """Net spend (purchases less returns) per customer dated ``start <= ts < end``, from the run's store."""
        store = self.path / STORE
        if start is None or end is None or not store.is_file():
            return None
        connection = duckdb.connect(str(store), read_only=True)
        try:
            frame = connection.execute(
                "SELECT customer_id, sum(amount) AS revenue FROM orders WHERE ts >= ? AND ts < ? GROUP BY customer_id",
                [start.to_pydatetime(), end.to_pydatetime()],
            ).df()
        except duckdb.Error:
            return None
        finally:
            connection.close()
        return frame.set_index(frame[s.CUSTOMER_ID].astype(str))["revenue"].astype("float64")


@dataclass
class TrackResult:
    """What tracking produced (also written to ``out``)."""

    out_dir: Path | None
    runs: list[RunView]
    tracked: list[pd.Series]
    steps: list[dict[str, Any]]
    transitions: pd.DataFrame
    migration: pd.DataFrame
    drift: dict[str, Any]
    summary: dict[str, Any]


def placed_representation(
    model: Segmenter, features: pd.DataFrame, shop: Shop, reference: pd.Timestamp | None, sample: int, seed: int
) -> np.ndarray:
    """A seeded sample of customers (rows of ``features``) in ``model``'s fused space, their text read from ``shop``."""
    ids = features.index
    if len(ids) > sample:
        ids = pd.Index(np.sort(np.random.default_rng(seed).choice(ids.to_numpy(), size=sample, replace=False)))
    return model.represent(features.loc[ids], shop.of_customers(ids), reference_ts=reference)


def match_runs(
    earlier: RunView, tracked_before: pd.Series, later: RunView, next_id: int, settings: MatchSettings
) -> Matching:
    """Match ``later``'s segments to ``earlier``'s tracked segments: by shared customers, else by profiles."""
    labels = later.labels
    common = labels.index.intersection(tracked_before.index)
    if len(labels) and len(common) / len(labels) >= settings.min_common:
        return match_by_overlap(tracked_before, labels, next_id, settings)
    columns = [c for c in earlier.segmentation_columns if c in later.features]
    if not columns:
        raise ShopsegError(
            f"{earlier.path} and {later.path} share too few customers to match by overlap and no features to "
            "match segment profiles by."
        )
    scale = robust_scale(earlier.features[columns])
    before = segment_centroids(earlier.features[columns], tracked_before, scale)
    after = segment_centroids(later.features[columns], labels, scale)
    return match_by_centroid(before, after, next_id)


def track_runs(
    run_dirs: list[str | Path],
    out_dir: str | Path | None = None,
    *,
    settings: MatchSettings | None = None,
    embedding_drift: bool = True,
    seed: int = 0,
    embedding_sample: int = EMBEDDING_SAMPLE,
) -> TrackResult:
    """Track segments across ``run_dirs`` (oldest first) and write the outputs into ``out_dir`` (None: don't)."""
    if len(run_dirs) < 2:
        raise ShopsegError("Give at least two run folders to track, oldest first.")
    settings = settings or MatchSettings()
    if out_dir is not None:
        out_dir = prepare_output(out_dir)
    runs = [RunView.read(path) for path in run_dirs]
    for before, after in itertools.pairwise(runs):
        if (
            before.reference_ts is not None
            and after.reference_ts is not None
            and after.reference_ts < before.reference_ts
        ):
            raise ShopsegError(
                f"{after.path} is dated {after.reference_ts:%Y-%m-%d}, before {before.path} "
                f"({before.reference_ts:%Y-%m-%d}): give the runs oldest first."
            )
    tracked = [runs[0].labels]
    next_id = int(max(tracked[0].max(), -1)) + 1
    steps: list[dict[str, Any]] = []
    transitions, migrations, drift_steps = [], [], []
    for index, (before, after) in enumerate(itertools.pairwise(runs)):
        matching = match_runs(before, tracked[-1], after, next_id, settings)
        next_id = matching.next_id(next_id)
        tracked_after = after.labels.map(matching.tracked).astype("int64")
        tracked.append(tracked_after)
        step = {"run_from": before.name, "run_to": after.name, "method": matching.method, "events": matching.events}
        steps.append(step)
        names_before = tracked_names(before, tracked[-2])
        names_after = tracked_names(after, tracked_after)
        moves = transitions_table(tracked[-2], tracked_after)
        revenue = after.revenue_between(before.reference_ts, after.reference_ts)
        clv = after.segments.get("clv")
        migration = migration_table(moves, revenue, clv, names_before, names_after)
        label = {"run_from": before.name, "run_to": after.name}
        transitions.append(moves.assign(**label)[["run_from", "run_to", *moves.columns]])
        migrations.append(migration.assign(**label)[["run_from", "run_to", *migration.columns]])
        drift_steps.append(
            step_drift(
                before, after, tracked[-2], tracked_after, names_after, embedding_drift, seed + index, embedding_sample
            )
        )
    drift = {"thresholds": thresholds(), "steps": drift_steps}
    summary = {
        "runs": [
            {
                "name": run.name,
                "path": str(run.path),
                "reference_ts": str(run.reference_ts) if run.reference_ts is not None else None,
                "customers": len(run.segments),
                "segments": segment_rows(run, ids),
            }
            for run, ids in zip(runs, tracked, strict=True)
        ],
        "matching": {**settings.as_dict(), "rule": "MONIC (Spiliopoulou et al. 2006): overlap = |X ∩ Y| / |X|"},
        "steps": steps,
    }
    result = TrackResult(
        out_dir=out_dir,
        runs=runs,
        tracked=tracked,
        steps=steps,
        transitions=pd.concat(transitions, ignore_index=True),
        migration=pd.concat(migrations, ignore_index=True),
        drift=drift,
        summary=summary,
    )
    if out_dir is not None:
        write_atomically(out_dir, lambda folder: write_track(folder, result))
    return result


def tracked_names(run: RunView, tracked: pd.Series) -> dict[int, str]:
    """{tracked id: the run's name for that segment}."""
    names = run.names
    pairs = pd.DataFrame({"raw": run.labels, "tracked": tracked}).drop_duplicates("tracked")
    return {int(t): names.get(int(r), str(r)) for r, t in zip(pairs["raw"], pairs["tracked"], strict=True)}


def segment_rows(run: RunView, tracked: pd.Series) -> list[dict[str, Any]]:
    """Every segment of a run: its id in the run, tracked id, name, customers and share."""
    names = run.names
    frame = pd.DataFrame({"segment_id": run.labels, "tracked_id": tracked})
    counts = frame.groupby(["segment_id", "tracked_id"]).size().reset_index(name="customers")
    total = max(len(frame), 1)
    return [
        {
            "segment_id": int(row.segment_id),
            "tracked_id": int(row.tracked_id),
            "name": names.get(int(row.segment_id), str(row.segment_id)),
            "customers": int(row.customers),
            "share": round(row.customers / total, 6),
        }
        for row in counts.sort_values("tracked_id").itertuples(index=False)
    ]


def step_drift(
    before: RunView,
    after: RunView,
    tracked_before: pd.Series,
    tracked_after: pd.Series,
    names: dict[int, str],
    embedding: bool,
    seed: int,
    sample: int,
) -> dict[str, Any]:
    """Drift between two runs in the earlier run's feature space; see :mod:`shopseg.track.drift`.

    The later run's customers are placed on the earlier model (their features recomputed from
    the later run's store with the earlier model's share priors and window, as of the later
    run's date), so both sides are measured the same way: share features shrunk towards other
    shop shares would otherwise differ by construction.
    """
    model = before.model()
    notes: list[str] = []
    try:
        shop_after = after.shop()
        later_features = model.features_for(shop_after, reference_ts=after.reference_ts)
    except ShopsegError as error:
        shop_after, later_features = None, after.features
        notes.append(f"{error} Feature drift compares the runs' own features.parquet instead.")
    columns = [c for c in before.segmentation_columns if c in later_features]
    psi_table = feature_psi(before.features, later_features, columns)
    shares = share_changes(tracked_before, tracked_after, {**tracked_names(before, tracked_before), **names})
    result: dict[str, Any] = {
        "run_from": before.name,
        "run_to": after.name,
        "space": f"features as the model of {before.name} computes them",
        "features": psi_table.to_dict("records"),
        "features_shifted": int((psi_table["verdict"] == "shifted").sum()),
        "features_moderate": int((psi_table["verdict"] == "moderate").sum()),
        "psi_max": float(psi_table["psi"].max()) if len(psi_table) else None,
        "shares": shares.to_dict("records"),
        "notes": notes,
    }
    result["embedding"] = {"auc": None, "note": "skipped (--no-embedding-drift)"}
    if embedding and shop_after is not None:
        try:
            earlier = placed_representation(model, before.features, before.shop(), before.reference_ts, sample, seed)
            later = placed_representation(model, later_features, shop_after, after.reference_ts, sample, seed)
            result["embedding"] = {
                "space": f"the fused space of {before.name}'s model",
                **domain_auc(earlier, later, seed),
            }
        except ShopsegError as error:
            result["embedding"] = {"auc": None, "note": str(error)}
    elif embedding:
        result["embedding"] = {"auc": None, "note": "the later run has no store to place its customers from"}
    return result


def write_track(folder: Path, result: TrackResult) -> None:
    """The tracking outputs into ``folder`` (see the module docstring)."""
    from shopseg.report.track import build_track_report

    write_safe_csv(result.transitions, folder / "transitions.csv")
    write_safe_csv(result.migration, folder / "migration.csv")
    write_json(folder / "drift.json", result.drift)
    write_json(folder / "track.json", result.summary)
    (folder / "track.html").write_text(build_track_report(result.summary, result.migration, result.drift), "utf-8")
