"""Match a taste description ("eco-conscious outdoor") against what each customer of a run likes.

A :class:`TasteMatcher` turns a description into a score per customer (``0`` = no match)
and says how it matched. Two implementations, chosen by :func:`load_taste_matcher`:

* :class:`VectorTasteMatcher` -- when the run folder holds customer text vectors
  (``customer_vectors.parquet``: ``customer_id`` plus a list column ``taste`` or numeric
  columns ``taste_0 ...``, written by the embed stage) and names the encoder that made them
  (``customer_vectors.json`` ``{"encoder": NAME}``, or ``run.json`` ``text.model`` /
  ``embed.model``): the description is embedded with the same encoder and compared by cosine.
* :class:`TfidfTasteMatcher` -- the fallback that always works: TF-IDF over the titles,
  descriptions and categories of the products each customer bought (returns left out) and
  the reviews they wrote, read from the run's ``shopseg.duckdb``; one sparse matrix
  product per query, no loop over customers. It only matches words the shop uses, and
  says which words of the description it did not know.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.preprocessing import normalize

from shopseg import schema as s
from shopseg.serve.run_data import RunData, read_store_table

log = logging.getLogger("shopseg.serve")

VECTORS = "customer_vectors.parquet"
VECTORS_META = "customer_vectors.json"
#: Reviews weigh this much against purchases in a customer's TF-IDF taste.
REVIEW_WEIGHT = 0.5


@dataclass
class TasteScores:
    """Score per customer (index ``customer_id``; higher = closer), who counts as a match, and how."""

    scores: pd.Series
    matched: pd.Series
    explanation: str


class TasteMatcher(Protocol):
    """Anything that scores customers against a taste description."""

    method: str

    def score(self, description: str) -> TasteScores: ...


def _light_stem(token: str) -> str:
    """Plural-insensitive tokens ('shoes' ~ 'shoe', 'lovers' ~ 'lover'), the same for texts and queries."""
    if len(token) > 4 and token.endswith("ies"):
        return token[:-3] + "y"
    if len(token) > 3 and token.endswith("s") and not token.endswith(("ss", "us", "is")):
        return token[:-1]
    return token


class TfidfTasteMatcher:
    """TF-IDF taste of each customer from purchases and reviews; see the module docstring."""

    method = "tf-idf of purchased products and reviews"

    def __init__(
        self,
        customer_ids: pd.Index,
        orders: pd.DataFrame | None,
        products: pd.DataFrame | None,
        reviews: pd.DataFrame | None,
    ) -> None:
        self.customer_ids = pd.Index(customer_ids.astype(str))
        base = TfidfVectorizer(stop_words="english", strip_accents="unicode", token_pattern=r"(?u)\b[^\W\d_]{2,}\b")
        self._words: Callable[[str], list[str]] = base.build_analyzer()
        self._analyse: Callable[[str], list[str]] = lambda text: [_light_stem(t) for t in self._words(text)]
        self.vectorizer = TfidfVectorizer(analyzer=self._analyse, sublinear_tf=True)
        product_texts, product_ids = _product_texts(products)
        review_texts = reviews[s.TEXT].fillna("").astype(str) if reviews is not None and s.TEXT in reviews else None
        corpus = [*product_texts, *(review_texts.tolist() if review_texts is not None else [])]
        if not any(text.strip() for text in corpus):
            self.matrix = None
            return
        self.vectorizer.fit(corpus)
        parts = []
        if product_ids is not None and orders is not None and s.PRODUCT_ID in orders:
            bought = _incidence(self.customer_ids, orders, product_ids)
            parts.append(normalize(bought @ self.vectorizer.transform(product_texts)))
        if review_texts is not None and len(review_texts):
            rows = self.customer_ids.get_indexer(reviews[s.CUSTOMER_ID].astype(str))
            keep = rows >= 0
            wrote = sp.csr_matrix(
                (np.ones(keep.sum()), (rows[keep], np.flatnonzero(keep))), shape=(len(self.customer_ids), len(reviews))
            )
            parts.append(REVIEW_WEIGHT * normalize(wrote @ self.vectorizer.transform(review_texts)))
        self.matrix = normalize(sum(parts[1:], parts[0]).tocsr()) if parts else None

    @classmethod
    def from_run(cls, run: RunData) -> TfidfTasteMatcher:
        """Built from the run's shopseg.duckdb (orders, products, reviews)."""
        orders = read_store_table(run.run_dir, "orders")
        if orders is not None and s.IS_RETURN in orders:
            orders = orders.loc[~orders[s.IS_RETURN].fillna(False).astype(bool)]
        return cls(run.segments.index, orders, run.products, read_store_table(run.run_dir, "reviews"))

    def score(self, description: str) -> TasteScores:
        words = list(dict.fromkeys(self._words(description)))
        vocabulary = getattr(self.vectorizer, "vocabulary_", {})
        known = [w for w in words if _light_stem(w) in vocabulary]
        unknown = [w for w in words if _light_stem(w) not in vocabulary]
        if self.matrix is None or not known:
            scores = pd.Series(0.0, index=self.customer_ids)
        else:
            query = normalize(self.vectorizer.transform([description]))
            scores = pd.Series(np.asarray((self.matrix @ query.T).todense()).ravel(), index=self.customer_ids)
        explanation = f"taste matched by {self.method}; words used: {', '.join(known) or 'none'}"
        if unknown:
            explanation += f"; not found in this shop's products or reviews: {', '.join(unknown)}"
        return TasteScores(scores=scores, matched=scores > 0, explanation=explanation)


