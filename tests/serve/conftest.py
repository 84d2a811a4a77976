"""Shared fixtures for the API and dashboard tests: one small fitted run, an app over it, request helpers."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pytest

pytest.importorskip("fastapi", reason="the serve extra is not installed: pip install 'shopseg[serve]'")

from fastapi.testclient import TestClient

from shopseg.generate import generate_shop, write_shop
from shopseg.runner import run_segmentation
from shopseg.serve import create_app

API_KEY = "test-key-0123456789"
ORDER_FIELDS = ("order_id", "ts", "amount", "product_id", "quantity", "unit_price", "status")
REVIEW_FIELDS = ("ts", "rating", "text", "product_id")
EVENT_FIELDS = ("ts", "event_type", "product_id", "session_id", "query")


@pytest.fixture(scope="session")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fitted run of a small generated shop (orders, products, reviews, events; value stage on)."""
    folder = tmp_path_factory.mktemp("serve")
    paths = write_shop(generate_shop(600, seed=3), folder / "shop")
    run_segmentation(
        folder / "run",
        orders=paths["orders"],
        products=paths["products"],
        reviews=paths["reviews"],
        events=paths["events"],
        k=5,
        min_segment_size=20,
        recommender=None,  # the API tests cover a run without recommendations.parquet (and add one when needed)
    )
    return folder / "run"


@pytest.fixture(scope="session")
def client(run_dir: Path) -> TestClient:
    """A client of the app over ``run_dir`` with authentication on (no key sent by default)."""
    return TestClient(create_app(run_dir, API_KEY))


@pytest.fixture(scope="session")
def headers() -> dict[str, str]:
    return {"X-API-Key": API_KEY}


@pytest.fixture
def run_copy(run_dir: Path, tmp_path: Path) -> Path:
    """A copy of the run folder that a test may alter (recommendations, hostile names ...)."""
    return Path(shutil.copytree(run_dir, tmp_path / "run"))


def _records(frame: pd.DataFrame, fields: tuple[str, ...]) -> list[dict[str, Any]]:
    """JSON-ready rows: timestamps as ISO text, missing values left out."""
    rows = []
    for row in frame.to_dict("records"):
        clean = {}
        for key in fields:
            value = row.get(key)
            if value is None or (not isinstance(value, str) and pd.isna(value)):
                continue
            clean[key] = value.isoformat() if isinstance(value, pd.Timestamp) else value
        rows.append(clean)
    return rows


@pytest.fixture(scope="session")
def customer_history(run_dir: Path) -> Iterator[Callable[..., dict[str, Any]]]:
    """``history(customer_id)``: the customer's own lines from the run's store, as an /assign body."""
    connection = duckdb.connect(str(run_dir / "shopseg.duckdb"), read_only=True)

    def history(customer_id: str, *, with_engagement: bool = True) -> dict[str, Any]:
        def lines(table: str) -> pd.DataFrame:
            return connection.execute(f"SELECT * FROM {table} WHERE customer_id = ?", [customer_id]).df()

        body: dict[str, Any] = {"customer_id": customer_id, "orders": _records(lines("orders"), ORDER_FIELDS)}
        if with_engagement:
            body["reviews"] = _records(lines("reviews"), REVIEW_FIELDS)
            body["events"] = _records(lines("events"), EVENT_FIELDS)
        return body

    yield history
    connection.close()


@pytest.fixture(scope="session")
def app_factory() -> Callable[..., TestClient]:
    """``make(run_dir, **options)``: a client of a new app (its own audiences, limits, key)."""

    def make(folder: Path, api_key: str | None = API_KEY, **options: Any) -> TestClient:
        return TestClient(create_app(folder, api_key, **options))

    return make
