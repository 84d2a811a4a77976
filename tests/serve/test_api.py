"""The JSON API: authentication, segments and customers, validation errors, limits, logs without PII."""

from __future__ import annotations

import logging
import re
from pathlib import Path
from urllib.parse import urlsplit

import pandas as pd
import pytest
from fastapi.testclient import TestClient

API_KEY = "test-key-0123456789"


def test_every_route_but_health_needs_the_key(client: TestClient, headers: dict[str, str]) -> None:
    assert client.get("/health").status_code == 200
    for path in ("/segments", "/segments/0", "/customers/x", "/audiences/0123456789abcdef", "/", "/lookup"):
        response = client.get(path)
        assert response.status_code == 401, path
        assert "X-API-Key" in response.json()["detail"]
    assert client.post("/assign", json={}).status_code == 401
    assert client.post("/audiences", json={}).status_code == 401
    assert client.get("/segments", headers={"X-API-Key": API_KEY + "x"}).status_code == 401
    assert client.get("/segments", headers={"X-API-Key": ""}).status_code == 401
    assert client.get("/segments", headers=headers).status_code == 200


def test_key_in_the_address_sets_a_session_cookie_and_is_dropped_from_the_address(run_dir: Path) -> None:
    from shopseg.serve import create_app

    browser = TestClient(create_app(run_dir, API_KEY), follow_redirects=False)
    wrong = browser.get("/lookup?key=nope")
    assert wrong.status_code == 401
    signed_in = browser.get(f"/lookup?customer_id=abc&key={API_KEY}")
    assert signed_in.status_code == 303
    assert signed_in.headers["location"] == "/lookup?customer_id=abc"
    cookie = signed_in.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and API_KEY not in cookie
    assert browser.get("/segments").status_code == 200  # the cookie now authenticates


def test_no_auth_mode_needs_no_key(run_dir: Path) -> None:
    from shopseg.serve import create_app

    assert TestClient(create_app(run_dir, None)).get("/segments").status_code == 200


def test_segments_and_profiles(client: TestClient, headers: dict[str, str], run_dir: Path) -> None:
    segments = client.get("/segments", headers=headers).json()
    truth = pd.read_parquet(run_dir / "segments.parquet")
    assert sum(s["size"] for s in segments) == len(truth)
    first = segments[0]
    profile = client.get(f"/segments/{first['segment_id']}", headers=headers).json()
    assert profile["name"] == first["name"] and "playbook" in profile and "persona" in profile
    missing = client.get("/segments/999", headers=headers)
    assert missing.status_code == 404 and "999" in missing.json()["detail"]
    assert client.get("/segments/abc", headers=headers).status_code == 422


def test_customer_lookup_returns_segment_and_scores(client: TestClient, headers: dict[str, str], run_dir: Path) -> None:
    row = pd.read_parquet(run_dir / "segments.parquet").iloc[7]
    body = client.get(f"/customers/{row['customer_id']}", headers=headers).json()
    assert body["segment_id"] == row["segment_id"] and body["segment_name"] == row["segment_name"]
    assert body["scores"]["clv"] == pytest.approx(row["clv"])
    assert body["features"]["recency_days"] == pytest.approx(row["recency_days"])
    assert body["recommendations"] is None  # this run has no recommendations.parquet
    assert client.get("/customers/nobody-here", headers=headers).status_code == 404


def test_recommendations_are_served_when_the_run_has_them(run_copy: Path, app_factory, headers) -> None:
    segments = pd.read_parquet(run_copy / "segments.parquet")
    customer = str(segments["customer_id"].iloc[3])
    recommendations = pd.DataFrame(
        {
            "customer_id": [customer, customer, "someone-else"],
            "rank": [2, 1, 1],
            "product_id": ["P00002", "P00001", "P00003"],
            "score": [0.5, 0.9, 0.7],
            "reason": ["bought together", "similar customers", "popular"],
        }
    )
    recommendations.to_parquet(run_copy / "recommendations.parquet", index=False)
    client = app_factory(run_copy)
    body = client.get(f"/customers/{customer}", headers=headers).json()
    assert [r["product_id"] for r in body["recommendations"]] == ["P00001", "P00002"]
    assert body["recommendations"][0]["reason"] == "similar customers"
    assert "title" in body["recommendations"][0]  # joined from the run's product table
    other = str(segments["customer_id"].iloc[4])
    assert client.get(f"/customers/{other}", headers=headers).json()["recommendations"] == []


def test_validation_errors_are_4xx_with_a_message(client: TestClient, headers: dict[str, str]) -> None:
    cases = [
        {},  # no orders
        {"orders": []},
        {"orders": [{"order_id": "1", "ts": "2024-01-01"}]},  # no amount, no quantity x price
        {"orders": [{"order_id": "1", "ts": "2024-01-01", "amount": 10, "colour": "red"}]},  # unknown field
        {"orders": [{"order_id": "1", "ts": "2024-01-01", "amount": "ten"}]},
    ]
    for body in cases:
        response = client.post("/assign", json=body, headers=headers)
        assert response.status_code == 422, body
        assert response.json()["message"].startswith("Invalid request:")
    not_json = client.post("/assign", content=b"{nope", headers={**headers, "content-type": "application/json"})
    assert not_json.status_code == 422


