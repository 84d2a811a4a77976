"""A saved run folder, loaded once: the tables and model the API, the dashboard and audiences read.

The API and the dashboard answer from memory: ``segments.parquet`` (one row per customer,
indexed by ``customer_id``), ``profiles.json``, ``run.json``, the fitted
:class:`~shopseg.pipeline.Segmenter` and the run's product table (needed to compute the
category shares of a newly assigned customer). ``recommendations.parquet`` is optional
(written by the recommend stage when it ran); when present it is kept sorted by customer so
one customer's rows are a binary search away, at any number of customers.

A run of ``--engine chunked`` or ``--engine spark`` describes a fitted sample in those files
and every customer in ``all_segments.parquet/`` and ``all_recommendations.parquet/`` (folders
of part files, possibly millions of rows). Those are not loaded: a customer who is not in the
sample is looked up in them by DuckDB, one query per request (about 0.05-0.35 s at a million
customers and ten million recommendations on this project's 2-core machine).

Nothing here is mutated after loading, so one :class:`RunData` is safely shared by the
threads that serve requests (each lookup opens its own DuckDB connection).

A rerun into the same folder replaces it as a whole (see :mod:`shopseg.export.run_folder`),
so the folder's identity (device and inode) tells whether it still holds the run that was
loaded (:meth:`RunData.replaced`); a load that sees the folder change under it starts over,
so one :class:`RunData` never mixes two runs.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from shopseg import schema as s
from shopseg.errors import ShopsegError
from shopseg.export.recommendations import FOLD_IN_FOLDER
from shopseg.features.sql import quote
from shopseg.pipeline import Segmenter
from shopseg.recommend.als import implicit_available
from shopseg.recommend.fold_in import FoldInALS

STORE = "shopseg.duckdb"
RECOMMENDATIONS = "recommendations.parquet"
#: Columns of segments.parquet shown as a customer's scores (those present are used).
SCORE_COLUMNS = ("clv", "p_alive", "expected_orders_365d", "churn_risk", "high_value_prob", "next_order_date_estimate")
#: Columns of segments.parquet shown as a customer's behaviour summary.
SUMMARY_COLUMNS = ("recency_days", "frequency", "monetary_total", "monetary_mean", "return_rate")
LAST_ORDER = "last_order_date"
#: Every customer of a sampled (chunked or Spark) run: folders of Parquet part files.
ALL_SEGMENTS, ALL_RECOMMENDATIONS = "all_segments.parquet", "all_recommendations.parquet"


@dataclass
class RunData:
    """Everything a served run answers from; build it with :meth:`load`.

    ``segments``: one row per customer (index ``customer_id``, string) with the columns of
    segments.parquet plus ``last_order_date`` (reference time minus recency) when recency is
    known; ``profiles``: {segment id: profile dict}; ``record``: run.json;
    ``recommendations``: customer_id, rank, product_id, score, reason sorted by customer
    and rank, or None; ``fold_in``: the ALS factors that recommend to new customers
    (``model/fold_in/``), or None for runs without them.
    """

    run_dir: Path
    segments: pd.DataFrame
    profiles: dict[int, dict[str, Any]]
    record: dict[str, Any]
    segmenter: Segmenter
    reference_ts: pd.Timestamp | None
    products: pd.DataFrame | None = None
    titles: dict[str, str] = field(default_factory=dict)
    recommendations: pd.DataFrame | None = None
    fold_in: FoldInALS | None = None
    identity: tuple[int, int] | None = None
    _recommendation_keys: np.ndarray | None = field(default=None, repr=False)

    @classmethod
    def load(cls, run_dir: str | Path, *, recommendations: bool = True, attempts: int = 3) -> RunData:
        """Read a run folder written by ``shopseg segment`` (raises ShopsegError when it is not one).

        ``recommendations=False`` leaves out the recommendations and the fold-in factors
        (what audiences do not need: faster on a big run). A folder replaced by a rerun while
        it is read is read again (up to ``attempts`` times).
        """
        run_dir = Path(run_dir)
        for _ in range(attempts):
            before = folder_identity(run_dir)
            data = cls._read(run_dir, recommendations)
            if before is not None and folder_identity(run_dir) == before:
                data.identity = before
                return data
        raise ShopsegError(f"{run_dir}: the run folder keeps changing while it is read; wait for the run to finish.")

    def replaced(self) -> bool:
        """True when the folder now holds another run than the one loaded (a rerun switched it)."""
        current = folder_identity(self.run_dir)
        return current is not None and current != self.identity

    @classmethod
    def _read(cls, run_dir: Path, recommendations: bool) -> RunData:
        missing = [n for n in ("segments.parquet", "profiles.json", "run.json") if not (run_dir / n).exists()]
        if missing:
            raise ShopsegError(
                f"{run_dir}: not a shopseg run folder ({', '.join(missing)} missing). "
                "Point --run to the --out folder of 'shopseg segment' or 'shopseg demo'."
            )
        record = json.loads((run_dir / "run.json").read_text())
        segmenter = Segmenter.load(run_dir)
        reference = record.get("reference_ts") or model_reference(run_dir)
        reference_ts = pd.Timestamp(reference) if reference else None
        segments = pd.read_parquet(run_dir / "segments.parquet")
        segments[s.CUSTOMER_ID] = segments[s.CUSTOMER_ID].astype(str)
        segments = segments.set_index(s.CUSTOMER_ID, drop=False).rename_axis(None)
        if reference_ts is not None and "recency_days" in segments:
            days = pd.to_timedelta(segments["recency_days"], unit="D")
            segments[LAST_ORDER] = (reference_ts - days).dt.normalize()
        profiles = {int(p["segment_id"]): p for p in json.loads((run_dir / "profiles.json").read_text())}
        products = read_store_table(run_dir, "products")
        data = cls(
            run_dir=run_dir,
            segments=segments,
            profiles=profiles,
            record=record,
            segmenter=segmenter,
            reference_ts=reference_ts,
            products=products,
            titles=product_titles(products),
        )
        if not recommendations:
            return data
        data._load_recommendations()
        if (run_dir / FOLD_IN_FOLDER).is_dir() and implicit_available():  # folding in needs implicit
            data.fold_in = FoldInALS.load(run_dir / FOLD_IN_FOLDER)
        return data

    def _load_recommendations(self) -> None:
        path = self.run_dir / RECOMMENDATIONS
        if not path.exists():
            return
        table = pd.read_parquet(path)
        table[s.CUSTOMER_ID] = table[s.CUSTOMER_ID].astype(str)
        order = [s.CUSTOMER_ID, "rank"] if "rank" in table else [s.CUSTOMER_ID]
        self.recommendations = table.sort_values(order, kind="stable").reset_index(drop=True)
        self._recommendation_keys = self.recommendations[s.CUSTOMER_ID].to_numpy(dtype=object)

    @property
    def store_path(self) -> Path:
        return self.run_dir / STORE

    def segment_names(self) -> dict[int, str]:
        """{segment id: name} for every segment of the run."""
        return {segment_id: str(p.get("name", segment_id)) for segment_id, p in self.profiles.items()}

    def _everybody(self, name: str, customer_id: str, order: str = "") -> pd.DataFrame | None:
        """The customer's rows of ``all_segments`` / ``all_recommendations`` (None when the run has no such file)."""
        folder = self.run_dir / name
        if not folder.exists():
            return None
        files = str(folder / "*.parquet") if folder.is_dir() else str(folder)
        connection = duckdb.connect()
        try:
            return connection.execute(
                f"SELECT * FROM read_parquet($files) WHERE {quote(s.CUSTOMER_ID)} = $customer {order}",
                {"files": files, "customer": customer_id},
            ).df()
        finally:
            connection.close()

    def customer(self, customer_id: str) -> pd.Series | None:
        """The customer's row of segments.parquet (else of all_segments.parquet), or None for an unknown id."""
        try:
            if customer_id in self.segments.index:
                return self.segments.loc[customer_id]
        except (KeyError, TypeError):
            return None
        rows = self._everybody(ALL_SEGMENTS, customer_id)
        return None if rows is None or rows.empty else rows.iloc[0]

    def titled(self, table: pd.DataFrame) -> list[dict[str, Any]]:
        """Recommendation rows (without customer_id) as JSON-ready dicts, with product titles when known."""
        records = [jsonable(row) for row in table.drop(columns=[s.CUSTOMER_ID], errors="ignore").to_dict("records")]
        for row in records:
            if row.get(s.PRODUCT_ID) in self.titles:
                row.setdefault(s.TITLE, self.titles[row[s.PRODUCT_ID]])
        return records

    def recommendations_for(self, customer_id: str) -> list[dict[str, Any]] | None:
        """The customer's recommendations by rank ([] when none); None when the run has none at all.

        recommendations.parquet first (the evaluated model, for the fitted customers), then
        all_recommendations.parquet (everybody of a sampled run).
        """
        everybody = (self.run_dir / ALL_RECOMMENDATIONS).exists()
        if self.recommendations is not None and self._recommendation_keys is not None:
            keys = self._recommendation_keys
            start = int(np.searchsorted(keys, customer_id, side="left"))
            stop = int(np.searchsorted(keys, customer_id, side="right"))
            if stop > start or not everybody:
                return self.titled(self.recommendations.iloc[start:stop])
        rows = self._everybody(ALL_RECOMMENDATIONS, customer_id, order='ORDER BY "rank"')
        return None if rows is None else self.titled(rows)


