"""Text vectors per customer on a tiny shop, with the real int8 MiniLM."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from shopseg import schema as s
from shopseg.embed import EmbeddingCache, customer_text_vectors, product_texts
from shopseg.errors import ConfigError

IDS = pd.Index([f"c{i}" for i in range(1, 9)])  # c8 is not in the shop at all


def test_taste_separates_outdoor_from_skincare_with_identical_spending(shop, minilm_int8):
    text = customer_text_vectors(shop, IDS, encoder=minilm_int8)
    taste = text.blocks["taste"]
    similarity = taste @ taste.T
    outdoor, skincare = [0, 1, 2], [3, 4, 5]
    within = min(similarity[np.ix_(outdoor, outdoor)].min(), similarity[np.ix_(skincare, skincare)].min())
    across = similarity[np.ix_(outdoor, skincare)].max()
    assert within > 0.95 and across < within - 0.3
    assert text.evidence["taste"].tolist() == [3, 3, 3, 3, 3, 3, 0, 0]  # the return of c1 is not a purchase


def test_customers_without_text_get_zero_rows_and_a_flag(shop, minilm_int8):
    text = customer_text_vectors(shop, IDS, encoder=minilm_int8)
    assert text.has_text.tolist() == [True] * 6 + [False, False]
    for name, block in text.blocks.items():
        assert np.isfinite(block).all(), name
        norms = np.linalg.norm(block, axis=1)
        np.testing.assert_allclose(norms[text.evidence[name] > 0], 1.0, atol=1e-5)
        assert (norms[text.evidence[name] == 0] == 0).all()
    assert text.evidence["voice"].tolist() == [1, 0, 0, 1, 1, 0, 0, 0]


def test_without_a_catalogue_order_line_descriptions_give_the_taste(make_shop, minilm_int8):
    shop = make_shop(with_catalogue=False)
    texts = product_texts(shop.products, shop.orders)
    assert texts[s.TEXT].str.contains("camping tent").any() and len(texts) == 6
    text = customer_text_vectors(shop, IDS, encoder=minilm_int8)
    similarity = text.blocks["taste"] @ text.blocks["taste"].T
    assert similarity[0, 1] > similarity[0, 4] + 0.3


def test_second_run_embeds_nothing_and_gives_the_same_vectors(shop, minilm_int8, tmp_path):
    with EmbeddingCache(tmp_path / "run.duckdb") as cache:
        first = customer_text_vectors(shop, IDS, encoder=minilm_int8, cache=cache)
        second = customer_text_vectors(shop, IDS, encoder=minilm_int8, cache=cache)
    embedded = [source["embedded"] for source in second.report["sources"].values()]
    assert sum(source["embedded"] for source in first.report["sources"].values()) == 9
    assert embedded == [0, 0]
    for name in first.blocks:
        np.testing.assert_array_equal(first.blocks[name], second.blocks[name])


def test_signed_voice_flips_complaints(shop, minilm_int8):
    plain = customer_text_vectors(shop, IDS, encoder=minilm_int8, blocks=("voice",))
    signed = customer_text_vectors(shop, IDS, encoder=minilm_int8, blocks=("voice",), voice_weighting="signed")
    np.testing.assert_allclose(signed.blocks["voice"][0], plain.blocks["voice"][0], atol=1e-6)  # 5 stars: same
    np.testing.assert_allclose(signed.blocks["voice"][3], -plain.blocks["voice"][3], atol=1e-6)  # 1 star: flipped
    assert "taste" not in signed.blocks
    with pytest.raises(ConfigError):
        customer_text_vectors(shop, IDS, encoder=minilm_int8, voice_weighting="loud")


def test_browse_vector_from_viewed_products_and_searches(shop, minilm_int8):
    shop.events = pd.DataFrame(
        {
            s.CUSTOMER_ID: ["c7", "c7", "c2"],
            s.TS: pd.Timestamp("2024-02-01"),
            s.EVENT_TYPE: ["view", "search", "cart"],
            s.PRODUCT_ID: ["p1", "", "p4"],
            s.QUERY: ["", "camping gear", ""],
        }
    )
    text = customer_text_vectors(shop, IDS, encoder=minilm_int8)
    assert text.evidence["browse"].tolist() == [0, 0, 0, 0, 0, 0, 2, 0]  # a cart is not a view
    assert text.has_text[6]
    assert float(text.blocks["browse"][6] @ text.blocks["taste"][0]) > 0.5


def test_fused_with_identical_behaviour_the_two_tastes_end_up_apart(shop, minilm_int8):
    from sklearn.cluster import KMeans

    from shopseg.represent import fuse

    ids = IDS[:6]
    text = customer_text_vectors(shop, ids, encoder=minilm_int8)
    behaviour = np.ones((6, 3))  # identical spending, frequency, recency
    fused = fuse(behaviour, text.blocks, evidence=text.evidence, dim=2, reducer="pca")
    labels = KMeans(2, n_init=10, random_state=0).fit_predict(fused.vectors)
    assert len(set(labels[:3])) == 1 and len(set(labels[3:])) == 1 and labels[0] != labels[3]