def test_lines_that_fail_the_input_checks_are_named(client: TestClient, headers: dict[str, str]) -> None:
    body = {
        "orders": [
            {"order_id": "1", "ts": "2024-01-01 10:00", "amount": 10},
            {"order_id": "2", "ts": "not a date", "amount": 10},
            {"order_id": "3", "ts": "2024-01-03", "quantity": 1, "unit_price": -5},
        ]
    }
    response = client.post("/assign", json=body, headers=headers)
    assert response.status_code == 422
    detail = response.json()
    assert "orders" in detail["detail"] and "Fix or remove them" in detail["detail"]
    reasons = {(p["line"], p["reason"]) for p in detail["problems"]}
    assert reasons == {(1, "not a date"), (2, "negative price")}


def test_size_limits(run_dir: Path, app_factory, headers: dict[str, str]) -> None:
    client = app_factory(run_dir)
    line = {"order_id": "1", "ts": "2024-01-01", "amount": 1.0}
    too_many = client.post("/assign", json={"orders": [line] * 10_001}, headers=headers)
    assert too_many.status_code == 422 and "10000" in too_many.text
    small = app_factory(run_dir, max_body_bytes=2_000)
    too_large = small.post("/assign", json={"orders": [line] * 100}, headers=headers)
    assert too_large.status_code == 413 and "at most 2,000 bytes" in too_large.json()["detail"]

    def chunks():  # no Content-Length: the limit applies while the body streams in
        for _ in range(100):
            yield b" " * 100

    streamed = small.post("/assign", content=chunks(), headers={**headers, "content-type": "application/json"})
    assert streamed.status_code == 413


def test_logs_name_routes_not_customers(
    client: TestClient, headers: dict[str, str], run_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    customer = str(pd.read_parquet(run_dir / "segments.parquet")["customer_id"].iloc[0])
    with caplog.at_level(logging.INFO, logger="shopseg.serve"):
        client.get(f"/customers/{customer}", headers=headers)
        client.get(f"/lookup?customer_id={customer}", headers=headers)
        client.post("/audiences", json={"description": "hiking"}, headers=headers)
    text = caplog.text
    assert "GET /customers/{customer_id} 200" in text and "GET /lookup 200" in text
    assert customer not in text and API_KEY not in text and "hiking" not in text


def test_responses_carry_security_headers(client: TestClient, headers: dict[str, str]) -> None:
    response = client.get("/", headers=headers)
    policy = response.headers["content-security-policy"]
    assert "default-src 'self'" in policy
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    # Scripts: no eval, no inline script without this response's nonce.
    script_src = next(part for part in policy.split(";") if part.strip().startswith("script-src"))
    assert "unsafe-eval" not in script_src and "unsafe-inline" not in script_src
    nonce = re.search(r"'nonce-([^']+)'", script_src).group(1)
    inline_scripts = re.findall(r"<script(?![^>]*\bsrc=)([^>]*)>", response.text)
    assert inline_scripts, "the overview draws its charts with inline scripts"
    assert all(f'nonce="{nonce}"' in attributes for attributes in inline_scripts)
    assert nonce not in client.get("/", headers=headers).headers["content-security-policy"]  # fresh per response


@pytest.mark.parametrize("path", ["//evil.example/", "/\\evil.example/", "///evil.example/x", "/%2F%2Fevil.example/"])
def test_signing_in_never_redirects_to_another_site(run_dir: Path, path: str) -> None:
    """``GET //evil.example/?key=KEY`` must not answer ``Location: //evil.example/`` (a link to another host)."""
    from shopseg.serve import create_app

    browser = TestClient(create_app(run_dir, API_KEY), follow_redirects=False)
    response = browser.get(f"{path}?key={API_KEY}&a=1")
    assert response.status_code == 303
    location = response.headers["location"]
    assert location.startswith("/") and not location.startswith(("//", "/\\"))
    assert urlsplit(location).netloc == "" and location.endswith("?a=1")


def test_openapi_documents_the_routes(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/segments", "/segments/{segment_id}", "/customers/{customer_id}", "/assign", "/audiences"} <= set(paths)
    assert "/audiences/{audience_id}.csv" in paths and "/lookup" not in paths  # pages are not API


def test_a_rerun_into_the_served_folder_is_served_whole(run_copy: Path, app_factory, headers) -> None:
    """Issue 17: serve mixed the runs of one folder; now it follows the folder's switch to the new run."""
    import json
    import shutil

    from shopseg.export.run_folder import MANIFEST, write_atomically

    client = app_factory(run_copy)
    before = client.get("/segments", headers=headers).json()
    audience = client.post("/audiences", json={"description": "hiking", "top": 5}, headers=headers).json()
    assert client.get(f"/audiences/{audience['id']}", headers=headers).status_code == 200

    def rerun(folder: Path) -> None:  # the same run, renamed: what a rerun writes, switched in as a whole
        for path in run_copy.iterdir():
            if path.name != MANIFEST:
                (shutil.copytree if path.is_dir() else shutil.copy2)(path, folder / path.name)
        profiles = json.loads((folder / "profiles.json").read_text())
        for profile in profiles:
            profile["name"] = f"Rerun {profile['segment_id']}"
        (folder / "profiles.json").write_text(json.dumps(profiles))

    write_atomically(run_copy, rerun)
    after = client.get("/segments", headers=headers).json()
    assert [s["name"] for s in after] == [f"Rerun {s['segment_id']}" for s in before]
    # the audience was built on the earlier run's customers: gone with it
    assert client.get(f"/audiences/{audience['id']}", headers=headers).status_code == 404
