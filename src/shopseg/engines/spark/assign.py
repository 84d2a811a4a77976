"""``shopseg assign --engine spark``: place a shop's customers into a saved run's segments on Spark.

The same contract as :func:`shopseg.assign.assign_customers` (customer_id, segment_id,
segment_name, no refit), with the heavy parts on Spark: the order lines become a Spark frame,
features are computed in Spark (:func:`~shopseg.engines.spark.features.spark_features`, as of
the run's reference time and with its share priors, like the local engine) and the saved model
is applied per Arrow batch on the executors (:func:`~shopseg.engines.spark.apply.assign_segments`).
Only the result (one row per customer) comes back to the driver.

:func:`assign_files_with_spark` reads canonical Parquet inputs with Spark itself
(:mod:`~shopseg.engines.spark.reading`), so the order lines never pass through the driver.
A model fitted with text gets its customers' text on Spark too: product, review and search
texts embedded by the model's encoder on the executors and pooled per customer
(:func:`~shopseg.engines.spark.text.customer_text_blocks`). Limits (see docs/spark.md): a
model fitted with customer attributes is refused with the missing columns named.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from shopseg import schema as s
from shopseg.cluster.base import UNASSIGNED, UNASSIGNED_NAME
from shopseg.engines.spark.apply import assign_segments, text_blocks_of
from shopseg.engines.spark.features import spark_features
from shopseg.engines.spark.reading import SparkTable, read_tables
from shopseg.engines.spark.session import spark_session
from shopseg.engines.spark.text import customer_text_blocks, worker_encoder
from shopseg.errors import ShopsegError
from shopseg.pipeline import Segmenter
from shopseg.shop import Shop

if TYPE_CHECKING:
    from pyspark.sql import DataFrame


def assign_with_spark(
    run_dir: str | Path, shop: Shop, *, master: str = "local[*]", config: Mapping[str, str] | None = None
) -> pd.DataFrame:
    """customer_id, segment_id, segment_name for every customer with orders in ``shop`` (read by the local loader)."""
    if shop.orders is None or shop.orders.empty:
        raise ShopsegError("--engine spark assigns customers from their orders: give --orders.")
    spark = spark_session(master, config=dict(config or {}))
    tables = {
        name: spark.createDataFrame(table)
        for name, table in (("orders", shop.orders), ("products", shop.products), ("reviews", shop.reviews),
                            ("events", shop.events))
        if table is not None and not table.empty
    }  # fmt: skip
    return assign_tables(run_dir, tables).toPandas().pipe(_named, Segmenter.load(run_dir))


def assign_files_with_spark(
    run_dir: str | Path,
    paths: Mapping[str, str | Path],
    *,
    master: str = "local[*]",
    config: Mapping[str, str] | None = None,
) -> tuple[pd.DataFrame, dict[str, SparkTable]]:
    """As :func:`assign_with_spark`, the inputs read by Spark itself from canonical Parquet files or folders.

    Nothing but the result (one row per customer) passes through the driver. Returns the
    assignments and the checked tables (their ``counts`` and ``rejected`` rows, for the quarantine).
    """
    if "orders" not in paths:
        raise ShopsegError("--engine spark assigns customers from their orders: give --orders.")
    spark = spark_session(master, config=dict(config or {}))
    checked = read_tables(spark, dict(paths))
    tables = {name: table.kept for name, table in checked.items()}
    return assign_tables(run_dir, tables).toPandas().pipe(_named, Segmenter.load(run_dir)), checked


def assign_tables(run_dir: str | Path, tables: Mapping[str, DataFrame]) -> DataFrame:
    """customer_id, segment_id on Spark for canonical tables {role: frame}, under the model in ``run_dir``.

    Features, text when the model has it, then the model per batch.

    The model's files are read now; the result is lazy (nothing runs until it is used).
    """
    model = Segmenter.load(run_dir)
    if model.window_days is not None:
        raise ShopsegError(
            f"{run_dir}: this model's features read a {model.window_days:g}-day activity window, which the Spark "
            "engine does not compute yet: use --engine local, or segment with --window-days 0 (or --engine spark)."
        )
    reference, priors = model.feature_context_
    orders, products, reviews, events = (tables.get(name) for name in ("orders", "products", "reviews", "events"))
    features = spark_features(orders, products, reference_ts=reference, priors=priors, reviews=reviews, events=events)
    text = None
    blocks = tuple(text_blocks_of(model))
    if blocks:
        model.check_text_model(worker_encoder(model.text_encoder_).model_id)
        text = customer_text_blocks(model.text_encoder_, orders, products, reviews, events, blocks=blocks)
    return assign_segments(features.frame, run_dir, text=text)


def _named(table: pd.DataFrame, model: Segmenter) -> pd.DataFrame:
    """The driver's copy of the result: typed, with segment names, sorted by customer."""
    table[s.CUSTOMER_ID] = table[s.CUSTOMER_ID].astype(str)
    table[s.SEGMENT_ID] = table[s.SEGMENT_ID].astype("int64")
    names = {**model.segment_names_, UNASSIGNED: UNASSIGNED_NAME}
    table[s.SEGMENT_NAME] = table[s.SEGMENT_ID].map(names)
    return table.sort_values(s.CUSTOMER_ID, kind="stable").reset_index(drop=True)
