"""A fitted :class:`~shopseg.cluster.BlockScaler` applied to a Spark frame of features.

The scaler is fitted where it is cheap (on the driver, on all customers or a sample: its
parameters are medians, quartiles and block spreads) and applied everywhere with
``mapInPandas``: each Arrow batch of features becomes a batch of scaled rows, computed by
the very same :meth:`BlockScaler.transform` as on one machine. The scaler travels to the
executors as its JSON document (:meth:`BlockScaler.to_dict`), not as a pickle.

Output: ``customer_id`` and ``features`` (``array<double>``, the scaler's :attr:`columns_`
in order), ready for :func:`pyspark.ml.functions.array_to_vector` and MLlib.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from shopseg import schema as s
from shopseg.cluster import BlockScaler
from shopseg.errors import ShopsegError

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

VECTOR_COLUMN = "features"


def required_columns(scaler: BlockScaler) -> list[str]:
    """Feature columns the scaler reads: its own, plus the evidence column when a share block is shrunk."""
    columns = list(scaler.columns_)
    shrunk = any(scaler.share_shrinkage.get(name, 0.0) > 0 for name in scaler.share_mean_)
    if shrunk and scaler.evidence_column not in columns:
        columns.append(scaler.evidence_column)
    return columns


def feature_selection(features: DataFrame, scaler: BlockScaler) -> DataFrame:
    """``customer_id`` + the columns the scaler reads, as doubles; a :class:`ShopsegError` names any missing.

    A missing column would silently read as 0 in :meth:`BlockScaler.transform`, so it is an
    error here: the features were computed differently from those the model was fitted on.
    """
    from pyspark.sql import functions as f

    needed = required_columns(scaler)
    missing = [c for c in [s.CUSTOMER_ID, *needed] if c not in features.columns]
    if missing:
        raise ShopsegError(
            f"The Spark features lack {len(missing)} column(s) the model was fitted on: {', '.join(missing[:10])}"
            f"{' ...' if len(missing) > 10 else ''}. The Spark engine computes behaviour, habit and category "
            "features, and engagement features when given reviews or events; a model fitted with customer "
            "attributes, or with reviews or events that were not given, cannot be applied here."
        )
    return features.select(
        f.col(s.CUSTOMER_ID).cast("string").alias(s.CUSTOMER_ID),
        *(f.col(c).cast("double").alias(c) for c in needed),
    )


def scale_batches(
    batches: Iterator[pd.DataFrame], scaler_document: dict[str, object], output: str = VECTOR_COLUMN
) -> Iterator[pd.DataFrame]:
    """``mapInPandas`` body: each batch of features -> customer_id + scaled row (list of floats)."""
    scaler = BlockScaler.from_dict(scaler_document)
    for batch in batches:
        if batch.empty:
            continue
        matrix = scaler.transform(batch.set_index(s.CUSTOMER_ID))
        yield pd.DataFrame({s.CUSTOMER_ID: batch[s.CUSTOMER_ID].to_numpy(), output: list(np.asarray(matrix))})


def scaled_vectors(features: DataFrame, scaler: BlockScaler, output: str = VECTOR_COLUMN) -> DataFrame:
    """``customer_id`` + ``output`` (``array<double>``): every customer's row scaled by ``scaler``."""
    document = scaler.to_dict()
    selected = feature_selection(features, scaler)

    def scale(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        return scale_batches(batches, document, output)

    schema = f"{s.CUSTOMER_ID} string, `{output.replace('`', '``')}` array<double>"
    return selected.mapInPandas(scale, schema)
