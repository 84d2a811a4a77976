"""Dashboard pages through the app (no browser): content, escaping, offline, forms, Plotly's script."""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path

import pandas as pd
from fastapi.testclient import TestClient

HTML = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
EXTERNAL = re.compile(r"""<(?:script|link|img|iframe)[^>]+(?:src|href)\s*=\s*["']?(?:https?:)?//""")


def test_overview_lists_segments_and_embeds_the_charts(client: TestClient, headers: dict[str, str]) -> None:
    page = client.get("/", headers={**headers, **HTML})
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    text = page.text
    assert '<script src="/static/plotly.js"></script>' in text
    charts = set(re.findall(r'data-chart="([^"]+)"', text))
    assert {"segment-sizes", "segment-value", "feature-heatmap", "value-0", "value-1"} <= charts
    assert text.count('href="/segments/') >= 5
    assert not EXTERNAL.search(text)  # offline: nothing from the network


def test_segment_url_gives_a_page_to_browsers_and_json_to_clients(client: TestClient, headers: dict[str, str]) -> None:
    page = client.get("/segments/1", headers={**headers, **HTML})
    assert (
        page.status_code == 200 and 'id="persona"' in page.text and 'data-chart="segment-distinguishing"' in page.text
    )
    assert client.get("/segments/1", headers=headers).json()["segment_id"] == 1
    missing = client.get("/segments/42", headers={**headers, **HTML})
    assert missing.status_code == 404 and "no segment 42" in missing.text


def test_lookup_page(client: TestClient, headers: dict[str, str], run_dir: Path) -> None:
    row = pd.read_parquet(run_dir / "segments.parquet").iloc[5]
    page = client.get("/lookup", params={"customer_id": row["customer_id"]}, headers={**headers, **HTML})
    assert page.status_code == 200
    assert f'href="/segments/{row["segment_id"]}"' in page.text and "churn risk" in page.text.lower()
    missing = client.get("/lookup", params={"customer_id": "<b>nobody</b>"}, headers={**headers, **HTML})
    assert missing.status_code == 404 and "&lt;b&gt;nobody&lt;/b&gt;" in missing.text


def test_audience_form_builds_an_audience_and_links_the_exports(client: TestClient, headers: dict[str, str]) -> None:
    form = client.get("/audiences/new?segment_id=2", headers={**headers, **HTML})
    assert form.status_code == 200 and re.search(r'value="2"\s+checked', form.text)
    posted = client.post(
        "/audiences/new",
        data={"description": "at risk hiking fans", "segment_ids": ["0", "2"], "clv_min": "", "top": "25"},
        headers={**headers, **HTML},
        follow_redirects=False,
    )
    assert posted.status_code == 303
    location = posted.headers["location"]
    page = client.get(location, headers={**headers, **HTML})
    assert page.status_code == 200
    audience_id = location.rsplit("/", 1)[1]
    assert f'href="/audiences/{audience_id}.csv"' in page.text and "churn_risk &gt;= 0.5" in page.text
    assert "segment in (0, 2) and churn_risk &gt;= 0.5 and topic = &#34;hiking&#34;" in page.text  # editable conditions
    assert client.get(f"/audiences/{audience_id}.csv", headers=headers).status_code == 200


def test_audience_form_errors_are_shown_on_the_form(client: TestClient, headers: dict[str, str]) -> None:
    posted = client.post(
        "/audiences/new", data={"clv_min": "10", "clv_max": "1"}, headers={**headers, **HTML}, follow_redirects=False
    )
    assert posted.status_code == 422 and 'id="form-errors"' in posted.text and "greater than clv_max" in posted.text
    bad_segment = client.post("/audiences/new", data={"segment_ids": "77"}, headers={**headers, **HTML})
    assert bad_segment.status_code == 422 and "Unknown segment id 77" in bad_segment.text


def test_text_from_data_is_escaped(run_copy: Path, app_factory, headers: dict[str, str]) -> None:
    profiles = json.loads((run_copy / "profiles.json").read_text())
    profiles[0]["name"] = '<script>alert("name")</script>'
    profiles[0]["persona"] = "<img src=x onerror=alert(1)>"
    profiles[0]["keywords"] = {"reviews": [{"term": "</div><script>alert(2)</script>", "score": 1.0}]}
    profiles[0]["playbook"] = [{"action": "<b>act</b>", "why": "<i>why</i>", "evidence": ["<u>e</u>"]}]
    (run_copy / "profiles.json").write_text(json.dumps(profiles))
    client = app_factory(run_copy)
    for path in ("/", "/segments/0", "/audiences/new"):
        text = client.get(path, headers={**headers, **HTML}).text
        assert "<script>alert" not in text and "<img src=x" not in text and "<b>act</b>" not in text, path
    detail = client.get("/segments/0", headers={**headers, **HTML}).text
    assert "&lt;script&gt;alert(&#34;name&#34;)&lt;/script&gt;" in detail and "&lt;img src=x" in detail


def test_plotly_is_served_once_compressed_and_cacheable(client: TestClient) -> None:
    response = client.get("/static/plotly.js", headers={"Accept-Encoding": "gzip"})
    assert response.status_code == 200 and response.headers["content-type"].startswith("application/javascript")
    assert "Plotly" in response.text[:5000] and len(response.content) > 1_000_000
    etag = response.headers["etag"]
    assert client.get("/static/plotly.js", headers={"If-None-Match": etag}).status_code == 304
    raw = client.get("/static/plotly.js", headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in raw.headers and gzip.compress(raw.content)  # plain bytes without gzip
