"""What every text encoder is, plus the helpers they share: normalisation, batching, progress.

An encoder turns a list of texts into a float32 matrix (texts x ``dimension``) whose rows
have unit length, so that a dot product is a cosine. It carries a ``model_id`` that names the
model *and* its numeric variant (fp32, int8, distilled ...): the embedding cache keys vectors
by it, so two variants never share cached vectors.

Encoders load their model lazily, on the first :meth:`TextEncoder.encode` call, so building
one (e.g. to list the registry or to read its ``model_id``) costs nothing.
"""

from __future__ import annotations

import re
import time
import unicodedata
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence

import numpy as np

#: ``on_progress(done, total, texts_per_second)``: called after each batch.
ProgressCallback = Callable[[int, int, float], None]

_WHITESPACE = re.compile(r"\s+")


def normalise_text(text: object) -> str:
    """The form of a text that is embedded and hashed: Unicode NFC, whitespace collapsed, trimmed.

    Case is kept: MiniLM's tokenizer lower-cases by itself and other models may care. Missing
    values (None, NaN) become the empty string, which callers treat as "no text".
    """
    if text is None or (isinstance(text, float) and text != text):
        return ""
    return _WHITESPACE.sub(" ", unicodedata.normalize("NFC", str(text))).strip()


def unit_rows(matrix: np.ndarray) -> np.ndarray:
    """Rows scaled to unit L2 length (all-zero rows stay zero), as float32."""
    matrix = np.asarray(matrix, dtype=np.float32)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return matrix / np.where(norms > 0, norms, 1.0)


def length_sorted_batches(lengths: Sequence[int], batch_size: int) -> Iterator[np.ndarray]:
    """Positions of the texts in batches of similar length (longest first).

    Padding costs compute: a batch is as long as its longest text. Sorting by length before
    batching (length bucketing) keeps padding small; results are written back by position.
    """
    order = np.argsort(-np.asarray(lengths), kind="stable")
    for start in range(0, len(order), batch_size):
        yield order[start : start + batch_size]


class ProgressMeter:
    """Counts texts done and reports ``(done, total, texts/s)`` to an optional callback."""

    def __init__(self, total: int, on_progress: ProgressCallback | None) -> None:
        self.total = total
        self.done = 0
        self.on_progress = on_progress
        self.started = time.perf_counter()

    def advance(self, count: int) -> None:
        self.done += count
        if self.on_progress is not None:
            elapsed = max(time.perf_counter() - self.started, 1e-9)
            self.on_progress(self.done, self.total, self.done / elapsed)


class TextEncoder(ABC):
    """A text encoder; subclasses implement :meth:`_encode_batch` (and may override :meth:`encode`).

    ``model_id`` names model and variant (the cache key), ``dimension`` the vector length,
    ``max_tokens`` the truncation length (texts longer than that are cut by the tokenizer).
    """

    model_id: str = ""
    dimension: int = 0
    max_tokens: int = 256
    batch_size: int = 64

    def encode(self, texts: Sequence[str], on_progress: ProgressCallback | None = None) -> np.ndarray:
        """Unit-length float32 vectors, one row per text (texts are used as given)."""
        texts = list(texts)
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        meter = ProgressMeter(len(texts), on_progress)
        result: np.ndarray | None = None
        for batch in length_sorted_batches([len(t) for t in texts], self.batch_size):
            vectors = self._encode_batch([texts[i] for i in batch])
            if result is None:
                result = np.zeros((len(texts), vectors.shape[1]), dtype=np.float32)
            result[batch] = vectors
            meter.advance(len(batch))
        return unit_rows(result)

    def load(self) -> object:
        """Load the model now (encoders otherwise load on first use); returns it. Idempotent."""
        return None

    @abstractmethod
    def _encode_batch(self, texts: list[str]) -> np.ndarray:
        """Vectors (len(texts) x dimension) for one batch; need not be normalised."""

    def describe(self) -> dict[str, object]:
        """What run.json records about the encoder (without loading it)."""
        return {"model_id": self.model_id, "max_tokens": self.max_tokens}
