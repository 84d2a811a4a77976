"""The HTML report: self-contained, offline, every chart with data, data-derived text escaped."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from shopseg.generate import generate_shop, write_shop
from shopseg.report import build_report
from shopseg.runner import run_segmentation


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("report")
    paths = write_shop(generate_shop(800, seed=4), folder / "shop")
    run_segmentation(
        folder / "run",
        orders=paths["orders"],
        products=paths["products"],
        reviews=paths["reviews"],
        min_segment_size=20,
    )
    return folder / "run"


def test_report_is_written_with_the_run_and_needs_no_network(run_dir: Path) -> None:
    page = (run_dir / "report.html").read_text()
    assert page.startswith("<!DOCTYPE html>")
    head, _, rest = page.partition("</script>")  # the first script is the inlined Plotly library
    assert "<script>" in head and "Plotly" in head and len(head) > 1_000_000
    # No external resource outside the library's own source: nothing loaded from the network.
    assert not re.findall(r"""<(?:script|link|img|iframe)[^>]+(?:src|href)\s*=\s*["']?(?:https?:)?//""", rest)
    assert not re.findall(r"""<(?:script|link|img|iframe)[^>]+(?:src|href)\s*=\s*["']?(?:https?:)?//""", head[:2000])


def test_every_chart_has_data(run_dir: Path) -> None:
    page = (run_dir / "report.html").read_text()
    charts = re.findall(r'data-chart="([^"]+)"', page)
    assert {"segment-sizes", "segment-value", "feature-heatmap", "value-0", "value-1", "model-selection"} <= set(charts)
    assert {"clv-intervals", "value-tracking", "value-matrix-0", "value-matrix-1"} <= set(charts)
    # Each Plotly.newPlot call carries a non-empty data array with x or z values.
    calls = re.findall(r"Plotly\.newPlot\(\s*\"([^\"]+)\",\s*(\[.*?\]),\s*\{", page, flags=re.S)
    assert {name for name, _ in calls} >= set(charts) - {"stability"}
    for name, data in calls:
        traces = json.loads(data)
        assert traces and any(len(t.get("x") or t.get("z") or []) > 0 for t in traces), name


def test_value_tables_say_what_they_were_fitted_on_in_weeks(run_dir: Path) -> None:
    page = (run_dir / "report.html").read_text()
    value = json.loads((run_dir / "value.json").read_text())
    record = json.loads((run_dir / "run.json").read_text())
    assert record["value"]["file"] == "value.json" and record["value"]["model"] == value["transaction_model"]["model"]
    assert (run_dir / "holdout.csv").exists() and record["value"]["holdout_file"] == "holdout.csv"
    assert "Transaction models compared" in page and "Calibration fit (checked on the holdout)" in page
    weeks = value["transaction_model"]["fitted_on"]["weeks"]
    assert f"({weeks} weeks)" in page and "time parameters in weeks" in page


def test_text_from_data_is_escaped(run_dir: Path, tmp_path: Path) -> None:
    profiles = json.loads((run_dir / "profiles.json").read_text())
    profiles[0]["name"] = '<script>alert("x")</script>'
    profiles[0]["persona"] = "<img src=x onerror=alert(1)>"
    copy = tmp_path / "run"
    copy.mkdir()
    for name in ("run.json", "segments.parquet", "features.parquet"):
        (copy / name).write_bytes((run_dir / name).read_bytes())
    (copy / "profiles.json").write_text(json.dumps(profiles))
    page = build_report(copy).read_text()
    assert '<script>alert("x")</script>' not in page and "<img src=x" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page
