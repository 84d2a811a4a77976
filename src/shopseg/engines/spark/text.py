"""Customer text vectors on Spark: taste, voice and browse, as the single-machine text stage.

The same definitions as :func:`shopseg.embed.customer_text_vectors` (see its module), computed
where the data is:

* **texts** -- product texts follow :func:`shopseg.embed.texts.product_texts`: the catalogue's
  title, description and category, else the description written most often on the product's
  order lines (found in Spark with a window, ties broken alphabetically as on one machine).
  Reviews and search queries are used as written. Every text is normalised as on one
  machine (NFC, whitespace collapsed) and empty texts are dropped.
* **embedding** -- only distinct texts are embedded, by a pandas UDF over Arrow batches
  (``mapInPandas``): each Python worker loads the encoder once (:func:`worker_encoder`) and
  reuses it for every batch and task. The encoder is the fitted model's; on a cluster every
  executor needs it installed (the ``[text]`` extra), as it needs shopseg. The embedding
  cache is a local DuckDB file, so it is not used here: executors embed what they get.
* **pooling** -- per customer, the weighted mean of the vectors of the products they bought
  (``log1p(spend)``, returns left out: taste), of their reviews (voice) and of the products
  they viewed and the searches they typed (browse), with MLlib's ``Summarizer`` in a
  ``groupBy``; the evidence of a block is the number of items behind it. Only directions
  matter downstream (the fusion makes rows unit length), so a mean serves as well as the
  single-machine sum.

Joins with vector tables are sort-merge joins (hinted): Spark would otherwise broadcast a
table of vectors whose compressed shuffle size looks small, and run out of driver memory
building it (seen at 200,000 customers with Spark's 1 GB default).

Output of :func:`customer_text_blocks`: ``customer_id`` and, per block present, ``<block>``
(``array<float>``) and ``<block>_n`` (double); customers without any text are absent.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from shopseg import schema as s
from shopseg.embed.base import TextEncoder
from shopseg.embed.customer_vectors import VIEW_EVENTS
from shopseg.embed.embedding import normalise_texts
from shopseg.embed.registry import get_encoder
from shopseg.embed.texts import PRODUCT_TEXT_COLUMNS

if TYPE_CHECKING:
    from collections.abc import Iterator

    from pyspark.sql import DataFrame

VECTOR = "vector"
WEIGHT = "weight_"
#: Text encoders loaded in this Python process (driver or worker), by name.
_ENCODERS: dict[str, TextEncoder] = {}


def worker_encoder(name: str) -> TextEncoder:
    """The encoder called ``name``, loaded once per Python process and kept for its lifetime."""
    if name not in _ENCODERS:
        encoder = get_encoder(name)
        encoder.load()
        _ENCODERS[name] = encoder
    return _ENCODERS[name]


def _normalised(column: str) -> object:
    """Spark's version of :func:`~shopseg.embed.embedding.normalise_texts` up to Unicode normal form."""
    from pyspark.sql import functions as f

    return f.trim(f.regexp_replace(f.coalesce(f.col(column).cast("string"), f.lit("")), r"\s+", " "))


