"""The ``shopseg`` command line: help, flag errors, mapping, and output folders that fail safely.

Most cases call the console entry point in-process (``shopseg.cli.app.run``, exactly what the
``shopseg`` script runs); two go through a real subprocess.
"""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

import shopseg.runner

BAD = Path(__file__).parent / "data" / "bad"

GOOD_ORDERS = """customer_id,order_id,ts,product_id,quantity,unit_price
C1,O1,2024-01-05 10:00:00,P1,1,20.00
C1,O2,2024-02-10 19:30:00,P2,2,5.00
C2,O3,2024-01-20 08:15:00,P3,1,50.00
C2,O4,2024-03-01 12:00:00,P1,3,20.00
C3,O5,2024-02-14 21:45:00,P2,1,5.00
C4,O6,2024-03-10 09:00:00,P4,4,12.50
C4,O7,2024-03-28 17:20:00,P3,1,50.00
C5,O8,2024-04-02 11:11:00,P1,1,20.00
C5,O9,2024-04-15 14:00:00,P4,2,12.50
C6,O10,2024-04-30 16:45:00,P2,6,5.00
"""

Cli = Callable[..., tuple[int, str, str]]


@pytest.fixture
def good_orders(tmp_path: Path) -> Path:
    path = tmp_path / "orders.csv"
    path.write_text(GOOD_ORDERS)
    return path


