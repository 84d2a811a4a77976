"""Text vectors per customer: what they buy (taste), what they write (voice), what they look at (browse).

For customers ``customer_ids`` (the rows of the feature table, in order):

* **taste** -- spend-weighted mean of the embeddings of the products they bought (returns
  and cancelled lines excluded). ``taste_weighting="log_spend"`` (the default) weighs a line
  by ``log(1 + amount)``: a 300 tent still counts more than a 3 sticker (about 2.5x), but one
  dear line no longer drowns a customer's other thirty (raw ``"spend"`` weights span 100x
  within one customer, so the mean follows their priciest item and the taste of heavy
  buyers scatters as if read from one or two items). ``"count"`` weighs every line 1.
  Measured with ``benchmarks/segment_quality.py`` (5,000 customers, seeds 0-2, K-Means at
  K=8, PCA reduction): fused ARI spend 0.721 -> log_spend 0.761 (count 0.763) on the
  generator before its taste segments were sharpened; on the current generator spend 0.782,
  log_spend 0.801, count 0.762, and the ARI of assigning each customer to the nearest true
  segment centre (how well the space separates the segments at all) 0.866 -> 0.903. Products
  are embedded from their title + description + category, or from order-line descriptions
  when there is no catalogue (:mod:`shopseg.embed.texts`).
* **voice** -- mean of the embeddings of their reviews. ``voice_weighting="plain"`` (the
  default) averages all reviews and leaves the rating to the behaviour features
  (``rating_mean`` is one); ``"signed"`` weighs each review by ``(rating - 3) / 2`` so praise
  and complaint point in opposite directions, and 3-star reviews count for nothing. On
  generated shops both give the same fused ARI (0.725 plain, 0.724 signed; 5,000 customers,
  seeds 0-1, ``benchmarks/segment_quality.py``), so the simpler plain mean is the default:
  a review's text mostly says *what* it is about, which is taste again.
* **browse** -- mean of the embeddings of the products they viewed and of the searches they
  typed, when the shop has events.

Every vector is returned with unit length (the direction of the mean; its length only
says how varied the items were, which the item count says better). A customer without any
item in a block gets a zero row there; ``evidence`` counts the items behind each row (lines,
reviews, views + searches) so that fusion can trust a vector of one item less than one of
fifty, and ``has_text`` says whether a customer has any text at all. Never NaN.

All sums are sparse matrix products (customers x distinct texts) @ (distinct texts x dim):
no loop over customers.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import scipy.sparse as sp

from shopseg import schema as s
from shopseg.embed.base import TextEncoder, unit_rows
from shopseg.embed.cache import EmbeddingCache
from shopseg.embed.embedding import EmbeddedTexts, embed_texts
from shopseg.embed.registry import get_encoder
from shopseg.embed.texts import TEXT, product_texts, review_texts, search_texts
from shopseg.errors import ConfigError
from shopseg.shop import Shop

BLOCKS = ("taste", "voice", "browse")
VOICE_WEIGHTINGS = ("plain", "signed")
TASTE_WEIGHTINGS = ("log_spend", "spend", "count")
VIEW_EVENTS = frozenset({"view", "page_view", "product_view", "detail"})
#: ``on_progress(what, done, total, texts_per_second)``; ``what`` is "products", "reviews" or "searches".
TextProgress = Callable[[str, int, int, float], None]


@dataclass
class TextVectors:
    """Text blocks for a list of customers; see the module docstring.

    ``customer_ids``: the rows; ``blocks``: {block name: float32 (customers x dim)}, unit or
    zero rows (only blocks the shop has data for); ``evidence``: {block name: float64
    (customers,)}, items behind each row; ``has_text``: bool (customers,), any non-zero
    block; ``embedded``: {source: the distinct texts' vectors and cache keys}; ``product_ids``:
    the products behind ``embedded["products"].row``; ``report``:
    model_id, texts_embedded, cache_hits, customers_with_text, seconds, and per
    source ("products", "reviews", "searches") texts, distinct, cache hits, embedded, timings.
    """

    customer_ids: pd.Index
    blocks: dict[str, np.ndarray]
    evidence: dict[str, np.ndarray]
    has_text: np.ndarray
    report: dict[str, object] = field(default_factory=dict)
    embedded: dict[str, EmbeddedTexts] = field(default_factory=dict, repr=False)
    product_ids: pd.Index | None = field(default=None, repr=False)

    def product_vectors(self) -> pd.DataFrame | None:
        """The products' text vectors (index product_id, one column per dimension), None without product text.

        The content recommender reads them: the same MiniLM space as the customers' blocks.
        """
        embedded = self.embedded.get("products")
        if embedded is None or self.product_ids is None or not len(embedded.vectors):
            return None
        has = embedded.row >= 0
        return pd.DataFrame(embedded.vectors[embedded.row[has]], index=self.product_ids[has].rename(s.PRODUCT_ID))


def _customer_rows(customer_ids: pd.Index, ids: pd.Series) -> np.ndarray:
    """Row of each id in ``customer_ids`` (-1 when not there)."""
    return customer_ids.get_indexer(ids.astype(str))


def pooled_vectors(
    customer_row: np.ndarray, text_row: np.ndarray, weight: np.ndarray, vectors: np.ndarray, n_customers: int
) -> tuple[np.ndarray, np.ndarray]:
    """Weighted mean direction of each customer's items, and the number of items.

    ``customer_row``, ``text_row``, ``weight``: one entry per item (a line, review, view);
    entries with a negative row or a non-positive weight are skipped. ``vectors``: distinct
    texts x dim. Returns (customers x dim unit-or-zero rows, customers item counts).
    """
    keep = (customer_row >= 0) & (text_row >= 0) & (weight > 0)
    rows, columns, values = customer_row[keep], text_row[keep], weight[keep].astype(np.float32)
    shape = (n_customers, len(vectors))
    weights = sp.csr_matrix((values, (rows, columns)), shape=shape, dtype=np.float32)
    counts = np.bincount(rows, minlength=n_customers).astype(np.float64)
    # float32 throughout: 1M customers x 384 dims is 1.5 GB, float64 would double it
    pooled = np.asarray(weights @ np.asarray(vectors, dtype=np.float32), dtype=np.float32)
    return unit_rows(pooled), counts


def _product_rows(product_ids: pd.Series, products: pd.DataFrame, embedded: EmbeddedTexts) -> np.ndarray:
    """Row in ``embedded.vectors`` of each product id (-1 when the product has no text)."""
    position = pd.Index(products[s.PRODUCT_ID]).get_indexer(product_ids.astype(str))
    return np.where(position >= 0, embedded.row[np.maximum(position, 0)], -1)


def customer_text_vectors(
    shop: Shop,
    customer_ids: pd.Index | None = None,
    *,
    encoder: str | TextEncoder | None = None,
    cache: EmbeddingCache | None = None,
    voice_weighting: str = "plain",
    taste_weighting: str = "log_spend",
    blocks: tuple[str, ...] = BLOCKS,
    on_progress: TextProgress | None = None,
) -> TextVectors:
    """Taste, voice and browse vectors of ``customer_ids`` (default: ``shop.customer_ids()``).

    ``encoder``: a registry name, ``openai:MODEL``, a folder path or a
    :class:`~shopseg.embed.base.TextEncoder` (default: :data:`~shopseg.embed.registry.DEFAULT_ENCODER`).
    ``cache``: an :class:`~shopseg.embed.cache.EmbeddingCache`; identical texts are embedded
    once per model, ever. Blocks without data (no reviews, no events) are left out.
    """
    if voice_weighting not in VOICE_WEIGHTINGS:
        raise ConfigError(f"voice_weighting must be one of {', '.join(VOICE_WEIGHTINGS)}, got '{voice_weighting}'.")
    if taste_weighting not in TASTE_WEIGHTINGS:
        raise ConfigError(f"taste_weighting must be one of {', '.join(TASTE_WEIGHTINGS)}, got '{taste_weighting}'.")
    unknown = set(blocks) - set(BLOCKS)
    if unknown:
        raise ConfigError(f"Unknown text blocks {sorted(unknown)}; known: {', '.join(BLOCKS)}.")
    started = time.perf_counter()
    customer_ids = pd.Index((shop.customer_ids() if customer_ids is None else customer_ids).astype(str))
    n = len(customer_ids)
    encoder = get_encoder(encoder)
    report: dict[str, object] = {"model": encoder.describe(), "sources": {}}
    out_blocks: dict[str, np.ndarray] = {}
    evidence: dict[str, np.ndarray] = {}
    embedded_by_source: dict[str, EmbeddedTexts] = {}

    def embed(what: str, texts: pd.Series) -> EmbeddedTexts:
        progress = (lambda done, total, rate: on_progress(what, done, total, rate)) if on_progress else None
        embedded = embed_texts(texts, encoder, cache=cache, on_progress=progress)
        report["sources"][what] = embedded.report
        embedded_by_source[what] = embedded
        return embedded

    orders, events = shop.orders, shop.events
    wants_products = "taste" in blocks and orders is not None and not orders.empty
    wants_products |= "browse" in blocks and events is not None and s.PRODUCT_ID in events
    products = product_texts(shop.products, orders) if wants_products else product_texts(None)
    product_vectors = embed("products", products[TEXT]) if len(products) else None

    if "taste" in blocks and product_vectors is not None and orders is not None and s.PRODUCT_ID in orders:
        bought = orders[~orders[s.IS_RETURN].astype(bool)] if s.IS_RETURN in orders else orders
        spend = bought[s.AMOUNT].to_numpy(dtype=np.float64) if s.AMOUNT in bought else np.ones(len(bought))
        # Free lines (amount 0) still say what was chosen: a tiny weight keeps them when nothing was paid.
        spend = np.clip(np.nan_to_num(spend), 0.0, None)
        weight = {"spend": spend, "log_spend": np.log1p(spend), "count": np.ones(len(bought))}[taste_weighting] + 1e-6
        out_blocks["taste"], evidence["taste"] = pooled_vectors(
            _customer_rows(customer_ids, bought[s.CUSTOMER_ID]),
            _product_rows(bought[s.PRODUCT_ID], products, product_vectors),
            weight,
            product_vectors.vectors,
            n,
        )

    reviews = review_texts(shop.reviews) if "voice" in blocks else review_texts(None)
    if len(reviews):
        embedded = embed("reviews", reviews[TEXT])
        weight = np.ones(len(reviews))
        if voice_weighting == "signed":
            weight = np.nan_to_num((reviews[s.RATING].to_numpy() - 3.0) / 2.0, nan=0.0)
        vectors = embedded.vectors
        if voice_weighting == "signed":  # negative weights flip the review; pooled_vectors needs weights > 0
            vectors = np.vstack([vectors, -vectors])
            text_row = np.where(weight < 0, embedded.row + len(embedded.vectors), embedded.row)
            text_row = np.where(embedded.row < 0, -1, text_row)
            weight = np.abs(weight)
        else:
            text_row = embedded.row
        out_blocks["voice"], evidence["voice"] = pooled_vectors(
            _customer_rows(customer_ids, reviews[s.CUSTOMER_ID]), text_row, weight, vectors, n
        )

    if "browse" in blocks and events is not None and not events.empty:
        browse = _browse_vectors(events, customer_ids, products, product_vectors, embed)
        if browse is not None:
            out_blocks["browse"], evidence["browse"] = browse

    has_text = np.zeros(n, dtype=bool)
    for counts in evidence.values():
        has_text |= counts > 0
    sources = report["sources"].values()
    report["model_id"] = encoder.model_id
    report["texts_embedded"] = sum(int(source["embedded"]) for source in sources)
    report["cache_hits"] = sum(int(source["cache_hits"]) for source in sources)
    report["customers"] = n
    report["customers_with_text"] = int(has_text.sum())
    report["blocks"] = {
        name: {"dimension": int(v.shape[1]), "customers": int((evidence[name] > 0).sum())}
        for name, v in out_blocks.items()
    }
    report["seconds"] = round(time.perf_counter() - started, 3)
    product_ids = pd.Index(products[s.PRODUCT_ID].astype(str)) if len(products) else None
    return TextVectors(customer_ids, out_blocks, evidence, has_text, report, embedded_by_source, product_ids)


def _browse_vectors(
    events: pd.DataFrame,
    customer_ids: pd.Index,
    products: pd.DataFrame,
    product_vectors: EmbeddedTexts | None,
    embed: Callable[[str, pd.Series], EmbeddedTexts],
) -> tuple[np.ndarray, np.ndarray] | None:
    """Mean direction of viewed products' and typed searches' embeddings per customer."""
    customer_rows, text_rows, stacks = [], [], []
    offset = 0
    if product_vectors is not None and s.PRODUCT_ID in events and s.EVENT_TYPE in events:
        viewed = events[events[s.EVENT_TYPE].astype(str).str.lower().isin(VIEW_EVENTS)]
        customer_rows.append(_customer_rows(customer_ids, viewed[s.CUSTOMER_ID]))
        text_rows.append(_product_rows(viewed[s.PRODUCT_ID].fillna(""), products, product_vectors))
        stacks.append(product_vectors.vectors)
        offset = len(product_vectors.vectors)
    searches = search_texts(events)
    if len(searches):
        embedded = embed("searches", searches[TEXT])
        customer_rows.append(_customer_rows(customer_ids, searches[s.CUSTOMER_ID]))
        text_rows.append(np.where(embedded.row >= 0, embedded.row + offset, -1))
        stacks.append(embedded.vectors)
    if not stacks or sum(len(r) for r in customer_rows) == 0:
        return None
    customer_row = np.concatenate(customer_rows)
    text_row = np.concatenate(text_rows)
    return pooled_vectors(customer_row, text_row, np.ones(len(customer_row)), np.vstack(stacks), len(customer_ids))
