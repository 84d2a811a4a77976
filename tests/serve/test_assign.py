"""POST /assign: a customer re-assigned from their own lines lands where the batch run put them."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
from fastapi.testclient import TestClient

SAMPLE = 50


def test_assign_agrees_with_the_batch_assignment(
    client: TestClient, headers: dict[str, str], run_dir: Path, customer_history: Callable[..., dict[str, Any]]
) -> None:
    """Same lines, same reference time, same model: the same segment for (nearly) every customer."""
    segments = pd.read_parquet(run_dir / "segments.parquet").set_index("customer_id")
    sample = segments.sample(SAMPLE, random_state=7)
    agree = 0
    for customer_id, row in sample.iterrows():
        response = client.post("/assign", json=customer_history(customer_id), headers=headers)
        assert response.status_code == 200, response.text
        body = response.json()
        agree += body["segment_id"] == row["segment_id"]
    assert agree / SAMPLE >= 0.95, f"{agree} of {SAMPLE} re-assigned customers kept their segment"


def test_assign_reports_the_features_and_the_reference_time(
    client: TestClient, headers: dict[str, str], run_dir: Path, customer_history: Callable[..., dict[str, Any]]
) -> None:
    features = pd.read_parquet(run_dir / "features.parquet").set_index("customer_id")
    customer_id = str(features.index[11])
    body = client.post("/assign", json=customer_history(customer_id), headers=headers).json()
    assert body["customer_id"] == customer_id
    reference = json.loads((run_dir / "run.json").read_text())["reference_ts"]
    assert body["reference_ts"] == pd.Timestamp(reference).isoformat()  # measured from the run's "now"
    # Every feature the model sees, habit and category shares included (shrunk towards the run's shop shares).
    assert len(body["features"]) > 20
    for name, value in body["features"].items():
        assert abs(value - features.loc[customer_id, name]) < 1e-4, name


def test_a_brand_new_customer_is_assigned_with_a_note_when_ahead_of_the_reference(
    client: TestClient, headers: dict[str, str]
) -> None:
    body = {
        "customer_id": "web-123",
        "orders": [
            {"order_id": "A1", "ts": "2023-11-02T10:15:00", "quantity": 2, "unit_price": 19.9, "product_id": "P00001"},
            {"order_id": "A2", "ts": "2024-01-15 18:30", "amount": 54.0},
        ],
    }
    response = client.post("/assign", json=body, headers=headers)
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["customer_id"] == "web-123" and isinstance(result["segment_id"], int) and result["segment_name"]
    assert result["lines_used"]["orders"] == 2

    later = {**body, "reference_ts": "2023-12-01"}
    noted = client.post("/assign", json=later, headers=headers).json()
    assert noted["notes"] and "after the reference time" in noted["notes"][0]
    assert noted["features"]["recency_days"] == 0.0


def test_dates_out_of_range_are_a_clear_422(client: TestClient, headers: dict[str, str]) -> None:
    body = {"orders": [{"order_id": "1", "ts": "2999-01-01", "amount": 5}]}
    response = client.post("/assign", json=body, headers=headers)
    assert response.status_code == 422 and "out of range" in response.json()["detail"]
    bad_reference = client.post("/assign", json={**body, "reference_ts": "soon"}, headers=headers)
    assert bad_reference.status_code == 422 and "reference_ts" in bad_reference.json()["message"]


def test_an_absurd_amount_is_a_clear_422_not_an_infinite_value(client: TestClient, headers: dict[str, str]) -> None:
    body = {"orders": [{"order_id": "1", "ts": "2024-01-01", "amount": 1e308}]}
    response = client.post("/assign", json=body, headers=headers)
    assert response.status_code == 422
    assert response.json()["problems"][0]["reason"].startswith("absurd amount")


def test_assign_recommends_unbought_products_when_the_run_has_als_factors(
    run_copy: Path, app_factory, headers: dict[str, str], customer_history: Callable[..., dict[str, Any]]
) -> None:
    import duckdb

    from shopseg.recommend.fold_in import FoldInALS

    connection = duckdb.connect(str(run_copy / "shopseg.duckdb"), read_only=True)
    orders = connection.execute("SELECT * FROM orders").df()
    connection.close()
    FoldInALS().fit(orders).save(run_copy / "model" / "fold_in")  # what a run with recommendations writes
    client = app_factory(run_copy)

    customer_id = str(orders["customer_id"].iloc[0])
    body = client.post("/assign", json={**customer_history(customer_id), "recommend_n": 4}, headers=headers).json()
    recommended = body["recommendations"]
    assert [r["rank"] for r in recommended] == [1, 2, 3, 4]
    bought = set(orders.loc[orders["customer_id"] == customer_id, "product_id"])
    assert not {r["product_id"] for r in recommended} & bought
    assert all(r["title"] and r["reason"] for r in recommended)
    assert [r["score"] for r in recommended] == sorted((r["score"] for r in recommended), reverse=True)
    none = client.post("/assign", json={**customer_history(customer_id), "recommend_n": 0}, headers=headers).json()
    assert none["recommendations"] is None

    # product_id is optional: lines without it still place the customer (no recommendations, said why) ...
    anonymous = {
        "orders": [
            {"order_id": "A1", "ts": "2024-01-02", "amount": 20.0},
            {"order_id": "A2", "ts": "2024-02-02", "amount": 30.0},
        ]
    }
    response = client.post("/assign", json=anonymous, headers=headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["recommendations"] is None and any("product_id" in note for note in body["notes"])
    assert body["features"]["frequency"] == 2 and body["features"]["distinct_products"] == 0
    # ... and a line without one beside lines with one is not a product named ""
    mixed = customer_history(customer_id)
    product_lines = [line for line in mixed["orders"] if "product_id" in line]
    mixed["orders"] = [*product_lines, {"order_id": "extra", "ts": product_lines[-1]["ts"], "amount": 5.0}]
    mixed_body = client.post("/assign", json=mixed, headers=headers).json()
    assert mixed_body["features"]["distinct_products"] == len({line["product_id"] for line in product_lines})
    assert mixed_body["recommendations"]


def test_assign_says_null_recommendations_when_the_run_has_no_als_factors(
    client: TestClient, headers: dict[str, str], customer_history: Callable[..., dict[str, Any]], run_dir: Path
) -> None:
    customer_id = str(pd.read_parquet(run_dir / "segments.parquet")["customer_id"].iloc[0])
    assert client.post("/assign", json=customer_history(customer_id), headers=headers).json()["recommendations"] is None
