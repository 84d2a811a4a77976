"""Content-based recommendations: the customer's taste vector against product text vectors.

Products are vectors of their text -- title, description and category:

* given vectors win: ``product_vectors`` (a frame indexed by product_id, one column per
  dimension), e.g. sentence embeddings from :func:`embedded_product_vectors`, which goes through
  the public API of :mod:`shopseg.embed` (``product_texts``, ``get_encoder``, ``embed_texts``)
  and its DuckDB cache;
* otherwise TF-IDF of the same text (scikit-learn, sublinear term frequency, unit rows): no
  model to load, deterministic, a few milliseconds for thousands of products. It is the
  default because embedding a catalogue with MiniLM on two CPU cores costs about 30 products
  a second, and on generated shops TF-IDF already separates categories and brands.

A customer's taste vector is the weighted sum of the vectors of the products they bought,
put in the basket, viewed or reviewed (weights of :class:`~shopseg.recommend.interactions.
Interactions`), so a customer who never bought anything but browsed or wrote a review still
gets recommendations that match what they looked at; given ``taste`` vectors (same space as
the product vectors, e.g. the embed stage's ``taste`` block) replace it for the customers
they cover. Scores are cosines. For catalogues up to :data:`KERNEL_MAX_PRODUCTS` the product
x product cosine matrix is precomputed, so scoring a batch is one sparse x dense product.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import scipy.sparse as sp

from shopseg import schema as s
from shopseg.errors import ConfigError
from shopseg.recommend.base import Recommender, Segments
from shopseg.recommend.interactions import Interactions

#: Largest catalogue for which the dense product x product cosine matrix is kept (100 MB at 5,000).
KERNEL_MAX_PRODUCTS = 5000


def tfidf_product_vectors(texts: np.ndarray | pd.Series, max_features: int = 20_000) -> sp.csr_matrix:
    """TF-IDF rows (products x terms, unit length; empty texts -> zero rows), float32 CSR."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    texts = pd.Series(texts, dtype=object).fillna("").astype(str)
    if not texts.str.strip().astype(bool).any():
        return sp.csr_matrix((len(texts), 1), dtype=np.float32)
    vectorizer = TfidfVectorizer(
        sublinear_tf=True, strip_accents="unicode", max_features=max_features, dtype=np.float32
    )
    return sp.csr_matrix(vectorizer.fit_transform(texts.to_numpy()), dtype=np.float32)


def embedded_product_vectors(
    products: pd.DataFrame | None,
    orders: pd.DataFrame | None = None,
    *,
    encoder: object = None,
    cache: object = None,
) -> pd.DataFrame:
    """Sentence-embedding vectors of the products' texts, through :mod:`shopseg.embed`.

    ``encoder``: a ``--text-model`` name or a TextEncoder (None: the embed stage's default);
    ``cache``: an ``EmbeddingCache``. Returns a float32 frame (products x dimension) indexed by
    product_id; products without text are left out (the recommender gives them zero vectors).
    """
    from shopseg.embed import embed_texts, get_encoder, product_texts

    texts = product_texts(products, orders)
    embedded = embed_texts(texts[s.TEXT], get_encoder(encoder), cache=cache)
    has_text = embedded.row >= 0
    return pd.DataFrame(
        embedded.vectors[embedded.row[has_text]],
        index=pd.Index(texts[s.PRODUCT_ID].to_numpy()[has_text], name=s.PRODUCT_ID),
    )