def subprocess_cli(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, "-m", "shopseg", *map(str, args)], capture_output=True, text=True, timeout=180, cwd=cwd
    )
    assert "Traceback" not in result.stdout + result.stderr
    return result


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` (relative path -> bytes)."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


# -- help ---------------------------------------------------------------------------------


def test_help_in_a_real_process(tmp_path: Path) -> None:
    result = subprocess_cli("--help", cwd=tmp_path)
    assert result.returncode == 0
    for command in ("segment", "validate", "generate", "demo"):
        assert command in result.stdout


def test_segment_help_lists_the_options(cli: Cli) -> None:
    code, out, _ = cli("segment", "--help")
    assert code == 0
    for option in ("--orders", "--customers", "--format", "--map", "--date-format", "--k", "--seed", "--out"):
        assert option in out
    assert "map.orders" in out  # the config help is not eaten as markup


# -- flag errors: exit 2, one clear message, nothing created ------------------------------


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (("--k", "0"), "--k must be a whole number of segments of at least 2, got 0"),
        (("--k", "1"), "--k must be a whole number of segments of at least 2, got 1: one segment is everybody."),
        (("--k", "abc"), "--k must be 'auto' or a whole number, got 'abc'."),
        (("--format", "shopify-ish"), "Unknown format 'shopify-ish'. Known formats: cdnow, online-retail"),
        (("--map", "customer_id"), "--map expects CANONICAL=COLUMN pairs"),
        (("--map", "colour=Farbe"), "--map: 'colour' is not a canonical column"),
    ],
)
def test_bad_flag_exits_2_before_anything_is_written(
    cli: Cli, good_orders: Path, tmp_path: Path, flags: tuple[str, ...], message: str
) -> None:
    out = tmp_path / "out"
    code, _, err = cli("segment", "--orders", good_orders, "--out", out, *flags)
    assert code == 2
    assert err.startswith(f"Error: {message}")
    assert not out.exists()


def test_usage_error_exits_2_not_internal_error(cli: Cli, good_orders: Path, tmp_path: Path) -> None:
    code, _, err = cli("segment", "--orders", good_orders, "--seed", "abc", "--out", tmp_path / "out")
    assert code == 2
    assert "Invalid value for '--seed'" in err and "Internal error" not in err
    code, _, err = cli("segment", "--no-such-option")
    assert code == 2
    assert "No such option: --no-such-option" in err


# -- inputs that cannot be segmented: exit 2, one message naming the file and what to do ------


def test_a_file_that_is_not_orders_exits_2(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "groups.csv"
    path.write_text("customer_id,group\nC1,a\nC2,b\nC3,a\nC4,b\nC5,a\nC6,b\n")
    for command in ("segment", "value"):
        out = tmp_path / f"out-{command}"
        code, stdout, err = cli(command, "--orders", path, "--out", out)
        assert code == 2, stdout
        message = err.removeprefix("Error: ")
        assert message.startswith(f"{path}: this is not an orders file: 6 rows with the columns customer_id, group")
        assert "order_id, ts and amount" in message and "--map" in message
        assert not out.exists() or not any(out.iterdir())


def test_a_customer_table_given_as_orders_is_refused_by_value_only(cli: Cli, tmp_path: Path) -> None:
    """A customer table with numbers is a valid input to segment, but has no order lines for value."""
    path = Path(__file__).parent / "data" / "formats" / "customer_table.csv"
    code, _, err = cli("value", "--orders", path, "--out", tmp_path / "value")
    assert code == 2
    assert err.startswith(f"Error: {path}: no order lines found: 40 rows with the columns customer_id, age")


def test_a_file_whose_rows_are_all_quarantined_exits_2(cli: Cli, tmp_path: Path) -> None:
    path = BAD / "all_rows_quarantined.csv"
    for command in ("segment", "value"):
        code, _, err = cli(command, "--orders", path, "--out", tmp_path / f"out-{command}")
        assert code == 2
        assert err.startswith(f"Error: {path}: no customer is left to segment")
        assert "negative price" in err


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        ((), "only 6 customers to segment; --k 4 needs at least 8 (2 per segment)."),
        (("--k", "auto"), None),
    ],
)
def test_fewer_than_two_customers_per_segment_exits_2(
    cli: Cli, good_orders: Path, tmp_path: Path, flags: tuple[str, ...], message: str | None
) -> None:
    out = tmp_path / "out"
    code, stdout, err = cli("segment", "--orders", good_orders, "--out", out, "--k", "4", *flags, "--no-text")
    if message is None:  # auto: 6 customers allow k = 2 or 3, never more
        assert code == 0, err
        record = json.loads((out / "run.json").read_text())
        assert 2 <= record["model"]["k_chosen"] <= 3
        return
    assert code == 2, stdout
    assert err.startswith(f"Error: {good_orders}: {message}")
    assert "smaller --k" in err
    assert not out.exists() or not any(out.iterdir())


def test_no_input_exits_2(cli: Cli, tmp_path: Path) -> None:
    code, _, err = cli("segment", "--out", tmp_path / "out")
    assert code == 2
    assert "No input given: pass --orders PATH" in err


# -- a mapping onto a custom-column file, end to end ---------------------------------------


def test_map_custom_columns_end_to_end(tmp_path: Path) -> None:
    path = tmp_path / "bestellungen.csv"
    path.write_text(
        "Kunde;Bestellung;Datum;Artikel;Menge;Einzelpreis\n"
        "K1;B1;05.01.2024;A1;1;19,90\n"
        "K1;B2;10.02.2024;A2;2;5,00\n"
        "K2;B3;20.01.2024;A3;1;49,00\n"
        "K3;B4;14.02.2024;A2;1;5,00\n"
        "K4;B5;10.03.2024;A4;4;12,50\n"
        "K4;B6;28.03.2024;A3;1;-49,00\n"
        ";B7;29.03.2024;A1;1;19,90\n"
    )
    mapping = "customer_id=Kunde,order_id=Bestellung,ts=Datum,product_id=Artikel,quantity=Menge,unit_price=Einzelpreis"
    out = tmp_path / "out"
    result = subprocess_cli(
        "segment", "--orders", path, "--map", mapping, "--k", "2", "--min-segment-size", "1", "--out", out, cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    record = json.loads((out / "run.json").read_text())
    assert record["rows"] == {
        "rows_read": 7,
        "rows_kept": 5,
        "rows_quarantined": 1,
        "duplicates_dropped": 0,
        "guest_rows": 1,
    }
    assert record["config"]["mapping"]["orders"]["customer_id"] == "Kunde"
    assert record["model"]["k_chosen"] == 2
    with (out / "segments.csv").open(newline="") as handle:
        assert sorted(row["customer_id"] for row in csv.DictReader(handle)) == ["K1", "K2", "K3", "K4"]
    with (out / "quarantine.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [(r["line"], r["column"], r["reason"]) for r in rows] == [("7", "unit_price", "negative price")]


def test_map_names_a_column_the_file_lacks(cli: Cli, good_orders: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    code, _, err = cli("segment", "--orders", good_orders, "--map", "ts=Datum", "--out", out)
    assert code == 2
    assert "the mapping names column 'Datum', which the file does not have" in err
    assert not out.exists() or snapshot(out) == {}


# -- output folders -----------------------------------------------------------------------


def test_output_folder_under_a_regular_file(cli: Cli, good_orders: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "results"
    blocker.write_text("not a folder\n")
    before = snapshot(tmp_path)
    out = blocker / "run1"
    code, _, err = cli("segment", "--orders", good_orders, "--out", out)
    assert code == 2
    assert err.startswith(f"Error: Output folder {out} cannot be created: {blocker} is a file.")
    assert "Choose another with --out" in err
    assert snapshot(tmp_path) == before  # nothing written anywhere
    assert sorted(p.name for p in tmp_path.iterdir()) == ["orders.csv", "results"]


def test_output_folder_is_a_regular_file(cli: Cli, good_orders: Path, tmp_path: Path) -> None:
    out = tmp_path / "results"
    out.write_text("not a folder\n")
    code, _, err = cli("segment", "--orders", good_orders, "--out", out)
    assert code == 2
    assert f"Output folder {out} is a file, not a folder." in err
    assert out.read_text() == "not a folder\n"


def test_failed_runs_leave_earlier_outputs_complete_and_unchanged(
    cli: Cli, good_orders: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "out"
    code, _, err = cli("segment", "--orders", good_orders, "--out", out)
    assert code == 0, err
    first = snapshot(out)
    expected = {"segments.parquet", "segments.csv", "features.parquet", "profiles.json", "quarantine.csv", "run.json"}
    assert expected | {"shopseg.duckdb", "model/model.json"} <= set(first)

    # A bad input stops the run before anything is written.
    for bad in ("broken_quotes.csv", "binary.bin", "all_rows_quarantined.csv"):
        code, _, err = cli("segment", "--orders", BAD / bad, "--out", out)
        assert code == 2
        assert err.startswith(f"Error: {BAD / bad}")
        assert snapshot(out) == first

    # A failure half-way through writing (disk full) leaves the old outputs as they were.
    def write_half(folder: Path, *args: object) -> None:
        (folder / "segments.csv").write_text("half")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(shopseg.runner, "write_outputs", write_half)
    code, _, err = cli("segment", "--orders", good_orders, "--out", out)
    assert code == 2
    assert f"Could not write outputs to {out} (No space left on device)" in err
    assert snapshot(out) == first
    assert sorted(p.name for p in tmp_path.iterdir()) == ["orders.csv", "out"]  # no temporary folder left


# -- config file ----------------------------------------------------------------------------


def test_config_file_names_inputs_mapping_date_format_k_and_seed(cli: Cli, tmp_path: Path) -> None:
    data = tmp_path / "exports"
    data.mkdir()
    (data / "orders.csv").write_text(
        "Client,Ref,When,Total\nk1,r1,03/01/2024,19.90\nk1,r2,04/02/2024,5.00\nk2,r3,05/01/2024,7.50\n"
        "k3,r4,06/01/2024,12.00\nk4,r5,07/03/2024,3.00\n"
    )
    config = tmp_path / "shopseg.toml"
    config.write_text(
        'orders = "exports/orders.csv"\ndate_format = "%d/%m/%Y"\nk = 2\nseed = 5\n\n'
        '[map.orders]\ncustomer_id = "Client"\norder_id = "Ref"\nts = "When"\namount = "Total"\n'
    )
    out = tmp_path / "out"
    code, _, err = cli("segment", "--config", config, "--out", out)
    assert code == 0, err
    record = json.loads((out / "run.json").read_text())
    assert record["model"]["k_chosen"] == 2 and record["seed"] == 5
    assert record["config"]["date_format"] == "%d/%m/%Y"
    assert record["rows"]["rows_kept"] == 5
    # Day-first as the config says: 04/02/2024 is the 4th of February.
    assert record["reference_ts"].startswith("2024-03-08")


def test_config_file_with_an_unknown_setting_exits_2(cli: Cli, tmp_path: Path) -> None:
    config = tmp_path / "shopseg.toml"
    config.write_text('orders = "o.csv"\nclusters = 4\n')
    code, _, err = cli("segment", "--config", config, "--out", tmp_path / "out")
    assert code == 2 and "unknown setting 'clusters'" in err


def test_assign_places_new_customers_with_a_saved_run(cli: Cli, tmp_path: Path) -> None:
    from shopseg.generate import generate_shop, write_shop

    paths = write_shop(generate_shop(400, seed=5), tmp_path / "shop")
    run = tmp_path / "run"
    code, _, err = cli("segment", "--orders", paths["orders"], "--k", "3", "--no-value", "--out", run)
    assert code == 0, err
    out = tmp_path / "assigned"
    code, stdout, err = cli("assign", "--model", run, "--orders", paths["orders"], "--out", out)
    assert code == 0, err
    assigned = pd.read_parquet(out / "assignments.parquet").set_index("customer_id")["segment_id"]
    fitted = pd.read_parquet(run / "segments.parquet").set_index("customer_id")["segment_id"]
    # The same customers assigned from the saved model land where the fit put them.
    assert (assigned.loc[fitted.index] == fitted).mean() == 1.0
    assert "customers assigned" in stdout


def test_generate_parquet_then_segment_it(cli: Cli, tmp_path: Path) -> None:
    shop = tmp_path / "shop"
    code, stdout, err = cli("generate", "--customers", "300", "--format", "parquet", "--chunk", "120", "--out", shop)
    assert code == 0, err
    assert "300 customers generated" in stdout
    assert pd.read_parquet(shop / "customers.parquet")["customer_id"].is_unique
    run = tmp_path / "run"
    code, _, err = cli(
        "segment", "--orders", shop / "orders.parquet", "--reviews", shop / "reviews.parquet",
        "--k", "3", "--no-value", "--no-text", "--no-recommend", "--out", run,
    )  # fmt: skip
    assert code == 0, err
    assert len(pd.read_parquet(run / "segments.parquet")) == 300


def test_generate_with_an_unknown_format_exits_2(cli: Cli, tmp_path: Path) -> None:
    code, _, err = cli("generate", "--customers", "10", "--format", "xlsx", "--out", tmp_path / "shop")
    assert code == 2
    assert "--format must be one of csv, parquet" in err
    assert not (tmp_path / "shop").exists()


def test_segment_shows_the_choice_of_k_and_every_merge(cli: Cli, tmp_path: Path) -> None:
    from shopseg.generate import generate_shop, write_shop

    paths = write_shop(generate_shop(600, seed=4), tmp_path / "shop")
    run = tmp_path / "run"
    code, stdout, err = cli(
        "segment", "--orders", paths["orders"], "--no-text", "--no-recommend", "--no-value",
        "--stability-refits", "0", "--min-segment-size", "60", "--out", run,
    )  # fmt: skip
    assert code == 0, err
    model = json.loads((run / "run.json").read_text())["model"]
    # Every candidate k with its scores, exactly one chosen: the k the clusterer kept.
    assert [c["k"] for c in model["candidates"]] == list(range(3, 11))
    assert [c["k"] for c in model["candidates"] if c["chosen"]] == [model["k_chosen"]]
    assert all(c["silhouette"] is not None and c["silhouette_se"] > 0 for c in model["candidates"])
    assert "one standard error" in model["selection"] and model["why"].startswith(f"k = {model['k_chosen']}:")
    assert "Choosing k" in stdout and "← chosen" in stdout and "Why:" in stdout
    # A merge under --min-segment-size is on screen and in run.json, with its size and reason.
    assert model["merges"], "expected a segment under 60 customers on this shop"
    for merge in model["merges"]:
        assert merge["size"] < 60 and "--min-segment-size 60" in merge["reason"] and merge["into_name"]
    flat = " ".join(stdout.split())
    assert flat.count("Merged: found segment") == len(model["merges"])
    assert model["segments_published"] == model["k_chosen"] - len(model["merges"])
    assert f"{model['k_chosen']} segments found, {model['segments_published']} published" in flat


def test_segment_with_a_fixed_k_says_so(cli: Cli, good_orders: Path, tmp_path: Path) -> None:
    code, stdout, err = cli("segment", "--orders", good_orders, "--k", "2", "--no-value", "--out", tmp_path / "run")
    assert code == 0, err
    model = json.loads((tmp_path / "run" / "run.json").read_text())["model"]
    assert model["candidates"] == [] and model["why"] == "k = 2: fixed by --k 2."
    assert "Choosing k" not in stdout and "fixed by --k 2" in stdout


@pytest.mark.slow
def test_demo_prints_its_agreement_with_the_planted_segments(cli: Cli, tmp_path: Path) -> None:
    from sklearn.metrics import adjusted_rand_score

    out = tmp_path / "demo"
    code, stdout, err = cli("demo", "--customers", "300", "--seed", "1", "--out", out)
    assert code == 0, err
    segments = pd.read_parquet(out / "run" / "segments.parquet")
    truth = pd.read_csv(out / "data" / "truth.csv", dtype={"customer_id": str})
    merged = segments.merge(truth, on="customer_id")
    expected = adjusted_rand_score(merged["segment"], merged["segment_id"])
    flat = " ".join(stdout.split())
    assert f"adjusted Rand index {expected:.3f} over 300 customers" in flat
    assert "Choosing k" in flat and "vip_loyal" in flat
