"""Customer value on Spark: BG/NBD fitted on every customer, and every customer scored.

* :func:`purchase_summary` -- the calibration summary of :mod:`shopseg.value.summary` as
  DataFrame expressions: purchase days (return lines left out, a day's spend summed), then per
  customer frequency (repeat purchase days), recency and age T in days, and the mean spend of
  repeat days; the last purchase day of the shop is one aggregate.
* :func:`fit_transaction` -- a transaction model (BG/NBD, MBG/NBD, Pareto/NBD: whichever the
  sample chose) by maximum likelihood with the log-likelihood *evaluated across partitions*:
  identical (x, t_x, T) rows are counted once (a ``groupBy``), cached, and every step of the
  optimiser runs one Spark job whose tasks sum the weighted log-likelihood (and its gradient,
  where the model has an analytic one) over their partition (the model's
  ``log_likelihood_terms``, the single machine's formula); only a few numbers per partition
  come back to the driver. The optimiser and the standard errors are the single machine's
  (:meth:`TransactionModel.fit_summed <shopseg.value.transaction.TransactionModel.fit_summed>`),
  so on the same customers the estimates agree. :func:`fit_bgnbd` is it for BG/NBD.
* :func:`score_customers` -- a fitted :class:`~shopseg.value.ValueScorer` applied to every
  customer's order lines, grouped by a hash of the customer id (``applyInPandas``): the values
  ``segments.parquet`` has for the fitted customers. The scorer travels to the executors inside
  the task (Spark serialises the function it runs; nothing is written or read back as a file).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from shopseg import schema as s
from shopseg.errors import ShopsegError
from shopseg.value.bgnbd import BetaGeoModel
from shopseg.value.customer_value import NEXT_ORDER, ValueScorer, value_columns
from shopseg.value.transaction import TransactionModel

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

#: Customers per group when scoring (one pandas frame of their order lines at a time).
SCORE_GROUP = 20_000


def purchase_summary(orders: DataFrame) -> tuple[DataFrame, pd.Timestamp]:
    """(customer_id, frequency, recency, T, monetary_value) per customer with a purchase, and the last purchase day."""
    from pyspark.sql import functions as f

    lines = orders
    if s.IS_RETURN in orders.columns:
        lines = lines.where(~f.coalesce(f.col(s.IS_RETURN), f.lit(False)))
    spend = f.coalesce(f.col(s.AMOUNT).cast("double"), f.lit(0.0)) if s.AMOUNT in orders.columns else f.lit(0.0)
    days = (
        lines.where(f.col(s.TS).isNotNull())
        .groupBy(s.CUSTOMER_ID, f.to_date(s.TS).alias("day"))
        .agg(f.sum(spend).alias("spend"))
    )
    last = days.agg(f.max("day")).collect()[0][0]
    if last is None:
        raise ShopsegError("No purchases in the orders (only returns or undated lines): no value models.")
    per_customer = days.groupBy(s.CUSTOMER_ID).agg(
        f.min("day").alias("first_"),
        f.max("day").alias("last_"),
        f.count(f.lit(1)).alias("days_"),
        f.sum("spend").alias("total_"),
        f.min_by("spend", "day").alias("first_spend_"),
    )
    frequency = f.col("days_") - 1
    summary = per_customer.select(
        s.CUSTOMER_ID,
        frequency.cast("double").alias("frequency"),
        f.datediff("last_", "first_").cast("double").alias("recency"),
        f.datediff(f.lit(last), "first_").cast("double").alias("T"),
        f.when(frequency > 0, (f.col("total_") - f.col("first_spend_")) / frequency)
        .otherwise(0.0)
        .alias("monetary_value"),
    )
    return summary, pd.Timestamp(last)


def fit_bgnbd(summary: DataFrame) -> tuple[BetaGeoModel, dict[str, float]]:
    """BG/NBD on every customer of ``summary``, the likelihood summed across partitions; and fit facts."""
    return fit_transaction(summary, BetaGeoModel)


def fit_transaction(summary: DataFrame, model_class: type[TransactionModel]) -> tuple[TransactionModel, dict]:
    """``model_class`` fitted on every customer of ``summary`` (likelihood summed across partitions); fit facts."""
    from pyspark.sql import functions as f

    rows = summary.groupBy("frequency", "recency", "T").agg(f.count(f.lit(1)).cast("double").alias("w")).cache()
    try:
        totals = rows.agg(
            f.sum("w").alias("n"), f.sum(f.col("w") * f.col("T")).alias("age"), f.sum(f.col("w") * f.col("frequency"))
        ).collect()[0]
        customers, age_sum, frequency_sum = (float(v or 0.0) for v in totals)
        if frequency_sum <= 0:
            raise ShopsegError(
                f"{model_class.label} cannot be fitted: none of the {customers:,.0f} customers bought again, so "
                "purchase rates and dropout are not identified."
            )
        evaluations = {"count": 0}
        terms = model_class.log_likelihood_terms
        sums = ["ll", *(f"g_{name}" for name in model_class.PARAMS)]
        schema = ", ".join(f"{name} double" for name in sums)

        def summed(params: np.ndarray, scale: float) -> tuple[float, np.ndarray | None]:
            evaluations["count"] += 1
            values = np.asarray(params, dtype="float64").copy()

            def partial_sums(batches):  # runs on the executors
                total = np.zeros(len(sums))
                for batch in batches:
                    value, gradient = terms(
                        values,
                        batch["frequency"].to_numpy("float64"),
                        batch["recency"].to_numpy("float64") / scale,
                        batch["T"].to_numpy("float64") / scale,
                    )
                    weights = batch["w"].to_numpy("float64")
                    total[0] += weights @ value
                    if gradient is not None:
                        total[1:] += weights @ gradient
                yield pd.DataFrame([total], columns=sums)

            result = rows.mapInPandas(partial_sums, schema).agg(*(f.sum(name) for name in sums)).collect()[0]
            # NaN sums (trial parameters far out) come back from Arrow as null: NaN again, the optimiser steps back
            value = float(result[0]) if result[0] is not None else np.nan
            gradient = np.array([float(v) if v is not None else np.nan for v in result[1:]])
            return value, (gradient if model_class.HAS_GRADIENT else None)

        model = model_class().fit_summed(
            summed, total_weight=customers, mean_age=age_sum / customers, weighted_frequency=frequency_sum
        )
        facts = {"customers": customers, "distinct_histories": float(rows.count()), "evaluations": evaluations["count"]}
        return model, facts
    finally:
        rows.unpersist()


def score_customers(orders: DataFrame, scorer: ValueScorer) -> DataFrame:
    """customer_id and the value columns (:func:`~shopseg.value.value_columns`) of every customer with order lines."""
    from pyspark.sql import functions as f

    customers = orders.select(s.CUSTOMER_ID).distinct().count()
    groups = max(1, math.ceil(customers / SCORE_GROUP))
    wanted = (s.CUSTOMER_ID, s.ORDER_ID, s.TS, s.AMOUNT, s.QUANTITY, s.PRODUCT_ID, s.IS_RETURN)
    needed = [c for c in wanted if c in orders.columns]
    keyed = orders.select(*needed).withColumn("group_", f.pmod(f.xxhash64(s.CUSTOMER_ID), f.lit(groups)))
    columns = list(value_columns(scorer.horizon_days))
    schema = ", ".join(
        [f"{s.CUSTOMER_ID} string", *(f"{c} {'timestamp' if c == NEXT_ORDER else 'double'}" for c in columns)]
    )

    def score(group: pd.DataFrame) -> pd.DataFrame:  # one group of customers, all their lines
        lines = group.drop(columns="group_")
        for column in lines.columns:
            if isinstance(lines[column].dtype, pd.DatetimeTZDtype):
                lines[column] = lines[column].dt.tz_convert(None)
        lines = lines.sort_values([s.CUSTOMER_ID, s.TS, *([s.ORDER_ID] if s.ORDER_ID in lines else [])], kind="stable")
        return scorer.score(lines.reset_index(drop=True)).reset_index()[[s.CUSTOMER_ID, *columns]]

    return keyed.groupBy("group_").applyInPandas(score, schema)
