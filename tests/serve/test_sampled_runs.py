"""Serving a run fitted on a sample (``--engine chunked``): everybody can be looked up, not only the sample."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

pytest.importorskip("implicit")

from shopseg import schema as s
from shopseg.engines.chunked.segment import segment_in_chunks
from shopseg.generate import generate_shop, write_shop


@pytest.fixture(scope="module")
def sampled_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("sampled")
    paths = write_shop(generate_shop(900, seed=37), folder / "shop", file_format="parquet")
    inputs = {name: paths[name] for name in ("orders", "products", "reviews")}
    options = {**inputs, "k": 3, "stability_refits": 0, "use_text": False, "recommend_n": 4}
    return segment_in_chunks(folder / "run", fit_sample=300, chunk=300, **options).out_dir


def test_a_customer_outside_the_sample_is_served_from_the_files_of_everybody(
    sampled_run: Path, app_factory, headers: dict[str, str]
) -> None:
    client = app_factory(sampled_run)
    fitted = set(pd.read_parquet(sampled_run / "segments.parquet")[s.CUSTOMER_ID])
    everybody = pd.read_parquet(sampled_run / "all_segments.parquet").set_index(s.CUSTOMER_ID)
    recommended = pd.read_parquet(sampled_run / "all_recommendations.parquet")
    outside = next(c for c in recommended[s.CUSTOMER_ID] if c not in fitted)

    body = client.get(f"/customers/{outside}", headers=headers).json()
    assert body[s.SEGMENT_ID] == everybody.loc[outside, s.SEGMENT_ID]
    assert body[s.SEGMENT_NAME] == everybody.loc[outside, s.SEGMENT_NAME]
    assert body["scores"]["p_alive"] == pytest.approx(everybody.loc[outside, "p_alive"])
    expected = recommended[recommended[s.CUSTOMER_ID] == outside].sort_values("rank")
    assert [r[s.PRODUCT_ID] for r in body["recommendations"]] == expected[s.PRODUCT_ID].tolist()
    assert [r["rank"] for r in body["recommendations"]] == [1, 2, 3, 4] and body["recommendations"][0][s.TITLE]

    inside = sorted(fitted)[0]
    assert client.get(f"/customers/{inside}", headers=headers).json()["features"]  # the sample keeps its features
    assert client.get("/customers/NOBODY", headers=headers).status_code == 404
