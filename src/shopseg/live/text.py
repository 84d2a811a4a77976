"""Text vectors for the real-time update: every text the run embedded, in one matrix, looked up by key.

A run keeps the vectors of every text it embedded in its store (``embedding_cache``: model id,
SHA-256 of the normalised text, vector). :class:`TextIndex` loads the rows of the run's text
model into one float32 matrix, with a dictionary from text key to row, and from product id to
its product text's row. A text the run never saw (a new review, a new search) is embedded
once with the run's encoder (loaded on first need, once) and added; so a request only embeds
text nobody sent before.

:func:`pooled` is :func:`shopseg.embed.customer_vectors.pooled_vectors` for one customer: the
weighted mean direction of a few rows, and how many items it rests on.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import duckdb
import numpy as np
import pandas as pd

from shopseg.embed.base import TextEncoder, normalise_text, unit_rows
from shopseg.embed.cache import text_key
from shopseg.embed.texts import TEXT, product_texts

#: Most texts added after loading (new reviews and searches); the oldest are dropped beyond it.
MAX_ADDED_TEXTS = 200_000


class TextIndex:
    """Vectors of texts by key, and of products by id; see the module docstring."""

    def __init__(
        self,
        keys: list[str],
        vectors: np.ndarray,
        product_ids: list[str],
        product_keys: list[str],
        encoder: Callable[[], TextEncoder | None] | None = None,
    ) -> None:
        self.rows = {key: i for i, key in enumerate(keys)}
        self.vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        self.product_row = {p: self.rows.get(k, -1) for p, k in zip(product_ids, product_keys, strict=True)}
        self._encoder = encoder
        self._lock = threading.Lock()
        self._added: list[str] = []

    @property
    def dimension(self) -> int:
        return int(self.vectors.shape[1]) if self.vectors.ndim == 2 else 0

    @classmethod
    def from_store(
        cls,
        store: str,
        model_id: str,
        products: pd.DataFrame | None,
        orders: pd.DataFrame | None,
        encoder: Callable[[], TextEncoder | None] | None = None,
    ) -> TextIndex:
        """The vectors of ``model_id`` kept in a run's store, and the run's product texts."""
        connection = duckdb.connect(store, read_only=True)
        try:
            tables = {row[0] for row in connection.execute("SHOW TABLES").fetchall()}
            if "embedding_cache" in tables:
                frame = connection.execute(
                    "SELECT text_sha256, vector FROM embedding_cache WHERE model_id = ?", [model_id]
                ).df()
            else:
                frame = pd.DataFrame({"text_sha256": [], "vector": []})
        finally:
            connection.close()
        vectors = np.vstack(frame["vector"].to_numpy()).astype(np.float32) if len(frame) else np.zeros((0, 0))
        texts = product_texts(products, orders)
        keys = [text_key(text) for text in texts[TEXT]]
        return cls(list(frame["text_sha256"]), vectors, list(texts["product_id"].astype(str)), keys, encoder)

    def products(self, product_ids: np.ndarray) -> np.ndarray:
        """Row of each product's text vector (-1 for None or a product without text)."""
        get = self.product_row.get
        return np.array([get(p, -1) if p is not None else -1 for p in product_ids], dtype="int64")

    def texts(self, texts: np.ndarray) -> np.ndarray:
        """Row of each text's vector (-1 for None or an empty text); texts never seen are embedded now."""
        keys = []
        for text in texts:
            normal = normalise_text(text) if text is not None else ""
            keys.append((text_key(normal), normal) if normal else None)
        missing = {key: normal for item in keys if item is not None for key, normal in [item] if key not in self.rows}
        if missing:
            self._embed(missing)
        return np.array([self.rows.get(item[0], -1) if item is not None else -1 for item in keys], dtype="int64")

    def unknown(self, texts: list[str | None]) -> bool:
        """Whether any of ``texts`` would have to be embedded (a model call, milliseconds)."""
        for text in texts:
            normal = normalise_text(text) if text is not None else ""
            if normal and text_key(normal) not in self.rows:
                return True
        return False

    def _embed(self, missing: dict[str, str]) -> None:
        encoder = self._encoder() if self._encoder is not None else None
        if encoder is None:
            return  # no encoder here: such texts count as no text
        keys = list(missing)
        vectors = np.asarray(encoder.encode([missing[k] for k in keys]), dtype=np.float32)
        vectors = unit_rows(vectors)
        with self._lock:
            fresh = [i for i, k in enumerate(keys) if k not in self.rows]
            if not fresh:
                return
            start = len(self.vectors)
            stacked = vectors[fresh] if self.dimension == 0 else vectors[fresh].reshape(len(fresh), self.dimension)
            self.vectors = np.vstack([self.vectors, stacked]) if len(self.vectors) else stacked
            for offset, i in enumerate(fresh):
                self.rows[keys[i]] = start + offset
                self._added.append(keys[i])
            if len(self._added) > MAX_ADDED_TEXTS:  # forget the oldest added keys (their rows stay unused)
                for key in self._added[: len(self._added) - MAX_ADDED_TEXTS]:
                    self.rows.pop(key, None)
                self._added = self._added[-MAX_ADDED_TEXTS:]


def pooled(vectors: np.ndarray, rows: np.ndarray, weights: np.ndarray | None = None) -> tuple[np.ndarray, float]:
    """Unit-length weighted mean of ``vectors[rows]`` (rows -1 skipped), and how many rows it rests on."""
    keep = rows >= 0
    if weights is not None:
        keep &= weights > 0
    count = int(keep.sum())
    if not count:
        return np.zeros(vectors.shape[1] if vectors.ndim == 2 else 0, dtype=np.float32), 0.0
    chosen = vectors[rows[keep]]
    total = weights[keep].astype(np.float32) @ chosen if weights is not None else chosen.sum(axis=0)
    norm = float(np.sqrt(total @ total))
    return (total / norm if norm > 0 else total), float(count)
