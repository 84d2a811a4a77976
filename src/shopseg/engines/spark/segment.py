"""``shopseg segment --engine spark``: fit on a sample of customers, place every customer on Spark.

What runs where:

1. **read** -- canonical Parquet inputs are read and checked by Spark itself
   (:mod:`~shopseg.engines.spark.reading`); other inputs (CSV, Excel, ``--map``, a known
   export format) go through the local loader and are then handed to Spark.
2. **sample** -- when the shop has more than ``fit_sample`` customers with orders, a seeded
   sample of about that many (a hash of the customer id and the seed, so the same inputs and
   seed always draw the same customers) is collected to the driver with all their rows; a
   smaller shop is used whole.
3. **fit** -- the single-machine pipeline runs on that shop, unchanged
   (:func:`~shopseg.runner.segment_shop`): features, text, fusion, clustering with the
   choice of K, stability, value, profiles, recommendations and every output file. Those
   files describe the customers fitted on.
4. **place everybody** -- the fitted model is applied to *every* customer on the executors
   (features, engagement and text computed in Spark, the model per Arrow batch:
   :func:`~shopseg.engines.spark.assign.assign_tables`) and written by Spark as
   ``all_segments.parquet`` (a folder of part files: customer_id, segment_id,
   segment_name, and with value models the value columns: BG/NBD refitted on every customer
   with its likelihood summed across partitions, everybody scored on Spark,
   :mod:`~shopseg.engines.spark.value`). With recommendations on, every customer also gets
   products from MLlib ALS, written as ``all_recommendations.parquet``
   (:mod:`~shopseg.engines.spark.recommend`). run.json's ``engine`` section says how many customers were fitted on and
   placed, the segment sizes over everybody, and the agreement between the fitted labels of
   the sample and their placement on Spark. Rows Spark rejected while reading are written as
   ``quarantine_<table>.parquet`` (every column, ``reject_column``, ``reject_reason``).

A shop no larger than ``fit_sample`` gives the same run folder as the local engine, plus
``all_segments.parquet`` with the same segments (tested).
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Mapping
from dataclasses import asdict, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from shopseg import schema as s
from shopseg.engines.spark.assign import assign_tables
from shopseg.engines.spark.reading import SparkTable, is_parquet, read_tables
from shopseg.engines.spark.recommend import SparkALS, recommend_with_als
from shopseg.engines.spark.session import spark_session
from shopseg.engines.spark.value import fit_transaction, purchase_summary, score_customers
from shopseg.errors import ShopsegError
from shopseg.export.run_folder import prepare_output
from shopseg.ingest import load_shop
from shopseg.ingest.load import ROLES, file_sha256, require_customers
from shopseg.pipeline import Segmenter
from shopseg.recommend.registry import DEFAULT_RECOMMENDER
from shopseg.runner import RunResult, check_run_options, pop_input_paths, segment_shop
from shopseg.shop import FileReport, Shop
from shopseg.value import ValueScorer
from shopseg.value.customer_value import value_columns

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

#: Customers the model is fitted on at most (a seeded sample of larger shops).
FIT_SAMPLE = 200_000
#: Resolution of the hash sample: a customer is drawn when hash mod this is below a threshold.
HASH_BUCKETS = 1_000_000


def sample_customers(orders: DataFrame, size: int, seed: int) -> tuple[DataFrame, int]:
    """(customer ids drawn, customers with orders): about ``size`` of them by a seeded hash, or all."""
    from pyspark.sql import functions as f

    customers = orders.select(s.CUSTOMER_ID).distinct()
    total = customers.count()
    if total <= size:
        return customers, total
    threshold = int(HASH_BUCKETS * size / total) + 1
    bucket = f.pmod(f.xxhash64(f.col(s.CUSTOMER_ID), f.lit(seed)), f.lit(HASH_BUCKETS))
    return customers.where(bucket < threshold), total


def value_of_everybody(orders: DataFrame, scorer: ValueScorer) -> tuple[DataFrame, dict[str, object]]:
    """Every customer's value columns on Spark, BG/NBD refitted on all of them; and the record of that fit.

    The transaction model the sample chose (BG/NBD, MBG/NBD or Pareto/NBD) is fitted again on
    every customer (its likelihood summed across partitions) and replaces the sample's fit in
    the scorer unless it did not converge; the spend model, the bound and the churn / high-value
    classifiers are the sample's.
    """
    started = time.perf_counter()
    summary, last_day = purchase_summary(orders)
    refit, facts = fit_transaction(summary, type(scorer.transaction))
    # a refit that did not converge (a flat ridge on everybody) is not trusted over the sample's fit
    transaction = refit if refit.converged_ else scorer.transaction
    values = score_customers(orders, replace(scorer, transaction=transaction, last_day=last_day))
    record = {
        "transaction_all_customers": refit.to_dict(),
        "transaction_sample": scorer.transaction.to_dict(),
        "transaction_used": "all_customers" if refit.converged_ else "sample (the refit on everybody did not converge)",
        "fit": facts,
        "last_day": last_day.isoformat(),
        "columns": list(value_columns(scorer.horizon_days)),
        "fit_seconds": round(time.perf_counter() - started, 3),
    }
    return values, record


def _pandas(table: DataFrame) -> pd.DataFrame:
    """A Spark table on the driver, typed as the local loader types canonical tables.

    Rows are sorted by every column: Spark returns them in whatever order its partitions
    finish, and sums over a customer's lines must not depend on that (same input and seed,
    same segments, to the last bit).
    """
    frame = table.toPandas()
    frame = frame.sort_values(list(frame.columns), kind="stable", na_position="last").reset_index(drop=True)
    for column in frame.columns:
        if isinstance(frame[column].dtype, pd.DatetimeTZDtype):
            frame[column] = frame[column].dt.tz_convert(None)
        if pd.api.types.is_datetime64_any_dtype(frame[column]):
            frame[column] = frame[column].astype("datetime64[ns]")
    return frame


def _report(role: str, path: str | Path, table: SparkTable) -> FileReport:
    """The ingestion record of a table Spark read."""
    counts = table.counts
    return FileReport(
        path=str(path),
        role=role,
        format="canonical parquet (read by Spark)",
        sha256=file_sha256(Path(path)) if Path(path).is_file() else "",
        encoding=None,
        rows_read=counts["rows_read"],
        duplicates=counts["duplicates"],
        guests=counts["guests"],
        quarantined=counts["quarantined"],
        kept=counts["kept"],
    )


def _spark_tables(spark: Any, paths: dict[str, Path], options: dict[str, Any]) -> tuple[dict, dict, Shop | None]:
    """({role: Spark frame}, {role: checked table} when Spark read them, the driver's shop otherwise)."""
    plain = not (options.get("format") or options.get("mapping") or options.get("date_format"))
    if plain and not options.get("pseudonymise_key") and all(is_parquet(p) for p in paths.values()):
        checked = read_tables(spark, paths)
        return {role: table.kept for role, table in checked.items()}, checked, None
    shop = load_shop(
        *(paths.get(role) for role in ROLES),
        format=options.get("format"),
        mapping=options.get("mapping"),
        date_format=options.get("date_format"),
        pseudonymise_key=options.get("pseudonymise_key"),
    )
    require_customers(shop)
    tables = {role: spark.createDataFrame(frame) for role, frame in shop.tables().items() if not frame.empty}
    return tables, {}, shop


def segment_with_spark(
    out_dir: str | Path,
    *,
    master: str = "local[*]",
    config: Mapping[str, str] | None = None,
    fit_sample: int = FIT_SAMPLE,
    read_options: dict[str, Any] | None = None,
    **options: Any,
) -> RunResult:
    """Fit on a sample, place everybody on Spark, write the run folder; see the module docstring.

    ``orders`` ... ``events`` (paths) and :func:`~shopseg.runner.segment_shop`'s options come
    in ``options``; ``read_options``: format, mapping, date_format, pseudonymise_key.
    Spark computes features over whole histories: an activity window (``window_days``) is
    refused.
    """
    out_dir = prepare_output(out_dir)
    check_run_options(options)
    if options.get("window_days") is not None:
        raise ShopsegError("--window-days needs the local or chunked engine: Spark reads whole histories.")
    if fit_sample < 1:
        raise ShopsegError(f"--fit-sample must be a positive number of customers, got {fit_sample}.")
    paths = pop_input_paths(options, "spark")
    read_options = dict(read_options or {})
    on_step = options.get("on_step")
    recommender, recommend_n = options.get("recommender", DEFAULT_RECOMMENDER), int(options.get("recommend_n", 10))
    started = time.perf_counter()
    if on_step:
        on_step("read", "start")
    spark = spark_session(master, config=dict(config or {}))
    tables, checked, local_shop = _spark_tables(spark, paths, read_options)
    seed = int(options.get("seed", 0))
    drawn, total = sample_customers(tables["orders"], fit_sample, seed)
    drawn = drawn.cache()
    if local_shop is not None:
        ids = [row[s.CUSTOMER_ID] for row in drawn.collect()]
        shop = local_shop if len(ids) == total else local_shop.of_customers(ids)
        shop.files, shop.quarantine, shop.notes = local_shop.files, local_shop.quarantine, local_shop.notes
    else:
        frames = {
            role: _pandas(
                table if s.CUSTOMER_ID not in table.columns else table.join(drawn, s.CUSTOMER_ID, "left_semi")
            )
            for role, table in tables.items()
        }
        shop = Shop(**frames, files=[_report(role, paths[role], checked[role]) for role in checked])
    fitted_on = len(shop.customer_ids())
    read_seconds = round(time.perf_counter() - started, 4)
    if on_step:
        on_step("read", "end")

    def place_everybody(segmenter: Segmenter, record: dict[str, object], _recommended: Any) -> Any:
        step = time.perf_counter()
        with tempfile.TemporaryDirectory(prefix="shopseg-spark-model-") as tmp:
            segmenter.save(Path(tmp) / "model")
            placed = assign_tables(tmp, tables).cache()
            sizes = {int(r[s.SEGMENT_ID]): int(r["count"]) for r in placed.groupBy(s.SEGMENT_ID).count().collect()}
        fitted = segmenter.assignments()[[s.CUSTOMER_ID, s.SEGMENT_ID]]
        again = placed.join(spark.createDataFrame(fitted.rename(columns={s.SEGMENT_ID: "fitted_"})), s.CUSTOMER_ID)
        from pyspark.sql import functions as f

        matched = (f.col(s.SEGMENT_ID) == f.col("fitted_")).cast("long")
        agreement, same = again.agg(f.count(f.lit(1)), f.sum(matched)).collect()[0]  # one job, not two
        same = same or 0
        names = spark.createDataFrame(
            pd.DataFrame(
                {s.SEGMENT_ID: list(segmenter.segment_names_), s.SEGMENT_NAME: list(segmenter.segment_names_.values())}
            )
        )
        everybody = placed.join(names, s.SEGMENT_ID, "left").select(s.CUSTOMER_ID, s.SEGMENT_ID, s.SEGMENT_NAME)
        recommendations = None
        if recommender is not None:  # every customer, with MLlib ALS (the sample keeps the chosen model's)
            recommendations = recommend_with_als(tables["orders"], n=recommend_n, settings=SparkALS(seed=seed))
        value = None
        if segmenter.value_ is not None and segmenter.value_.scorer is not None:
            values, value = value_of_everybody(tables["orders"], segmenter.value_.scorer)
            everybody = everybody.join(values, s.CUSTOMER_ID, "left")
        record["engine"] = {
            "name": "spark",
            "master": spark.sparkContext.master,
            "spark_version": spark.version,
            "read_by": "spark" if checked else "local loader",
            "customers": total,
            "fitted_on": fitted_on,
            "fit_sample": fit_sample,
            "placed": sum(sizes.values()),
            "segment_sizes": {str(k): v for k, v in sorted(sizes.items())},
            "agreement_with_fit": round(same / agreement, 6) if agreement else None,
            "value": value or {"skipped": "no value models (turned off, or the history cannot identify them)"},
            "recommend": (
                {
                    "model": "MLlib ALS (implicit feedback)",
                    **asdict(SparkALS(seed=seed)),
                    "n": recommend_n,
                    "output": "all_recommendations.parquet",
                }
                if recommendations is not None
                else {"skipped": "turned off (--no-recommend)"}
            ),
            "output": "all_segments.parquet",
            "seconds": round(time.perf_counter() - step, 3),
        }
        if fitted_on < total:
            record["notes"] = [
                *record.get("notes", []),
                f"spark: fitted on a seeded sample of {fitted_on:,} of {total:,} customers; every customer's "
                "segment is in all_segments.parquet, the other files describe the sample.",
            ]

        def write(folder: Path) -> None:
            everybody.write.parquet(str(folder / "all_segments.parquet"))
            if recommendations is not None:
                recommendations.write.parquet(str(folder / "all_recommendations.parquet"))
            for role, table in checked.items():  # rows Spark rejected (quarantine.csv lists the loader's)
                if table.counts["quarantined"]:
                    table.rejected.write.parquet(str(folder / f"quarantine_{role}.parquet"))
            placed.unpersist()
            drawn.unpersist()

        return write

    return segment_shop(
        shop,
        out_dir,
        inputs={
            "format": read_options.get("format"),
            "mapping": read_options.get("mapping"),
            "date_format": read_options.get("date_format"),
            "pseudonymised": bool(read_options.get("pseudonymise_key")),
        },
        timings={"read": read_seconds},
        extension=place_everybody,
        **options,
    )
