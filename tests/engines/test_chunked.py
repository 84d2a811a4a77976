"""``segment --engine chunked``: DuckDB splits the files, the local pipeline fits a sample, chunks are placed."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from shopseg import schema as s
from shopseg.cli.app import app
from shopseg.engines.chunked.partition import partition_shop
from shopseg.engines.chunked.segment import segment_in_chunks
from shopseg.errors import InputError
from shopseg.generate import generate_shop, write_shop
from shopseg.ingest import load_shop
from shopseg.runner import run_segmentation

FAST = {"value": False, "stability_refits": 0, "use_text": False, "recommender": None}


def _inputs(paths: dict[str, Path]) -> dict[str, Path]:
    return {name: paths[name] for name in ("orders", "products", "reviews")}


def _with_bad_rows(path: Path) -> None:
    """Append a zero quantity, a future date, a guest line and an exact duplicate to an orders file."""
    reader = pd.read_parquet if path.suffix == ".parquet" else lambda p: pd.read_csv(p, dtype=str)
    orders = reader(path)
    zero = orders.iloc[[0]].assign(quantity=0)
    future = orders.iloc[[1]].assign(ts=pd.Timestamp("2200-01-01") if path.suffix == ".parquet" else "2200-01-01")
    guest = orders.iloc[[2]].assign(customer_id=None)
    both = pd.concat([orders, zero, future, guest, orders.iloc[[3]]], ignore_index=True)
    if path.suffix == ".parquet":
        both.to_parquet(path)
    else:
        both.to_csv(path, index=False)


def test_chunks_hold_every_row_of_a_customer_and_count_guests(tmp_path) -> None:
    paths = write_shop(generate_shop(400, seed=31), tmp_path / "shop", file_format="parquet")
    _with_bad_rows(paths["orders"])
    parts = partition_shop(_inputs(paths), tmp_path / "parts", chunk=100, seed=5)

    assert parts.buckets == 4 and parts.customers == 400
    assert parts.counts["orders"]["guests"] == 1
    owners: dict[str, int] = {}
    lines = 0
    for bucket in range(parts.buckets):
        chunk = pd.read_parquet(parts.chunk_file("orders", bucket))
        lines += len(chunk)
        for customer in chunk[s.CUSTOMER_ID].unique():
            assert owners.setdefault(customer, bucket) == bucket  # a customer lives in one chunk
    assert lines == parts.counts["orders"]["rows_read"] - 1  # all but the guest
    assert min(pd.Series(owners).value_counts()) >= 50 and max(pd.Series(owners).value_counts()) <= 150


def test_chunked_run_equals_the_local_run_when_the_sample_is_the_shop(tmp_path) -> None:
    paths = write_shop(generate_shop(500, seed=32), tmp_path / "shop", file_format="parquet")
    _with_bad_rows(paths["orders"])
    run_segmentation(tmp_path / "local", **_inputs(paths), k=4, **FAST)
    args = ["segment", "--k", "4", "--no-value", "--no-text", "--no-recommend", "--stability-refits", "0"]
    for name, path in _inputs(paths).items():
        args += [f"--{name}", str(path)]
    result = CliRunner().invoke(app, [*args, "--engine", "chunked", "--chunk", "150", "--out", str(tmp_path / "ck")])
    assert result.exit_code == 0, result.output

    local = pd.read_parquet(tmp_path / "local" / "segments.parquet").set_index("customer_id")
    chunked = pd.read_parquet(tmp_path / "ck" / "segments.parquet").set_index("customer_id")
    assert chunked.index.equals(local.index)
    pd.testing.assert_frame_equal(chunked, local)  # same features, segments and names, to the bit
    everybody = pd.read_parquet(tmp_path / "ck" / "all_segments.parquet").set_index("customer_id")
    assert (everybody["segment_id"].reindex(local.index) == local["segment_id"]).all()
    records = [json.loads((tmp_path / run / "run.json").read_text()) for run in ("local", "ck")]
    assert records[0]["rows"] == records[1]["rows"]  # read, kept, quarantined, duplicates, guests
    by_role = [{f["role"]: f for f in r["inputs"]} for r in records]
    for role in ("orders", "reviews", "products"):
        for count in ("rows_read", "kept", "quarantined", "duplicates", "guests"):
            assert by_role[0][role][count] == by_role[1][role][count], (role, count)
    quarantine = [pd.read_csv(tmp_path / run / "quarantine.csv") for run in ("local", "ck")]
    columns = ["file", "line", "column", "reason"]  # rejected rows named by the user's file and line
    pd.testing.assert_frame_equal(
        quarantine[1][columns].sort_values("line", ignore_index=True),
        quarantine[0][columns].sort_values("line", ignore_index=True),
    )
    assert sorted(quarantine[1]["reason"]) == ["date in the future", "zero quantity"]
    engine = records[1]["engine"]
    assert engine["chunks"] == 4 and engine["customers"] == engine["fitted_on"] == engine["placed"] == 500
    assert "Chunked: fitted on 500 of 500 customers" in " ".join(result.output.split())


def test_chunked_reads_columns_renamed_by_map_as_the_local_engine_does(tmp_path) -> None:
    paths = write_shop(generate_shop(300, seed=38), tmp_path / "shop")
    orders = pd.read_csv(paths["orders"], dtype=str).rename(
        columns={"customer_id": "Client", "ts": "InvoiceDate", "amount": "Total"}
    )
    orders["amount"] = "not a number"  # a column of the canonical name gives way to the mapped one
    orders.to_csv(tmp_path / "orders.csv", index=False)
    mapping = "customer_id=Client,ts=InvoiceDate,amount=Total"
    args = ["segment", "--orders", str(tmp_path / "orders.csv"), "--products", str(paths["products"]), "--map", mapping]
    args += ["--k", "3", "--no-value", "--no-text", "--no-recommend", "--stability-refits", "0"]
    for engine, extra in (("local", []), ("chunked", ["--chunk", "100"])):
        result = CliRunner().invoke(app, [*args, "--engine", engine, *extra, "--out", str(tmp_path / engine)])
        assert result.exit_code == 0, result.output
    local, chunked = (pd.read_parquet(tmp_path / run / "segments.parquet") for run in ("local", "chunked"))
    pd.testing.assert_frame_equal(chunked.set_index("customer_id"), local.set_index("customer_id"))

    wrong = [*args[:6], "customer_id=Kunde", "--engine", "chunked", "--out", str(tmp_path / "x")]
    wrong = CliRunner().invoke(app, wrong)
    assert isinstance(wrong.exception, InputError)  # the console entry point prints it and exits 2
    assert "Kunde" in str(wrong.exception) and "orders.csv" in str(wrong.exception)


def test_chunked_run_fits_a_seeded_sample_and_places_everybody(tmp_path) -> None:
    paths = write_shop(generate_shop(900, seed=33), tmp_path / "shop")  # CSV, read by DuckDB as text
    _with_bad_rows(paths["orders"])
    options = {**_inputs(paths), "k": 3, "min_segment_size": 20, **FAST}
    runs = [segment_in_chunks(tmp_path / f"run{i}", fit_sample=300, chunk=300, **options) for i in (1, 2)]

    engine = runs[0].record["engine"]
    customers = set(load_shop(paths["orders"]).customer_ids())
    assert engine["customers"] == engine["placed"] == len(customers) == 900
    assert 150 <= engine["fitted_on"] <= 450 and engine["fitted_chunks"] == 1
    assert engine["agreement_with_fit"] >= 0.98
    everybody = [pd.read_parquet(r.out_dir / "all_segments.parquet") for r in runs]
    assert set(everybody[0][s.CUSTOMER_ID]) == customers and everybody[0][s.CUSTOMER_ID].is_unique
    assert sum(engine["segment_sizes"].values()) == 900
    pd.testing.assert_frame_equal(  # same input and seed, same segments
        everybody[0].sort_values(s.CUSTOMER_ID, ignore_index=True),
        everybody[1].sort_values(s.CUSTOMER_ID, ignore_index=True),
    )
    quarantine = pd.read_csv(runs[0].out_dir / "quarantine.csv")  # every chunk's rejects, CSV lines
    assert sorted(quarantine["reason"]) == ["date in the future", "zero quantity"]
    lines = pd.read_csv(paths["orders"], dtype=str)
    assert set(quarantine["line"]) == {len(lines) - 2, len(lines) - 1}  # header is line 1: data row i is line i + 1
    assert runs[0].record["rows"]["guest_rows"] == 1 and runs[0].record["rows"]["duplicates_dropped"] >= 1


def test_chunked_pseudonymises_every_chunk_alike(tmp_path) -> None:
    paths = write_shop(generate_shop(300, seed=34), tmp_path / "shop", file_format="parquet")
    result = segment_in_chunks(
        tmp_path / "run", fit_sample=100, chunk=100, pseudonymise_key="secret", **_inputs(paths), k=3, **FAST
    )
    fitted = pd.read_parquet(result.out_dir / "segments.parquet").set_index("customer_id")
    everybody = pd.read_parquet(result.out_dir / "all_segments.parquet").set_index("customer_id")
    raw = set(pd.read_parquet(paths["orders"])[s.CUSTOMER_ID].astype(str))
    assert not raw & set(everybody.index)  # no raw id written
    assert set(fitted.index) <= set(everybody.index)  # the fitted sample's pseudonyms are the placed ones
    assert np.mean(everybody["segment_id"].reindex(fitted.index) == fitted["segment_id"]) >= 0.98


def test_chunked_scores_the_value_of_everybody_with_the_fitted_models(tmp_path) -> None:
    paths = write_shop(generate_shop(900, seed=35), tmp_path / "shop", file_format="parquet")
    options = {**_inputs(paths), "k": 3, "stability_refits": 0, "use_text": False, "recommender": None}
    result = segment_in_chunks(tmp_path / "run", fit_sample=300, chunk=300, **options)

    fitted = pd.read_parquet(result.out_dir / "segments.parquet").set_index("customer_id")
    everybody = pd.read_parquet(result.out_dir / "all_segments.parquet").set_index("customer_id")
    assert len(everybody) == 900 and len(fitted) < 900
    columns = ["clv", "clv_p95", "p_alive", "expected_orders_365d", "churn_risk", "high_value_prob"]
    assert everybody[columns].notna().all().all()
    columns.append("next_order_date_estimate")  # empty where no order is expected within the horizon
    # the fitted customers, placed again chunk by chunk, keep exactly the values of the fit
    pd.testing.assert_frame_equal(everybody.loc[fitted.index, columns], fitted[columns], check_dtype=False)
    others = everybody.drop(fitted.index)
    assert others["p_alive"].between(0, 1).all() and (others["clv"] >= 0).all()
    assert others["churn_risk"].std() > 0.05  # scored per customer, not a constant


def test_chunked_recommends_unbought_products_to_everybody_from_the_samples_factors(tmp_path) -> None:
    shop = generate_shop(900, seed=36)
    paths = write_shop(shop, tmp_path / "shop", file_format="parquet")
    options = {**_inputs(paths), "k": 3, "stability_refits": 0, "use_text": False, "value": False, "recommend_n": 5}
    result = segment_in_chunks(tmp_path / "run", fit_sample=300, chunk=300, **options)

    recommended = pd.read_parquet(result.out_dir / "all_recommendations.parquet")
    fitted = set(pd.read_parquet(result.out_dir / "segments.parquet")[s.CUSTOMER_ID])
    orders = shop.orders
    purchases = orders[orders["quantity"] > 0]
    known = set(purchases.loc[purchases[s.CUSTOMER_ID].isin(fitted), s.PRODUCT_ID])  # products with factors
    buyers = set(purchases.loc[purchases[s.PRODUCT_ID].isin(known), s.CUSTOMER_ID])
    assert set(recommended[s.CUSTOMER_ID]) == buyers and len(buyers) > 2 * len(fitted)
    assert set(recommended[s.PRODUCT_ID]) <= known
    assert (recommended.groupby(s.CUSTOMER_ID).size() == 5).all()
    bought = set(zip(orders[s.CUSTOMER_ID], orders[s.PRODUCT_ID], strict=True))
    assert not any(pair in bought for pair in zip(recommended[s.CUSTOMER_ID], recommended[s.PRODUCT_ID], strict=True))
    engine = json.loads((result.out_dir / "run.json").read_text())["engine"]
    assert engine["recommend"]["customers"] == len(buyers) and engine["recommend"]["rows"] == len(recommended)
    assert engine["recommend"]["output"] == "all_recommendations.parquet"


def test_chunked_says_which_file_lacks_customer_ids(tmp_path) -> None:
    orders = tmp_path / "orders.csv"
    orders.write_text("client,order,ts,amount\nA,1,2024-01-01,10\n")
    with pytest.raises(InputError) as caught:
        segment_in_chunks(tmp_path / "run", orders=orders)
    message = str(caught.value)  # the CLI prints it as "Error: ..." and exits 2, no traceback
    assert "orders.csv" in message and "customer_id" in message and "--map" in message
    assert not (tmp_path / "run").exists() and not list(tmp_path.glob(".run-chunks-*"))  # work folder removed


def test_chunked_builds_the_catalogue_from_order_lines_as_the_loader_does(tmp_path) -> None:
    paths = write_shop(generate_shop(400, seed=36), tmp_path / "shop", file_format="parquet")
    orders = pd.read_parquet(paths["orders"])
    orders["description"] = "Item " + orders["product_id"].astype(str)  # a shop without a catalogue
    orders.loc[orders.index[::7], "description"] = "a rarer wording"  # the usual description must still win
    orders.to_parquet(paths["orders"])
    options = {"orders": paths["orders"], "k": 3, **FAST}
    local = run_segmentation(tmp_path / "local", **options)
    chunked = segment_in_chunks(tmp_path / "ck", fit_sample=1000, chunk=150, **options)

    pd.testing.assert_frame_equal(chunked.shop.products, local.shop.products, check_dtype=False)
    assert (chunked.shop.products["title"] == "a rarer wording").mean() < 0.5  # the usual wording wins mostly
    pd.testing.assert_frame_equal(
        pd.read_parquet(tmp_path / "ck" / "segments.parquet"), pd.read_parquet(tmp_path / "local" / "segments.parquet")
    )