class VectorTasteMatcher:
    """Cosine similarity between the embedded description and customer taste vectors (unit rows)."""

    def __init__(
        self,
        customer_ids: pd.Index,
        vectors: np.ndarray,
        encode: Callable[[list[str]], np.ndarray],
        model: str,
        min_similarity: float = 0.3,
    ) -> None:
        self.customer_ids = pd.Index(customer_ids.astype(str))
        self.vectors = normalize(np.asarray(vectors, dtype="float32"))
        self.encode = encode
        self.min_similarity = min_similarity
        self.method = f"text embedding ({model}) against customer taste vectors"

    def score(self, description: str) -> TasteScores:
        query = normalize(np.asarray(self.encode([description]), dtype="float32").reshape(1, -1))
        scores = pd.Series(self.vectors @ query.ravel(), index=self.customer_ids).clip(lower=0.0)
        explanation = f"taste matched by {self.method}; a match has cosine similarity >= {self.min_similarity:g}"
        return TasteScores(scores=scores, matched=scores >= self.min_similarity, explanation=explanation)


def _product_texts(products: pd.DataFrame | None) -> tuple[list[str], pd.Index | None]:
    """One text per product (title, description, category) and the product ids in the same order."""
    if products is None or s.PRODUCT_ID not in products:
        return [], None
    columns = [c for c in (s.TITLE, s.DESCRIPTION, s.CATEGORY) if c in products]
    if not columns:
        return [], None
    text = products[columns].fillna("").astype(str).agg(" ".join, axis=1)
    return text.tolist(), pd.Index(products[s.PRODUCT_ID].astype(str))


def _incidence(customer_ids: pd.Index, orders: pd.DataFrame, product_ids: pd.Index) -> sp.csr_matrix:
    """Customers x products: how many lines of each product each customer bought."""
    rows = customer_ids.get_indexer(orders[s.CUSTOMER_ID].astype(str))
    columns = product_ids.get_indexer(orders[s.PRODUCT_ID].astype(str))
    keep = (rows >= 0) & (columns >= 0)
    return sp.csr_matrix(
        (np.ones(keep.sum()), (rows[keep], columns[keep])), shape=(len(customer_ids), len(product_ids))
    )


def _vector_encoder_name(run: RunData) -> str | None:
    meta = run.run_dir / VECTORS_META
    if meta.exists():
        data = json.loads(meta.read_text())
        return data.get("encoder") or data.get("model")
    for key in ("text", "embed", "embeddings"):
        section = run.record.get(key)
        if isinstance(section, dict) and (section.get("model") or section.get("encoder")):
            return section.get("model") or section.get("encoder")
    return None


def _read_vectors(path: Path, customer_ids: pd.Index) -> np.ndarray:
    """Taste vectors aligned with ``customer_ids`` (zero rows for customers without one)."""
    table = pd.read_parquet(path)
    table[s.CUSTOMER_ID] = table[s.CUSTOMER_ID].astype(str)
    table = table.set_index(s.CUSTOMER_ID).reindex(customer_ids)
    if "taste" in table:
        width = max((len(v) for v in table["taste"].dropna()), default=0)
        filled = [
            v if isinstance(v, list | np.ndarray) and len(v) == width else np.zeros(width) for v in table["taste"]
        ]
        return np.vstack(filled) if filled else np.zeros((0, width))
    columns = [c for c in table.columns if c.startswith("taste_")]
    if not columns:
        raise ValueError(f"{path.name} has neither a 'taste' column nor 'taste_*' columns")
    return table[columns].fillna(0.0).to_numpy(dtype="float32")


def load_taste_matcher(run: RunData, encoder_factory: Callable[[str], Any] | None = None) -> TasteMatcher:
    """The best matcher the run folder supports: its text vectors when usable, TF-IDF otherwise.

    ``encoder_factory(name)`` returns an object with ``encode(list[str]) -> array``; by default
    :func:`shopseg.embed.registry.get_encoder` (imported only when vectors are present).
    """
    path = run.run_dir / VECTORS
    if path.exists():
        name = _vector_encoder_name(run)
        try:
            if name is None:
                raise ValueError(f"the encoder that made {VECTORS} is not recorded ({VECTORS_META})")
            if encoder_factory is None:
                from shopseg.embed.registry import get_encoder

                encoder_factory = get_encoder
            encoder = encoder_factory(name)
            return VectorTasteMatcher(run.segments.index, _read_vectors(path, run.segments.index), encoder.encode, name)
        except Exception as error:  # any failure here must not take the audience builder down
            log.warning("customer text vectors unusable (%s); matching taste by TF-IDF", type(error).__name__)
    return TfidfTasteMatcher.from_run(run)
