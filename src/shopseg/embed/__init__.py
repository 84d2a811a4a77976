"""Text embedding: encoders by name, a DuckDB cache, and text vectors per customer.

The stage's entry point::

    from shopseg.embed import EmbeddingCache, customer_text_vectors
    with EmbeddingCache("run/shopseg.duckdb") as cache:
        text = customer_text_vectors(shop, customer_ids, encoder="minilm-int8", cache=cache)
    text.blocks["taste"]   # customers x 384, unit rows (zero rows: no purchases with text)
    text.has_text          # bool per customer
    text.report            # model id, texts, cache hits, embedded, seconds -> run.json

Encoders (``--text-model``): see :mod:`shopseg.embed.registry`. Models are loaded only from
installed packages or local folders; nothing is downloaded.
"""

from shopseg.embed.base import ProgressCallback, TextEncoder, normalise_text
from shopseg.embed.cache import EmbeddingCache, text_key
from shopseg.embed.customer_vectors import BLOCKS, TextProgress, TextVectors, customer_text_vectors
from shopseg.embed.embedding import EmbeddedTexts, embed_texts
from shopseg.embed.registry import DEFAULT_ENCODER, ENCODERS, get_encoder
from shopseg.embed.static import cache_folder
from shopseg.embed.texts import product_texts, review_texts, search_texts

__all__ = [
    "BLOCKS",
    "DEFAULT_ENCODER",
    "ENCODERS",
    "EmbeddedTexts",
    "EmbeddingCache",
    "ProgressCallback",
    "TextEncoder",
    "TextProgress",
    "TextVectors",
    "cache_folder",
    "customer_text_vectors",
    "embed_texts",
    "get_encoder",
    "normalise_text",
    "product_texts",
    "review_texts",
    "search_texts",
    "text_key",
]
