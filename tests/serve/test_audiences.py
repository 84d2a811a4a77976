"""Audiences: filters, text, ranking, exports (CSV safe for spreadsheets, Parquet), errors."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pandas as pd
import pytest
from fastapi.testclient import TestClient


def _export(client: TestClient, headers: dict[str, str], audience: dict, kind: str = "parquet") -> pd.DataFrame:
    response = client.get(audience["exports"][kind], headers=headers)
    assert response.status_code == 200
    assert "attachment" in response.headers["content-disposition"]
    if kind == "parquet":
        return pd.read_parquet(io.BytesIO(response.content))
    return pd.read_csv(io.StringIO(response.text), dtype={"customer_id": str})


def test_filters_select_exactly_the_matching_customers(
    client: TestClient, headers: dict[str, str], run_dir: Path
) -> None:
    segments = pd.read_parquet(run_dir / "segments.parquet")
    request = {"segment_ids": [0, 1], "churn_risk_min": 0.2, "clv_max": 500.0, "recency_min_days": 30}
    response = client.post("/audiences", json=request, headers=headers)
    assert response.status_code == 201, response.text
    audience = response.json()
    assert response.headers["location"] == f"/audiences/{audience['id']}"
    expected = segments[
        segments["segment_id"].isin([0, 1])
        & (segments["churn_risk"] >= 0.2)
        & (segments["clv"] <= 500)
        & (segments["recency_days"] >= 30)
    ]
    assert audience["size"] == audience["matching"] == len(expected) > 0
    exported = _export(client, headers, audience)
    assert set(exported["customer_id"]) == set(expected["customer_id"])
    assert exported["clv"].is_monotonic_decreasing  # ranked by value without a topic
    assert len(audience["preview"]) == min(20, len(expected))
    assert any(line.startswith("condition: segment in: 0") for line in audience["understood"])
    assert audience["where"] == "segment in (0, 1) and clv <= 500 and churn_risk >= 0.2 and days_since_last_order >= 30"


def test_last_order_dates_and_top_cap(client: TestClient, headers: dict[str, str], run_dir: Path) -> None:
    reference = pd.Timestamp(json.loads((run_dir / "run.json").read_text())["reference_ts"])
    after = (reference - pd.Timedelta(days=120)).date().isoformat()
    audience = client.post("/audiences", json={"last_order_after": after, "top": 10}, headers=headers).json()
    exported = _export(client, headers, audience)
    assert audience["size"] == 10 < audience["matching"]
    assert (pd.to_datetime(exported["last_order_date"]) >= pd.Timestamp(after)).all()
    assert any("kept the first 10" in line for line in audience["understood"])


def test_description_is_parsed_and_the_topic_ranks_the_members(client: TestClient, headers: dict[str, str]) -> None:
    body = {"description": "high value customers who love hiking boots", "top": 50}
    audience = client.post("/audiences", json=body, headers=headers).json()
    understood = " ".join(audience["understood"])
    assert "top 20%" in understood and "hiking" in understood
    assert audience["where"] == 'clv >= p80 and topic = "hiking boots"'
    assert audience["topic_method"].startswith("text embedding")  # the run embedded its text: its model is used
    exported = _export(client, headers, audience)
    assert 0 < len(exported) <= 50
    assert (exported["topic_score"] > 0).all() and exported["topic_score"].is_monotonic_decreasing


def test_where_conditions_and_spend_filters(client: TestClient, headers: dict[str, str], run_dir: Path) -> None:
    segments = pd.read_parquet(run_dir / "segments.parquet")
    body = {"where": "spend > 300 and orders >= 3", "spend_max": 2000}
    audience = client.post("/audiences", json=body, headers=headers).json()
    expected = segments[(segments["monetary_total"] > 300) & (segments["frequency"] >= 3)]
    expected = expected[expected["monetary_total"] <= 2000]
    assert audience["matching"] == len(expected) > 0
    assert audience["where"] == "spend <= 2000 and spend > 300 and orders >= 3"


def test_explicit_filters_win_over_the_text(client: TestClient, headers: dict[str, str]) -> None:
    body = {"description": "customers at risk", "churn_risk_min": 0.9}
    audience = client.post("/audiences", json=body, headers=headers).json()
    assert audience["where"] == "churn_risk >= 0.9"
    assert any("'churn_risk >= 0.5' read from the description was replaced" in line for line in audience["understood"])


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"segment_ids": [99]}, "Unknown segment id 99"),
        ({"clv_min": 10, "clv_max": 1}, "clv_min (10.0) is greater than clv_max (1.0)"),
        ({"churn_risk_min": 2}, "less than or equal to 1"),
        ({"description": "x" * 501}, "at most 500 characters"),
        ({"colour": "red"}, "Extra inputs are not permitted"),
        ({"description": "clv over 500 and clv under 100"}, "contradict each other"),
        ({"where": "spend >> 5"}, "Cannot read the condition 'spend >> 5'"),
    ],
)
def test_bad_audience_requests_are_422_with_a_message(
    client: TestClient, headers: dict[str, str], body: dict, message: str
) -> None:
    response = client.post("/audiences", json=body, headers=headers)
    assert response.status_code == 422
    assert message in json.dumps(response.json())


def test_unknown_and_malformed_audience_ids(client: TestClient, headers: dict[str, str]) -> None:
    assert client.get("/audiences/0123456789abcdef.csv", headers=headers).status_code == 404
    assert client.get("/audiences/0123456789abcdef", headers=headers).status_code == 404
    assert client.get("/audiences/..%2Fetc.csv", headers=headers).status_code in (404, 422)
    assert client.get("/audiences/ZZZ.csv", headers=headers).status_code == 422


def test_old_audiences_expire(run_dir: Path, app_factory, headers: dict[str, str]) -> None:
    client = app_factory(run_dir, max_audiences=2)
    ids = [client.post("/audiences", json={"top": 1}, headers=headers).json()["id"] for _ in range(3)]
    assert client.get(f"/audiences/{ids[0]}", headers=headers).status_code == 404
    assert client.get(f"/audiences/{ids[2]}", headers=headers).status_code == 200


def test_csv_export_cannot_run_spreadsheet_formulas(run_copy: Path, app_factory, headers: dict[str, str]) -> None:
    """Customer ids and segment names starting with = + - @ are written with a leading quote."""
    segments = pd.read_parquet(run_copy / "segments.parquet")
    hostile = ['=HYPERLINK("http://evil.example","x")', "+SUM(A1:A9)", "-2+3", "@cmd|' /C calc'!A0"]
    segments.loc[:3, "customer_id"] = hostile
    segments["segment_name"] = segments["segment_name"].where(segments.index > 3, "=1+1")
    segments.to_parquet(run_copy / "segments.parquet", index=False)
    client = app_factory(run_copy)
    audience = client.post("/audiences", json={}, headers=headers).json()
    text = client.get(audience["exports"]["csv"], headers=headers).text
    rows = list(csv.DictReader(io.StringIO(text)))
    by_id = {row["customer_id"]: row for row in rows}
    for value in hostile:
        assert "'" + value in by_id, value
        assert by_id["'" + value]["segment_name"] == "'=1+1"
    for row in rows:  # no text cell may start like a formula
        for cell in (row["customer_id"], row["segment_name"]):
            assert not cell.startswith(("=", "+", "-", "@")), cell
    # Parquet is data, not a spreadsheet: values stay as they are.
    parquet = pd.read_parquet(io.BytesIO(client.get(audience["exports"]["parquet"], headers=headers).content))
    assert set(hostile) <= set(parquet["customer_id"])
