"""The DuckDB embedding cache: keys, persistence, and a second run that embeds nothing."""

from __future__ import annotations

import duckdb
import numpy as np

from shopseg.embed import EmbeddingCache, embed_texts, text_key


def test_put_and_get_in_order_with_missing_keys():
    cache = EmbeddingCache(":memory:")
    vectors = np.arange(6, dtype=np.float32).reshape(3, 2)
    assert cache.put_many("m", ["a", "b", "c"], vectors) == 3
    found, got = cache.get_many("m", ["c", "x", "a"])
    assert found.tolist() == [True, False, True]
    np.testing.assert_array_equal(got, vectors[[2, 0]])
    assert cache.get_many("other-model", ["a"])[0].tolist() == [False]
    assert cache.put_many("m", ["a", "a", "d"], np.ones((3, 2), dtype=np.float32)) == 1  # a kept, d new
    np.testing.assert_array_equal(cache.get_many("m", ["a"])[1], vectors[:1])


def test_cache_persists_in_a_file_and_quotes_its_table(tmp_path):
    path = tmp_path / "run" / "shopseg.duckdb"
    with EmbeddingCache(path, table='odd "name"; drop') as cache:
        cache.put_many("m", [text_key("hello")], np.ones((1, 3), dtype=np.float32))
    connection = duckdb.connect(str(path))
    try:
        cache = EmbeddingCache(connection, table='odd "name"; drop')
        assert cache.count() == 1 and list(cache.model_ids()) == ["m"]
        assert cache.get_many("m", [text_key("hello")])[0].all()
    finally:
        connection.close()


def test_identical_texts_embedded_once_and_second_run_embeds_nothing(minilm_int8, tmp_path):
    texts = ["Great tent", "Great  tent ", "Soft cream", "", None, "Great tent"]
    with EmbeddingCache(tmp_path / "cache.duckdb") as cache:
        first = embed_texts(texts, minilm_int8, cache=cache)
        second = embed_texts(texts, minilm_int8, cache=cache)
    assert first.report["distinct"] == 2 and first.report["embedded"] == 2 and first.report["empty"] == 2
    assert first.row.tolist() == [0, 0, 1, -1, -1, 0]
    assert second.report["embedded"] == 0 and second.report["cache_hits"] == 2
    np.testing.assert_array_equal(first.vectors, second.vectors)
