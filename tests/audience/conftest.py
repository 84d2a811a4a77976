"""One generated shop segmented with its text embedded, shared by the audience tests."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from shopseg.generate import generate_shop, write_shop
from shopseg.runner import run_segmentation

CUSTOMERS = 2000


@pytest.fixture(scope="session")
def shop_paths(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return write_shop(generate_shop(CUSTOMERS, seed=0), tmp_path_factory.mktemp("audience") / "shop")


@pytest.fixture(scope="session")
def text_run(shop_paths: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A run of the shop with the default text model (no value stage: these tests filter on behaviour)."""
    folder = tmp_path_factory.mktemp("audience-run") / "run"
    run_segmentation(
        folder,
        orders=shop_paths["orders"],
        products=shop_paths["products"],
        reviews=shop_paths["reviews"],
        events=shop_paths["events"],
        k=6,
        value=False,
        stability_refits=0,
        map_method=None,
        recommender=None,
        embedding_cache=":memory:",  # what a fresh machine pays: every text embedded
    )
    return folder


@pytest.fixture(scope="session")
def truth(shop_paths: dict[str, Path]) -> pd.Series:
    """The planted segment of every customer (index customer_id)."""
    return pd.read_csv(shop_paths["truth"], dtype=str).set_index("customer_id")["segment"]