def embed_distinct(texts: DataFrame, encoder_name: str) -> DataFrame:
    """``text`` -> ``text``, ``vector`` (unit ``array<float>``) for every distinct non-empty text.

    ``texts`` has a ``text`` column (duplicates and nulls allowed). The texts are normalised
    again on the worker with the single-machine function (NFC included) before encoding.
    """
    from pyspark.sql import functions as f

    distinct = texts.select(f.col(s.TEXT).cast("string").alias(s.TEXT)).where(f.col(s.TEXT) != "").distinct()

    def embed(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        encoder = worker_encoder(encoder_name)
        for batch in batches:
            normal = normalise_texts(batch[s.TEXT])
            keep = (normal != "").to_numpy()
            if not keep.any():
                continue
            vectors = encoder.encode(list(normal[keep])).astype(np.float32)
            yield pd.DataFrame({s.TEXT: batch[s.TEXT].to_numpy()[keep], VECTOR: list(vectors)})

    return distinct.mapInPandas(embed, f"{s.TEXT} string, {VECTOR} array<float>")


def product_texts(orders: DataFrame | None, products: DataFrame | None) -> DataFrame | None:
    """``product_id``, ``text``: one text per product, catalogue first, else its order lines' usual description."""
    from pyspark.sql import Window
    from pyspark.sql import functions as f

    parts = []
    if products is not None and s.PRODUCT_ID in products.columns:
        present = [c for c in PRODUCT_TEXT_COLUMNS if c in products.columns]
        if present:
            cleaned = [f.regexp_replace(_normalised(c), r"[. ]+$", "") for c in present]
            joined = f.concat_ws(". ", *(f.when(c != "", c) for c in cleaned))
            parts.append(products.select(f.col(s.PRODUCT_ID).cast("string").alias(s.PRODUCT_ID), joined.alias(s.TEXT)))
    if orders is not None and s.DESCRIPTION in orders.columns and s.PRODUCT_ID in orders.columns:
        lines = orders.select(f.col(s.PRODUCT_ID).cast("string").alias(s.PRODUCT_ID), f.col(s.DESCRIPTION))
        lines = lines.where(
            f.col(s.PRODUCT_ID).isNotNull() & (f.col(s.PRODUCT_ID) != "") & (f.trim(f.col(s.DESCRIPTION)) != "")
        )
        counts = lines.groupBy(s.PRODUCT_ID, s.DESCRIPTION).count()
        usual = Window.partitionBy(s.PRODUCT_ID).orderBy(f.desc("count"), f.asc(s.DESCRIPTION))
        chosen = counts.withColumn("rank_", f.row_number().over(usual)).where(f.col("rank_") == 1)
        parts.append(chosen.select(s.PRODUCT_ID, _normalised(s.DESCRIPTION).alias(s.TEXT)))
    if not parts:
        return None
    texts = parts[0].withColumn("source_", f.lit(0))
    if len(parts) > 1:
        texts = texts.unionByName(parts[1].withColumn("source_", f.lit(1)))
    first = Window.partitionBy(s.PRODUCT_ID).orderBy("source_")
    texts = texts.where(f.col(s.TEXT) != "").withColumn("rank_", f.row_number().over(first))
    return texts.where(f.col("rank_") == 1).select(s.PRODUCT_ID, s.TEXT)


def _pooled(items: DataFrame, name: str) -> DataFrame:
    """``customer_id``, ``<name>`` (weighted mean vector), ``<name>_n`` (items) from customer_id, vector, weight_."""
    from pyspark.ml.functions import array_to_vector, vector_to_array
    from pyspark.ml.stat import Summarizer
    from pyspark.sql import functions as f

    grouped = items.groupBy(s.CUSTOMER_ID).agg(
        Summarizer.mean(array_to_vector(VECTOR), f.col(WEIGHT)).alias(name),
        f.count(f.lit(1)).cast("double").alias(f"{name}_n"),
    )
    return grouped.select(s.CUSTOMER_ID, vector_to_array(name, "float32").alias(name), f"{name}_n")


def customer_text_blocks(
    encoder_name: str,
    orders: DataFrame | None = None,
    products: DataFrame | None = None,
    reviews: DataFrame | None = None,
    events: DataFrame | None = None,
    blocks: tuple[str, ...] = ("taste", "voice", "browse"),
) -> DataFrame | None:
    """Taste, voice and browse vectors per customer (see the module docstring); None without any text."""
    from pyspark.sql import functions as f

    customer = f.col(s.CUSTOMER_ID).cast("string").alias(s.CUSTOMER_ID)
    pooled: list[DataFrame] = []
    texts = product_texts(orders, products) if "taste" in blocks or "browse" in blocks else None
    product_vectors = None
    if texts is not None:
        vectors = embed_distinct(texts, encoder_name)
        product_vectors = texts.join(vectors.hint("merge"), s.TEXT).select(s.PRODUCT_ID, VECTOR)
    if "taste" in blocks and product_vectors is not None and orders is not None and s.PRODUCT_ID in orders.columns:
        bought = orders.where(~f.col(s.IS_RETURN).cast("boolean")) if s.IS_RETURN in orders.columns else orders
        spend = f.greatest(f.coalesce(f.col(s.AMOUNT).cast("double"), f.lit(0.0)), f.lit(0.0))
        if s.AMOUNT not in orders.columns:
            spend = f.lit(1.0)
        lines = bought.select(
            customer, f.col(s.PRODUCT_ID).cast("string").alias(s.PRODUCT_ID), (f.log1p(spend) + 1e-6).alias(WEIGHT)
        )
        pooled.append(_pooled(lines.join(product_vectors.hint("merge"), s.PRODUCT_ID), "taste"))
    if "voice" in blocks and reviews is not None and s.TEXT in reviews.columns:
        written = reviews.select(customer, f.col(s.TEXT).cast("string").alias(s.TEXT))
        vectors = embed_distinct(written, encoder_name)
        pooled.append(_pooled(written.join(vectors.hint("merge"), s.TEXT).withColumn(WEIGHT, f.lit(1.0)), "voice"))
    if "browse" in blocks and events is not None:
        pooled.extend(_browse(events, product_vectors, encoder_name))
    if not pooled:
        return None
    table = pooled[0]
    for part in pooled[1:]:
        table = table.join(part.hint("merge"), s.CUSTOMER_ID, "full")
    return table


def _browse(events: DataFrame, product_vectors: DataFrame | None, encoder_name: str) -> list[DataFrame]:
    """The browse block: viewed products' and typed searches' vectors, weight 1 each."""
    from pyspark.sql import functions as f

    customer = f.col(s.CUSTOMER_ID).cast("string").alias(s.CUSTOMER_ID)
    items = []
    if product_vectors is not None and s.PRODUCT_ID in events.columns and s.EVENT_TYPE in events.columns:
        viewed = events.where(f.lower(f.col(s.EVENT_TYPE).cast("string")).isin(*sorted(VIEW_EVENTS)))
        viewed = viewed.select(customer, f.col(s.PRODUCT_ID).cast("string").alias(s.PRODUCT_ID))
        items.append(viewed.join(product_vectors.hint("merge"), s.PRODUCT_ID).select(s.CUSTOMER_ID, VECTOR))
    if s.QUERY in events.columns:
        searched = events.select(customer, f.col(s.QUERY).cast("string").alias(s.TEXT))
        vectors = embed_distinct(searched, encoder_name)
        items.append(searched.join(vectors.hint("merge"), s.TEXT).select(s.CUSTOMER_ID, VECTOR))
    if not items:
        return []
    union = items[0] if len(items) == 1 else items[0].unionByName(items[1])
    return [_pooled(union.withColumn(WEIGHT, f.lit(1.0)), "browse")]


def text_batch(
    batch: pd.DataFrame, names: list[str], dimensions: dict[str, int]
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Blocks and evidence of an Arrow batch (``<block>`` arrays, ``<block>_n`` counts) for :meth:`Fuser.transform`.

    Customers without a block's text get a zero row and evidence 0 ("no information").
    """
    blocks, evidence = {}, {}
    for name in names:
        matrix = np.zeros((len(batch), dimensions[name]), dtype=np.float32)
        for row, vector in enumerate(batch[name].to_numpy()):
            if vector is not None and len(vector):
                matrix[row] = vector
        blocks[name] = matrix
        evidence[name] = batch[f"{name}_n"].fillna(0.0).to_numpy(dtype=np.float64)
    return blocks, evidence