def _unit_rows(matrix: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return (matrix / np.where(norms > 0, norms, 1.0)).astype(np.float32)


def _aligned(frame: pd.DataFrame, index: pd.Index, what: str) -> np.ndarray:
    """Rows of ``frame`` in the order of ``index`` (missing -> zero), float32, unit length."""
    if not isinstance(frame, pd.DataFrame):
        raise ConfigError(f"{what} must be a DataFrame indexed by id with one column per dimension.")
    table = frame[~frame.index.astype(str).duplicated(keep="first")]
    table = table.set_axis(table.index.astype(str), axis=0)
    values = table.reindex(index).to_numpy(dtype=np.float32, na_value=0.0)
    return _unit_rows(np.nan_to_num(values))


class ContentRecommender(Recommender):
    """Taste vector x product vectors; see the module docstring.

    ``product_vectors``: frame indexed by product_id (None: TF-IDF of the catalogue text).
    ``max_features``: TF-IDF vocabulary size. Learned: ``product_matrix_`` (products x dim,
    dense or CSR, unit rows), ``profile_`` (customers x products CSR, what the taste is made
    of), ``taste_`` (customers x dim or None), ``kernel_`` (products x products cosines or None).
    """

    name: ClassVar[str] = "content"
    reason: ClassVar[str] = "matches your taste"
    rebuilt_on_load: ClassVar[tuple[str, ...]] = ("profile_", "kernel_")

    def __init__(
        self,
        *,
        product_vectors: pd.DataFrame | None = None,
        max_features: int = 20_000,
        repeat_categories: Iterable[str] | None = None,
        random_state: int = 0,
    ) -> None:
        self.product_vectors = product_vectors
        self.max_features = max_features
        self.repeat_categories = repeat_categories
        self.random_state = random_state

    def _fit(self, data: Interactions, *, segments: Segments, taste: pd.DataFrame | None) -> None:
        if self.product_vectors is not None:
            self.product_matrix_: np.ndarray | sp.csr_matrix = _aligned(
                self.product_vectors, data.product_ids, "product_vectors"
            )
            self.vectors_source_ = "given"
        else:
            self.product_matrix_ = tfidf_product_vectors(data.texts, self.max_features)
            self.vectors_source_ = "tfidf"
        self.taste_ = None
        self.has_taste_ = np.zeros(data.n_customers, dtype=bool)
        if taste is not None and len(taste):
            if taste.shape[1] != self.product_matrix_.shape[1]:
                raise ConfigError(
                    f"taste vectors have {taste.shape[1]} dimensions but the product vectors have "
                    f"{self.product_matrix_.shape[1]}: pass product_vectors from the same encoder "
                    "(see embedded_product_vectors), or leave taste out to build it from the interactions."
                )
            self.taste_ = _aligned(taste, data.customer_ids, "taste")
            self.has_taste_ = np.abs(self.taste_).sum(axis=1) > 0
        self._rebuild()
        self.bought_ = np.diff(data.purchases.indptr) > 0
        self.categories_ = np.asarray(data.categories, dtype=object)

    def _rebuild(self) -> None:
        """The taste sources (interaction matrix) and, for small catalogues, the product cosines."""
        self.profile_ = self.interactions_.matrix
        self.kernel_ = None
        if self.interactions_.n_products <= KERNEL_MAX_PRODUCTS:
            kernel = self.product_matrix_ @ self.product_matrix_.T
            self.kernel_ = np.asarray(kernel.todense() if sp.issparse(kernel) else kernel, dtype=np.float32)

    def _warm_customers(self) -> np.ndarray:
        return (np.diff(self.profile_.indptr) > 0) | self.has_taste_

    def _score(self, rows: np.ndarray) -> np.ndarray:
        profile = self.profile_[rows]
        if self.kernel_ is not None:
            raw = np.asarray(profile @ self.kernel_, dtype=np.float32)
            squared = np.asarray(profile.multiply(raw).sum(axis=1)).ravel()
        else:
            taste = profile @ self.product_matrix_
            raw = taste @ self.product_matrix_.T
            raw = np.asarray(raw.todense() if sp.issparse(raw) else raw, dtype=np.float32)
            squared = np.asarray(taste.multiply(taste).sum(axis=1)).ravel() if sp.issparse(taste) else None
            if squared is None:
                squared = (np.asarray(taste) ** 2).sum(axis=1)
        raw /= np.sqrt(np.where(squared > 0, squared, 1.0))[:, None].astype(np.float32)
        given = self.has_taste_[rows]
        if given.any():
            direct = self.taste_[rows[given]] @ self.product_matrix_.T
            raw[given] = np.asarray(direct.todense() if sp.issparse(direct) else direct, dtype=np.float32)
        return raw

    def _explain(self, rows: np.ndarray, items: np.ndarray, context: Any) -> np.ndarray:
        """'matches your taste in <category>' (bought) or 'like what you viewed in <category>' (only browsed)."""
        category = self.categories_[items]
        bought = np.broadcast_to(self.bought_[rows][:, None], items.shape)
        named = category != ""
        reasons = np.where(
            bought,
            np.where(named, "matches your taste in " + category, "matches your taste"),
            np.where(named, "like what you viewed in " + category, "like what you viewed"),
        )
        return reasons.astype(object)
