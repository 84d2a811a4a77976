"""Embed a column of texts once per distinct text, through the cache.

:func:`embed_texts` normalises the texts, drops empty ones, deduplicates the rest (shops
repeat product descriptions on every order line, and short reviews repeat too), looks the
distinct texts up in the :class:`~shopseg.embed.cache.EmbeddingCache`, embeds only the
missing ones and stores them. It returns one vector per *distinct* text and, for every input
text, the row of its vector (-1 when empty), so a million order lines cost as much memory
as their distinct descriptions.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from shopseg.embed.base import ProgressCallback, TextEncoder
from shopseg.embed.cache import EmbeddingCache, text_key


def normalise_texts(texts: Sequence[object] | pd.Series) -> pd.Series:
    """Vectorised :func:`~shopseg.embed.base.normalise_text`: NFC, whitespace collapsed, trimmed; NaN -> ''."""
    series = pd.Series(texts, dtype="object").astype("string").fillna("")
    series = series.str.normalize("NFC").str.replace(r"\s+", " ", regex=True).str.strip()
    return series.astype(object)


@dataclass
class EmbeddedTexts:
    """Vectors of distinct texts and where each input text's vector is.

    ``vectors``: float32 (distinct texts x dimension), unit rows; ``row``: int64 (input texts,),
    the row of ``vectors`` for each input text, -1 for an empty text; ``keys``: the cache key
    (:func:`~shopseg.embed.cache.text_key`) of each row of ``vectors``; ``report``: counts and
    timings (texts, distinct, empty, cache_hits, embedded, load_seconds, encode_seconds,
    seconds, texts_per_second of the encoder alone).
    """

    vectors: np.ndarray
    row: np.ndarray
    report: dict[str, object] = field(default_factory=dict)
    keys: list[str] = field(default_factory=list)


def embed_texts(
    texts: Sequence[object] | pd.Series,
    encoder: TextEncoder,
    *,
    cache: EmbeddingCache | None = None,
    on_progress: ProgressCallback | None = None,
) -> EmbeddedTexts:
    """Embed each distinct non-empty text once (cached ones not at all); see the module docstring."""
    started = time.perf_counter()
    normalised = normalise_texts(texts)
    codes, distinct = pd.factorize(normalised, sort=False)
    distinct = list(distinct)
    empty_code = distinct.index("") if "" in distinct else -1
    keep = [i for i, text in enumerate(distinct) if i != empty_code]
    new_code = np.full(len(distinct) + 1, -1, dtype=np.int64)  # +1: factorize's -1 maps to -1
    new_code[keep] = np.arange(len(keep))
    row = new_code[codes]
    distinct = [distinct[i] for i in keep]

    dimension: int | None = None
    vectors: np.ndarray | None = None
    hits = 0
    missing = np.arange(len(distinct))
    keys = [text_key(text) for text in distinct]
    if cache is not None and distinct:
        found, cached = cache.get_many(encoder.model_id, keys)
        hits = int(found.sum())
        if hits:
            dimension = cached.shape[1]
            vectors = np.zeros((len(distinct), dimension), dtype=np.float32)
            vectors[found] = cached
        missing = np.flatnonzero(~found)
    load_seconds = 0.0
    if len(missing):
        load_started = time.perf_counter()
        encoder.load()
        load_seconds = time.perf_counter() - load_started
    encode_started = time.perf_counter()
    if len(missing):
        fresh = encoder.encode([distinct[i] for i in missing], on_progress=on_progress)
        if vectors is None:
            vectors = np.zeros((len(distinct), fresh.shape[1]), dtype=np.float32)
        vectors[missing] = fresh
        if cache is not None:
            cache.put_many(encoder.model_id, [keys[i] for i in missing], fresh)
    encode_seconds = time.perf_counter() - encode_started
    if vectors is None:
        vectors = np.zeros((0, dimension or 0), dtype=np.float32)
    report = {
        "model_id": encoder.model_id,
        "texts": len(normalised),
        "distinct": len(distinct),
        "empty": int((row < 0).sum()),
        "cache_hits": hits,
        "embedded": len(missing),
        "load_seconds": round(load_seconds, 3),
        "encode_seconds": round(encode_seconds, 3),
        "seconds": round(time.perf_counter() - started, 3),
        "texts_per_second": round(len(missing) / encode_seconds, 1) if len(missing) and encode_seconds > 0 else None,
    }
    return EmbeddedTexts(vectors=vectors, row=row, report=report, keys=keys)