def folder_identity(path: Path) -> tuple[int, int] | None:
    """(device, inode) of a folder: a new value means a rerun replaced it; None while it is missing."""
    try:
        status = os.stat(path)
    except FileNotFoundError:
        return None
    return status.st_dev, status.st_ino


def product_titles(products: pd.DataFrame | None) -> dict[str, str]:
    """{product id: title} from a product table ({} without one or without titles)."""
    if products is None or s.TITLE not in products:
        return {}
    titled = products.dropna(subset=[s.TITLE])
    return dict(zip(titled[s.PRODUCT_ID].astype(str), titled[s.TITLE].astype(str), strict=True))


def model_reference(run_dir: Path) -> str | None:
    """The reference time ("now" of recency) saved in the run's model.json, if any."""
    for path in (run_dir / "model" / "model.json", run_dir / "model.json"):
        if path.exists():
            return json.loads(path.read_text()).get("reference_ts")
    return None


def read_store_table(run_dir: Path, name: str) -> pd.DataFrame | None:
    """One table of the run's shopseg.duckdb, or None when the store or the table is absent."""
    path = run_dir / STORE
    if not path.exists():
        return None
    connection = duckdb.connect(str(path), read_only=True)
    try:
        names = {row[0] for row in connection.execute("SHOW TABLES").fetchall()}
        if name not in names:
            return None
        return connection.execute(f"SELECT * FROM {quote(name)}").df()
    finally:
        connection.close()


def jsonable(row: dict[str, Any]) -> dict[str, Any]:
    """A record with numpy/pandas scalars made JSON-friendly: NaN/NaT -> None, timestamps -> ISO text."""
    clean: dict[str, Any] = {}
    for key, value in row.items():
        if value is None or (not isinstance(value, str | bytes | list | dict) and pd.isna(value)):
            clean[key] = None
        elif isinstance(value, pd.Timestamp):
            clean[key] = value.isoformat()
        elif isinstance(value, np.generic):
            clean[key] = value.item()
        else:
            clean[key] = value
    return clean
