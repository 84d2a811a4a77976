"""``shopseg segment --engine chunked``: shops larger than memory on one machine.

What runs where:

1. **split** -- DuckDB reads the input files out of core and writes every per-customer table
   as Parquet chunks of about ``chunk`` customers, by a seeded hash of the customer id
   (:mod:`~shopseg.engines.chunked.partition`); guests are counted there. The product table
   is read whole (or, without one, built from the order lines' usual descriptions by DuckDB).
2. **fit** -- the first buckets, about ``fit_sample`` customers (a hash sample: the same inputs
   and seed always draw the same customers), are read by the single-machine loader and the
   whole single-machine pipeline runs on them, unchanged (:func:`~shopseg.runner.segment_shop`):
   features, text, fusion, clustering and the choice of K, stability, value, profiles,
   recommendations and every output file. Those files describe the customers fitted on.
3. **place everybody** -- chunk by chunk, each chunk is checked by the same loader (its
   rejected rows join the quarantine with their original file and line) and placed by the
   fitted model as ``shopseg assign`` would (features as of the run's reference time, the
   saved scaler, text encoder and fusion, the clusterer) and scored by the fitted value models
   (CLV, P(alive), expected orders, churn risk, high-value probability, next order: the
   values the fitted customers have in ``segments.parquet``). Every chunk's rows are written
   as one part file of ``all_segments.parquet/``; memory is bounded by the chunk, not the shop.
   With recommendations on, ALS product factors are learned from the fitted sample once and
   every chunk's customers are folded in (:class:`~shopseg.recommend.fold_in.FoldInALS`):
   their exact top ``n`` products not yet bought go to ``all_recommendations.parquet/``.

run.json's ``engine`` section gives the customers placed, the segment sizes over everybody,
the agreement between the fitted labels of the sample and their placement, and the seconds
per step; its ``inputs`` count every row of every file (read, kept, quarantined, duplicates,
guests) and ``quarantine.csv`` lists every rejected row of the whole shop.
"""

from __future__ import annotations

import gc
import shutil
import tempfile
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from shopseg import schema as s
from shopseg.assign import assign_customers
from shopseg.engines.chunked.partition import (
    BUCKET,
    PER_CUSTOMER,
    Partitioned,
    partition_shop,
    source_sql,
    sql_literal,
)
from shopseg.errors import ShopsegError
from shopseg.export.run_folder import prepare_output
from shopseg.features.sql import quote
from shopseg.ingest import load_shop
from shopseg.ingest.load import file_sha256, require_customers
from shopseg.ingest.validate import QUARANTINE_COLUMNS
from shopseg.pipeline import Segmenter
from shopseg.recommend import RecommendationResult
from shopseg.recommend.fold_in import FoldInALS
from shopseg.runner import RunResult, check_run_options, pop_input_paths, segment_shop
from shopseg.shop import FileReport, Shop

#: Customers the model is fitted on (about; whole buckets are drawn).
FIT_SAMPLE = 200_000
#: Customers per chunk when placing everybody.
CHUNK = 200_000
OUTPUT = "all_segments.parquet"
RECOMMENDATIONS = "all_recommendations.parquet"


