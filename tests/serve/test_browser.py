"""End to end in a real browser: Playwright drives the machine's Chromium against a live uvicorn server.

Opens the dashboard with the key once, sees the segment chart drawn by Plotly, opens a
segment, looks up a customer, builds an audience and exports it as CSV. Every request must
stay on the server (the dashboard works offline) and no page may raise a script error.
Screenshots go to ``$SHOPSEG_TEST_ARTIFACTS`` (default: the test's tmp folder).

Skipped, with the reason, when Playwright's Python package or ``/usr/bin/chromium`` is
missing (CI installs Debian's ``chromium`` package; Playwright's own browsers are never
downloaded).
"""

from __future__ import annotations

import csv
import io
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

CHROMIUM = Path(os.environ.get("SHOPSEG_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
API_KEY = "browser-test-key-42"

sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright's Python package is not installed")
uvicorn = pytest.importorskip("uvicorn", reason="uvicorn (the serve extra) is not installed")
if not CHROMIUM.exists():
    pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium)", allow_module_level=True)


@pytest.fixture(scope="module")
def server_url(run_dir: Path) -> Iterator[str]:
    """A live uvicorn server for the run on a free loopback port, in a thread."""
    from shopseg.serve import create_app

    config = uvicorn.Config(
        create_app(run_dir, API_KEY), host="127.0.0.1", port=0, log_level="warning", access_log=False
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    port = server.servers[0].sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def artifacts(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("SHOPSEG_TEST_ARTIFACTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def test_dashboard_end_to_end(server_url: str, run_dir: Path, artifacts: Path) -> None:
    segments = pd.read_parquet(run_dir / "segments.parquet")
    customer = segments.iloc[17]
    off_server: list[str] = []
    script_errors: list[str] = []
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
            page = context.new_page()
            page.set_default_timeout(30_000)
            page.on("request", lambda r: None if r.url.startswith(server_url) else off_server.append(r.url))
            page.on("pageerror", lambda error: script_errors.append(str(error)))
            # A script the Content-Security-Policy blocks (no nonce, eval) is a console error, not a page error.
            page.on(
                "console",
                lambda message: (
                    script_errors.append(message.text) if "Content Security Policy" in message.text else None
                ),
            )

            # Overview: the key once in the address, then the session cookie; the chart is drawn.
            page.goto(f"{server_url}/?key={API_KEY}")
            assert "key=" not in page.url
            page.wait_for_selector('[data-chart="segment-sizes"] svg.main-svg')
            bars = page.locator('[data-chart="segment-sizes"] .barlayer .point')
            assert bars.count() == segments["segment_id"].nunique()
            page.screenshot(path=str(artifacts / "overview.png"), full_page=True)

            # A segment's page, from the overview's table.
            first = page.locator("#segments-table a").first
            name = first.inner_text()
            first.click()
            page.wait_for_selector("#segment-name")
            assert page.inner_text("#segment-name") == name
            page.wait_for_selector('[data-chart="segment-distinguishing"] svg.main-svg')
            page.screenshot(path=str(artifacts / "segment.png"), full_page=True)

            # Customer lookup.
            page.click("text=Customer lookup")
            page.fill("#customer_id", str(customer["customer_id"]))
            page.click("button[type=submit]")
            page.wait_for_selector("#lookup-result")
            assert customer["segment_name"] in page.inner_text("#customer-segment")
            page.screenshot(path=str(artifacts / "lookup.png"), full_page=True)

            # Audience builder -> result -> CSV export.
            page.click("text=Audience builder")
            page.fill("#description", "high value customers who love hiking")
            page.fill("#top", "100")
            page.click("#build-audience")
            page.wait_for_selector("#audience-size")
            size = int(page.inner_text("#audience-size").replace(",", ""))
            assert 0 < size <= 100
            assert "top 20%" in page.inner_text("#understood")
            assert page.inner_text("#where") == 'clv >= p80 and topic = "hiking"'
            page.screenshot(path=str(artifacts / "audience.png"), full_page=True)
            with page.expect_download() as download_info:
                page.click("#export-csv")
            download = download_info.value
            target = artifacts / download.suggested_filename
            download.save_as(str(target))
            rows = list(csv.DictReader(io.StringIO(target.read_text(encoding="utf-8"))))
            assert len(rows) == size and {"customer_id", "segment_name", "clv", "topic_score"} <= set(rows[0])
        finally:
            browser.close()
    assert not off_server, f"the dashboard requested resources off the server: {off_server[:3]}"
    assert not script_errors, f"script errors in the pages: {script_errors[:3]}"
