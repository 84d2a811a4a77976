"""``GET /demand``: units per level from the served run; bad horizons and levels are 422 with a sentence."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient


@pytest.mark.slow
def test_demand_per_segment_and_product(client: TestClient, headers: dict[str, str]) -> None:
    response = client.get("/demand", params={"horizon_days": "60"}, headers=headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["horizon_days"] == 60 and body["level"] == "segment/product"
    rows = body["rows"]
    assert rows and {"segment_id", "product_id", "expected_units", "p05", "p95"} <= set(rows[0])
    assert [r["expected_units"] for r in rows] == sorted((r["expected_units"] for r in rows), reverse=True)
    by_segment = client.get("/demand", params={"horizon_days": 60, "level": "segment"}, headers=headers).json()
    total = sum(r["expected_units"] for r in by_segment["rows"])
    assert total == pytest.approx(body["expected_units_total"])
    one = rows[0]
    filtered = client.get(
        "/demand", params={"horizon_days": 60, "segment_id": one["segment_id"], "product_id": one["product_id"]},
        headers=headers,
    ).json()  # fmt: skip
    assert len(filtered["rows"]) == 1 and filtered["rows"][0]["expected_units"] == pytest.approx(one["expected_units"])


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"horizon_days": "0"}, "at least 1 day"),
        ({"horizon_days": "1.5"}, "whole number"),
        ({"horizon_days": "5000"}, "at most 730"),
        ({"horizon_days": "600"}, "longer than the order history"),
        ({"level": "warehouse"}, "Unknown level"),
    ],
)
def test_bad_requests_are_422_with_what_to_do(
    client: TestClient, headers: dict[str, str], params: dict[str, str], message: str
) -> None:
    response = client.get("/demand", params=params, headers=headers)
    assert response.status_code == 422
    assert message in response.text


def test_demand_needs_the_key(client: TestClient) -> None:
    assert client.get("/demand").status_code == 401