def catalogue(
    paths: dict[str, Path], mapping: dict[str, dict[str, str]] | None = None
) -> tuple[pd.DataFrame | None, Shop | None]:
    """(product table for every chunk, the loaded product file's shop for its report).

    With a product file: read and checked by the loader. Without one but with order-line
    descriptions: one row per product, titled with the description written most often on
    its lines (the loader's rule, counted by DuckDB over every line read).
    """
    mapping = mapping or {}
    if "products" in paths:
        shop = load_shop(products=paths["products"], mapping={"products": mapping.get("products", {})})
        return shop.products, shop
    orders = source_sql(paths["orders"], mapping.get("orders"))
    connection = duckdb.connect()
    try:
        names = [row[0] for row in connection.execute(f"DESCRIBE SELECT * FROM {orders}").fetchall()]
        if s.DESCRIPTION not in names or s.PRODUCT_ID not in names:
            return None, None
        product, description = quote(s.PRODUCT_ID), quote(s.DESCRIPTION)
        frame = connection.execute(
            f"""
            WITH lines AS (
                SELECT CAST({product} AS VARCHAR) AS product, CAST({description} AS VARCHAR) AS title
                FROM {orders}
                WHERE {product} IS NOT NULL AND CAST({product} AS VARCHAR) <> ''
                  AND {description} IS NOT NULL AND trim(CAST({description} AS VARCHAR)) <> ''
            ), counted AS (SELECT product, title, count(*) AS n FROM lines GROUP BY ALL)
            SELECT product AS {product}, first(title ORDER BY n DESC, title) AS {quote(s.TITLE)}
            FROM counted GROUP BY product ORDER BY product
            """
        ).df()
    finally:
        connection.close()
    return frame, None


def _sample_files(parts: Partitioned, buckets: int, folder: Path) -> dict[str, Path]:
    """One Parquet file per table holding the rows of buckets ``0 .. buckets - 1``."""
    files = {}
    connection = duckdb.connect()
    try:
        for role in PER_CUSTOMER:
            if not (parts.folder / role).is_dir():
                continue
            pattern = sql_literal(str(parts.folder / role / "*" / "*.parquet"))
            target = folder / f"{role}.parquet"
            connection.execute(
                f"COPY (SELECT * EXCLUDE ({BUCKET}) FROM read_parquet({pattern}, hive_partitioning = true) "
                f"WHERE {BUCKET} < {int(buckets)}) TO {sql_literal(str(target))} (FORMAT parquet)"
            )
            files[role] = target
    finally:
        connection.close()
    return files


def load_chunk(files: dict[str, Path], products: pd.DataFrame | None, **read: Any) -> Shop:
    """A chunk's tables read and checked by the single-machine loader, with the shop's catalogue.

    ``read``: the loader's ``date_format`` and ``pseudonymise_key`` (an HMAC of the id, so a
    customer gets the same pseudonym in every chunk).
    """
    shop = load_shop(**files, **read)
    if products is not None:
        shop.products = products
    return shop


class _Totals:
    """Rows of every input file over all chunks, as the loader would have counted them."""

    def __init__(self, parts: Partitioned) -> None:
        self.parts = parts
        self.kept: dict[str, int] = {}
        self.duplicates: dict[str, int] = {}
        self.quarantined: dict[str, int] = {}
        self.quarantine: list[pd.DataFrame] = []
        self.formats: dict[str, str] = {}

    def add(self, shop: Shop) -> None:
        for report in shop.files:
            role = report.role
            self.kept[role] = self.kept.get(role, 0) + report.kept
            self.duplicates[role] = self.duplicates.get(role, 0) + report.duplicates
            self.quarantined[role] = self.quarantined.get(role, 0) + report.quarantined
            self.formats.setdefault(role, report.format)
        if not shop.quarantine.empty:
            self.quarantine.append(shop.quarantine)

    def reports(self, products: Shop | None) -> list[FileReport]:
        reports = []
        for role, counts in self.parts.counts.items():
            reports.append(
                FileReport(
                    path=str(self.parts.inputs[role]),
                    role=role,
                    format=f"{self.formats.get(role, 'canonical')} (read in chunks)",
                    sha256=file_sha256(self.parts.inputs[role]) if self.parts.inputs[role].is_file() else "",
                    encoding=None,
                    rows_read=counts["rows_read"],
                    duplicates=self.duplicates.get(role, 0) + counts["guest_duplicates"],
                    guests=counts["guests"],
                    quarantined=self.quarantined.get(role, 0),
                    kept=self.kept.get(role, 0),
                )
            )
        return reports + (products.files if products is not None else [])

    def all_quarantined(self, products: Shop | None) -> pd.DataFrame:
        frames = [*self.quarantine, *([products.quarantine] if products is not None else [])]
        frames = [f for f in frames if not f.empty]
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=QUARANTINE_COLUMNS)


