"""No NaN or infinity reaches a file: absurd amounts are quarantined, whatever else is written as missing."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from shopseg.export.finite import finite_frame, finite_json, write_json
from shopseg.generate import generate_shop, write_shop
from shopseg.runner import run_segmentation


def strict_json(text: str) -> object:
    """Parse JSON the way strict parsers do: NaN, Infinity and -Infinity are errors."""

    def refuse(constant: str) -> None:
        raise ValueError(f"non-finite number in JSON: {constant}")

    return json.loads(text, parse_constant=refuse)


def test_finite_json_turns_every_non_finite_float_into_null(tmp_path: Path) -> None:
    document = {"a": math.inf, "b": [1.5, np.float64("nan"), {"c": -np.inf, "d": np.int64(3)}], "e": "inf"}
    assert finite_json(document) == {"a": None, "b": [1.5, None, {"c": None, "d": 3}], "e": "inf"}
    write_json(tmp_path / "x.json", document)
    assert strict_json((tmp_path / "x.json").read_text())["b"][2]["d"] == 3


def test_finite_frame_blanks_infinities_and_counts_them() -> None:
    frame = pd.DataFrame({"clv": [1.0, np.inf, -np.inf, np.nan], "n": [1, 2, 3, 4], "name": list("abcd")})
    fixed, counts = finite_frame(frame)
    assert counts == {"clv": 2}
    assert fixed["clv"].isna().tolist() == [False, True, True, True]
    assert fixed["n"].tolist() == [1, 2, 3, 4] and fixed["name"].tolist() == list("abcd")
    same, none = finite_frame(frame.drop(columns="clv"))
    assert none == {} and same.equals(frame.drop(columns="clv"))


@pytest.mark.slow
def test_an_amount_of_1e308_is_quarantined_and_no_output_holds_a_non_finite_number(tmp_path: Path) -> None:
    """Issue 17: one line of 1e308 made spend infinite, CLV 1e305 and profiles.json hold Infinity."""
    paths = write_shop(generate_shop(400, seed=5), tmp_path / "shop")
    orders = pd.read_csv(paths["orders"], dtype=str)
    victim = orders.index[10]
    orders.loc[victim, "unit_price"] = "1e308"
    orders.to_csv(paths["orders"], index=False)
    out = tmp_path / "run"
    result = run_segmentation(
        out, orders=paths["orders"], products=paths["products"], use_text=False, recommender=None, stability_refits=0
    )

    quarantine = pd.read_csv(out / "quarantine.csv")
    assert quarantine[["line", "column"]].values.tolist() == [[victim + 2, "unit_price"]]
    assert quarantine["reason"].iloc[0].startswith("absurd amount")
    assert result.record["rows"]["rows_quarantined"] == 1
    assert "non_finite_written" not in result.record
    for path in out.rglob("*.json"):
        strict_json(path.read_text())
    for name in ("segments.parquet", "features.parquet"):
        table = pd.read_parquet(out / name)
        numbers = table.select_dtypes("number").to_numpy(dtype="float64")
        assert not np.isinf(numbers).any(), name
    segments = pd.read_parquet(out / "segments.parquet")
    assert segments["clv"].max() < 1e7  # the victim's customer keeps a plausible value