def segment_in_chunks(
    out_dir: str | Path,
    *,
    fit_sample: int = FIT_SAMPLE,
    chunk: int = CHUNK,
    memory_limit: str = "4GB",
    work_dir: str | Path | None = None,
    **options: Any,
) -> RunResult:
    """Split, fit on a sample, place everybody chunk by chunk; see the module docstring.

    ``orders`` ... ``events`` (paths) and :func:`~shopseg.runner.segment_shop`'s options come
    in ``options``. ``work_dir``: where the chunks are written (default: beside ``out_dir``);
    removed at the end.
    """
    out_dir = prepare_output(out_dir)
    check_run_options(options)
    if fit_sample < 1 or chunk < 1:
        raise ShopsegError("--fit-sample and --chunk must be positive numbers of customers.")
    paths = pop_input_paths(options, "chunked")
    read = {"date_format": options.pop("date_format", None), "pseudonymise_key": options.pop("pseudonymise_key", None)}
    mapping = options.pop("mapping", None) or {}
    on_step = options.get("on_step")
    seed = int(options.get("seed", 0))
    recommend_n = int(options.get("recommend_n", 10))
    anchor = out_dir.parent if out_dir.parent.exists() else Path.cwd()
    work = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}-chunks-", dir=work_dir or anchor))
    try:
        started = time.perf_counter()
        if on_step:
            on_step("read", "start")
        parts = partition_shop(
            paths, work / "parts", chunk=chunk, seed=seed, memory_limit=memory_limit, mapping=mapping
        )
        split_seconds = time.perf_counter() - started
        products, product_shop = catalogue(paths, mapping)
        per_bucket = parts.customers / parts.buckets
        fitted_buckets = min(parts.buckets, max(1, round(fit_sample / per_bucket)))
        sample = _sample_files(parts, fitted_buckets, work)
        shop = load_chunk(sample, products, **read)
        require_customers(shop)
        read_seconds = round(time.perf_counter() - started, 4)
        if on_step:
            on_step("read", "end")

        def place_everybody(segmenter: Segmenter, record: dict[str, object], recommended: Any) -> Any:
            return _place(
                segmenter, record, shop, parts, (products, product_shop), read, work, fitted_buckets, on_step,
                (_fold_in(recommended), recommend_n),
            )  # fmt: skip

        result = segment_shop(
            shop,
            out_dir,
            inputs={
                "date_format": read["date_format"],
                "mapping": mapping or None,
                "pseudonymised": bool(read["pseudonymise_key"]),
            },
            timings={"split": round(split_seconds, 4), "read": round(read_seconds - split_seconds, 4)},
            extension=place_everybody,
            **options,
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return result


def _place(
    segmenter: Segmenter,
    record: dict[str, object],
    shop: Shop,
    parts: Partitioned,
    catalogue_read: tuple[pd.DataFrame | None, Shop | None],
    read: dict[str, Any],
    work: Path,
    fitted_buckets: int,
    on_step: Any,
    recommend: tuple[FoldInALS | str, int] = ("turned off (--no-recommend)", 10),
) -> Any:
    """Place every chunk's customers with the fitted model; returns the writer of the run's extra files."""
    if on_step:
        on_step("place", "start")
    started = time.perf_counter()
    products, product_shop = catalogue_read
    staging = work / OUTPUT
    staging.mkdir()
    totals = _Totals(parts)
    sizes: dict[int, int] = {}
    fitted = segmenter.assignments().set_index(s.CUSTOMER_ID)[s.SEGMENT_ID]
    scorer = segmenter.value_.scorer if segmenter.value_ is not None else None
    same = compared = 0
    recommender = recommend[0]
    recommended: dict[str, float] = {"customers": 0, "rows": 0, "seconds": 0.0}
    if isinstance(recommender, FoldInALS):
        (work / RECOMMENDATIONS).mkdir()
    for bucket in range(parts.buckets):
        files = {role: parts.chunk_file(role, bucket) for role in PER_CUSTOMER if role in parts.counts}
        files = {role: path for role, path in files.items() if path is not None}
        if not files:
            continue
        chunk_shop = load_chunk(files, products, **read)
        totals.add(chunk_shop)
        if len(chunk_shop.customer_ids()) == 0:
            continue
        table = assign_customers("", chunk_shop, segmenter=segmenter)
        if scorer is not None and chunk_shop.orders is not None:  # CLV, P(alive), churn risk ... for everybody
            value = scorer.score(chunk_shop.orders)
            table = table.join(value, on=s.CUSTOMER_ID)
        table.to_parquet(staging / f"part-{bucket:05d}.parquet", index=False)
        if isinstance(recommender, FoldInALS) and chunk_shop.orders is not None:
            step = time.perf_counter()
            products_for = recommender.recommend(chunk_shop.orders, n=recommend[1])
            products_for.to_parquet(work / RECOMMENDATIONS / f"part-{bucket:05d}.parquet", index=False)
            recommended["customers"] += int(products_for[s.CUSTOMER_ID].nunique())
            recommended["rows"] += len(products_for)
            recommended["seconds"] = round(recommended["seconds"] + time.perf_counter() - step, 3)
        for segment, count in table[s.SEGMENT_ID].value_counts().items():
            sizes[int(segment)] = sizes.get(int(segment), 0) + int(count)
        if bucket < fitted_buckets:
            placed = table.set_index(s.CUSTOMER_ID)[s.SEGMENT_ID]
            common = placed.index.intersection(fitted.index)
            compared += len(common)
            same += int((placed.loc[common] == fitted.loc[common]).sum())
        del chunk_shop, table
        gc.collect()
    files = totals.reports(product_shop)
    shop.files = files
    shop.quarantine = totals.all_quarantined(product_shop)
    record["inputs"] = [f.as_dict() for f in files]
    record["rows"] = shop.totals()
    fitted_on = len(fitted)
    placed_total = sum(sizes.values())
    record["engine"] = {
        "name": "chunked",
        "read_by": "duckdb (split) + the local loader per chunk",
        "customers": parts.customers,
        "chunks": parts.buckets,
        "fitted_on": fitted_on,
        "fitted_chunks": fitted_buckets,
        "placed": placed_total,
        "segment_sizes": {str(k): v for k, v in sorted(sizes.items())},
        "agreement_with_fit": round(same / compared, 6) if compared else None,
        "recommend": (
            {
                "model": "ALS fitted on the sample, every customer folded in (implicit)",
                **asdict(recommender.settings),
                "products": len(recommender.product_ids_),
                "n": recommend[1],
                **recommended,
                "output": RECOMMENDATIONS,
            }
            if isinstance(recommender, FoldInALS)
            else {"skipped": recommender}
        ),
        "output": OUTPUT,
        "seconds": round(time.perf_counter() - started, 3),
    }
    timings = record.get("timings_seconds")
    if isinstance(timings, dict):
        timings["place"] = record["engine"]["seconds"]
    if fitted_on < placed_total:
        record["notes"] = [
            *record.get("notes", []),
            f"chunked: fitted on a seeded sample of {fitted_on:,} of {placed_total:,} customers; every customer's "
            f"segment is in {OUTPUT}, the other files describe the sample.",
        ]
    if on_step:
        on_step("place", "end")

    def write(folder: Path) -> None:
        shutil.move(str(staging), str(folder / OUTPUT))
        if isinstance(recommender, FoldInALS):
            shutil.move(str(work / RECOMMENDATIONS), str(folder / RECOMMENDATIONS))

    return write


def _fold_in(recommended: RecommendationResult | None) -> FoldInALS | str:
    """The ALS factors the recommend step fitted on the sample (``model/fold_in``), or why there are none."""
    if recommended is None:
        return "turned off (--no-recommend)"
    if recommended.fold_in is None:
        return "no ALS factors: they need the 'implicit' package and purchases with product ids"
    return recommended.fold_in
