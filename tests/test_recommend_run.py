"""The recommend step in a run: files, DuckDB tables, profiles, report, saved model, CLI and audiences.

One small generated shop is segmented once with recommendations on (module fixture); the other
cases use tiny hand-written shops or call the step directly, so each stays within seconds.
"""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from shopseg.cli.app import app, run
from shopseg.generate import generate_shop, write_shop
from shopseg.recommend import DEFAULT_MODELS, load_recommender, recommend_step
from shopseg.recommend.als import NEEDS_IMPLICIT, implicit_available
from shopseg.runner import run_segmentation
from shopseg.shop import Shop

N = 5
FAST_RUN = {
    "k": 4,
    "min_segment_size": 20,
    "stability_refits": 0,
    "value": False,
    "use_text": False,
    "map_method": None,
}
TINY_ORDERS = """customer_id,order_id,ts,product_id,quantity,unit_price
C1,O1,2024-01-05 10:00:00,P1,1,20.00
C1,O2,2024-02-10 19:30:00,P2,2,5.00
C2,O3,2024-01-20 08:15:00,P3,1,50.00
C2,O4,2024-03-01 12:00:00,P1,3,20.00
C3,O5,2024-02-14 21:45:00,P2,1,5.00
C4,O6,2024-03-10 09:00:00,P4,4,12.50
"""


@pytest.fixture(scope="module")
def shop_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return write_shop(generate_shop(300, seed=1), tmp_path_factory.mktemp("recommend-shop"))


@pytest.fixture(scope="module")
def run_dir(shop_files: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A run of 300 generated customers with 5 hybrid recommendations each."""
    folder = tmp_path_factory.mktemp("recommend-run") / "run"
    inputs = {name: shop_files[name] for name in ("orders", "products", "reviews", "events")}
    run_segmentation(folder, **inputs, **FAST_RUN, recommend_n=N)
    return folder


def invoke(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: object) -> tuple[int, str]:
    """``shopseg ARGS`` through the console entry point (user errors exit 2); (exit code, stdout + stderr)."""
    capsys.readouterr()
    monkeypatch.setattr(sys, "argv", ["shopseg", *map(str, args)])
    with pytest.raises(SystemExit) as exit_:
        run()
    captured = capsys.readouterr()
    output = captured.out + captured.err
    assert "Traceback" not in output
    return exit_.value.code, output


# -- the run folder -------------------------------------------------------------------------


def test_every_customer_gets_n_ranked_recommendations(run_dir: Path) -> None:
    recommendations = pd.read_parquet(run_dir / "recommendations.parquet")
    segments = pd.read_parquet(run_dir / "segments.parquet")
    assert list(recommendations.columns) == ["customer_id", "rank", "product_id", "score", "reason"]
    assert set(recommendations["customer_id"]) == set(segments["customer_id"])
    sizes = recommendations.groupby("customer_id").size()
    assert sizes.eq(N).all()
    assert recommendations.groupby("customer_id")["rank"].apply(list).map(lambda r: r == list(range(1, N + 1))).all()
    assert not recommendations.duplicated(["customer_id", "product_id"]).any()
    assert recommendations["reason"].str.len().gt(0).all()
    descending = recommendations.groupby("customer_id")["score"].apply(lambda v: bool(np.all(np.diff(v) <= 1e-9)))
    assert descending.all()


def test_already_bought_products_come_back_only_in_repeat_categories(run_dir: Path, shop_files) -> None:
    recommendations = pd.read_parquet(run_dir / "recommendations.parquet")
    orders = pd.read_csv(shop_files["orders"], dtype={"customer_id": str, "product_id": str})
    products = pd.read_csv(shop_files["products"], dtype={"product_id": str})
    repeat = set(json.loads((run_dir / "run.json").read_text())["recommend"]["repeat_categories"])
    again = recommendations.merge(
        orders[["customer_id", "product_id"]].drop_duplicates(), on=["customer_id", "product_id"]
    )
    categories = again.merge(products[["product_id", "category"]], on="product_id")["category"]
    assert set(categories) <= repeat


def test_evaluation_lists_every_model(run_dir: Path) -> None:
    evaluation = json.loads((run_dir / "recommendations_eval.json").read_text())
    assert evaluation["model"] == "hybrid"
    expected = [m for m in DEFAULT_MODELS if implicit_available() or m not in NEEDS_IMPLICIT]
    assert [row["model"] for row in evaluation["metrics"]] == expected
    assert {"recall@10", "ndcg@10", "map@10", "coverage", "novelty"} <= set(evaluation["metrics"][0])
    assert evaluation["best_model"] in DEFAULT_MODELS


def test_duckdb_has_recommendations_and_segment_top_products(run_dir: Path) -> None:
    connection = duckdb.connect(str(run_dir / "shopseg.duckdb"), read_only=True)
    try:
        count = connection.execute('SELECT count(*) FROM "recommendations"').fetchone()[0]
        top = connection.execute('SELECT * FROM "segment_top_products" ORDER BY segment_id, rank').df()
    finally:
        connection.close()
    assert count == 300 * N
    profiles = json.loads((run_dir / "profiles.json").read_text())
    assert set(top["segment_id"]) == {p["segment_id"] for p in profiles}
    assert {"segment_name", "product_id", "title", "buyers", "share", "lift"} <= set(top.columns)


def test_profiles_report_and_run_record_carry_the_step(run_dir: Path) -> None:
    profiles = json.loads((run_dir / "profiles.json").read_text())
    assert all(p["best_sellers"] for p in profiles)
    assert {"product_id", "title", "category", "buyers", "share", "lift"} == set(profiles[0]["best_sellers"][0])
    assert "Best sellers in the segment" in (run_dir / "profiles.md").read_text()
    page = (run_dir / "report.html").read_text()
    assert "Best sellers per segment" in page and "Recommendation quality" in page
    record = json.loads((run_dir / "run.json").read_text())
    assert record["config"]["recommender"] == "hybrid" and record["config"]["recommend_n"] == N
    assert record["recommend"]["model"] == "hybrid" and record["recommend"]["recommendations"] == 300 * N
    assert record["timings_seconds"]["recommend"] > 0


def test_saved_recommender_gives_the_same_recommendations(run_dir: Path) -> None:
    assert not list(run_dir.glob("model/recommend/*.pkl"))
    model = load_recommender(run_dir / "model" / "recommend")
    written = pd.read_parquet(run_dir / "recommendations.parquet")
    customers = list(pd.unique(written["customer_id"]))[:40]
    again = model.recommend(customers, n=N)
    expected = written[written["customer_id"].isin(customers)].reset_index(drop=True)
    pd.testing.assert_frame_equal(again, expected, check_dtype=False)


def test_the_run_saves_als_factors_that_recommend_to_new_customers(run_dir: Path, shop_files) -> None:
    from shopseg.recommend.fold_in import FoldInALS

    assert not list(run_dir.glob("model/fold_in/*.pkl"))
    model = FoldInALS.load(run_dir / "model" / "fold_in")
    record = json.loads((run_dir / "run.json").read_text())
    assert record["recommend"]["fold_in"]["products"] == len(model.product_ids_) > 0
    orders = pd.read_csv(shop_files["orders"], dtype={"customer_id": str, "product_id": str})
    orders = orders.assign(is_return=orders["quantity"] < 0)
    one = orders[orders["customer_id"] == orders["customer_id"].iloc[0]]
    recommended = model.recommend(one, n=N)
    assert len(recommended) == N and not set(recommended["product_id"]) & set(one["product_id"])


def test_html_report_escapes_product_titles(run_dir: Path, tmp_path: Path) -> None:
    from shopseg.report import build_report

    copy = tmp_path / "run"
    copy.mkdir()
    for name in ("run.json", "segments.parquet", "features.parquet", "recommendations_eval.json"):
        (copy / name).write_bytes((run_dir / name).read_bytes())
    profiles = json.loads((run_dir / "profiles.json").read_text())
    profiles[0]["best_sellers"][0]["title"] = "<script>alert(1)</script>"
    (copy / "profiles.json").write_text(json.dumps(profiles))
    page = build_report(copy).read_text()
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page


# -- audiences --------------------------------------------------------------------------------


def test_audience_item_lists_the_top_customers_by_score(run_dir: Path, tmp_path: Path) -> None:
    product = pd.read_parquet(run_dir / "recommendations.parquet")["product_id"].iloc[0]
    out = tmp_path / "audience.csv"
    result = CliRunner().invoke(
        app, ["audience", "--run", str(run_dir), "--item", product, "--top", "7", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert product in result.output
    with out.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 7
    scores = [float(r["score"]) for r in rows]
    assert scores == sorted(scores, reverse=True)
    assert [int(r["rank"]) for r in rows] == list(range(1, 8))
    segments = pd.read_parquet(run_dir / "segments.parquet").set_index("customer_id")["segment_name"]
    assert all(segments[r["customer_id"]] == r["segment_name"] for r in rows)


def test_audience_item_unknown_product_exits_2_naming_it(run_dir: Path, monkeypatch, capsys) -> None:
    code, output = invoke(monkeypatch, capsys, "audience", "--run", run_dir, "--item", "NO-SUCH-PRODUCT")
    assert code == 2 and "NO-SUCH-PRODUCT" in output


def test_audience_needs_text_or_item(run_dir: Path, monkeypatch, capsys) -> None:
    code, output = invoke(monkeypatch, capsys, "audience", "--run", run_dir)
    assert code == 2 and "--item" in output


# -- turning it off, small shops, fallbacks ---------------------------------------------------------


def test_no_recommend_skips_the_step(tmp_path: Path, monkeypatch, capsys) -> None:
    orders = tmp_path / "orders.csv"
    orders.write_text(TINY_ORDERS)
    code, output = invoke(
        monkeypatch, capsys, "segment", "--orders", orders, "--k", "2", "--min-segment-size", "1",
        "--stability-refits", "0", "--no-value", "--no-recommend", "--out", tmp_path / "run",
    )  # fmt: skip
    assert code == 0, output
    run_dir = tmp_path / "run"
    assert not (run_dir / "recommendations.parquet").exists() and not (run_dir / "model" / "recommend").exists()
    assert json.loads((run_dir / "run.json").read_text())["recommend"] == {"skipped": "turned off (--no-recommend)"}
    code, output = invoke(monkeypatch, capsys, "audience", "--run", run_dir, "--item", "P1")
    assert code == 2 and "--no-recommend" in output


def test_unknown_recommender_exits_2_before_any_work(tmp_path: Path, monkeypatch, capsys) -> None:
    orders = tmp_path / "orders.csv"
    orders.write_text(TINY_ORDERS)
    code, output = invoke(
        monkeypatch, capsys, "segment", "--orders", orders, "--recommender", "magic", "--out", tmp_path / "r"
    )
    assert code == 2 and "magic" in output and "item_knn" in output
    assert not (tmp_path / "r").exists()


def test_a_tiny_shop_runs_with_recommendations(tmp_path: Path) -> None:
    orders = tmp_path / "orders.csv"
    orders.write_text(TINY_ORDERS)
    result = run_segmentation(tmp_path / "run", orders=orders, k=2, min_segment_size=1, stability_refits=0, value=False)
    assert result.recommendations is not None
    frame = pd.read_parquet(tmp_path / "run" / "recommendations.parquet")
    assert set(frame["customer_id"]) <= {"C1", "C2", "C3", "C4"}
    assert (tmp_path / "run" / "recommendations_eval.json").exists()


def test_a_customer_table_without_orders_skips_with_a_note(tmp_path: Path) -> None:
    customers = tmp_path / "customers.csv"
    rows = ["customer_id,frequency,recency_days,monetary_total"]
    rows += [f"C{i},{1 + i % 5},{10 + 3 * i},{20.0 + 7 * i}" for i in range(40)]
    customers.write_text("\n".join(rows) + "\n")
    result = run_segmentation(tmp_path / "run", customers=customers, k=2, min_segment_size=1, stability_refits=0)
    record = json.loads((tmp_path / "run" / "run.json").read_text())
    assert "skipped" in record["recommend"]
    assert any(n.startswith("recommend:") for n in record["notes"])
    assert result.recommendations is not None and result.recommendations.frame.empty
    assert json.loads((tmp_path / "run" / "recommendations_eval.json").read_text())["skipped"]


def test_without_implicit_als_falls_back_and_says_so(monkeypatch) -> None:
    rows = [(f"C{i}", f"P0{1 + (i + d) % 7}", d) for i in range(20) for d in (0, 10, 30)]
    orders = pd.DataFrame(rows, columns=["customer_id", "product_id", "day"])
    orders = orders.assign(
        order_id=orders["customer_id"] + "-" + orders["day"].astype(str),
        ts=pd.Timestamp("2024-01-01") + pd.to_timedelta(orders["day"], unit="D"),
        quantity=1.0,
        amount=10.0,
        is_return=False,
    ).drop(columns="day")
    shop = Shop(orders=orders)
    monkeypatch.setitem(sys.modules, "implicit", None)  # import implicit -> ImportError
    result = recommend_step(shop, None, model="als", n=2, evaluate=["popular", "als"])
    assert result.report["model"] == "item_knn" and result.report["requested_model"] == "als"
    assert any("'implicit'" in note and "item_knn" in note for note in result.report["notes"])
    assert result.frame.groupby("customer_id").size().eq(2).all()
    hybrid = recommend_step(shop, None, model="hybrid", n=2, model_params={"rounds": 1, "grid": (0.0, 1.0)})
    assert "als" not in hybrid.model.components_ and hybrid.evaluation is not None
    assert "als" not in list(hybrid.evaluation.table.index)


@pytest.mark.slow
def test_pseudonymised_private_run_leaks_no_raw_id(shop_files, tmp_path: Path) -> None:
    inputs = {name: shop_files[name] for name in ("orders", "products", "events")}
    run_segmentation(
        tmp_path / "run", **inputs, **FAST_RUN, recommend_n=3, pseudonymise_key="secret-key", dp_epsilon=1.0
    )
    raw = set(pd.read_csv(shop_files["orders"], dtype={"customer_id": str})["customer_id"])
    folder = tmp_path / "run"
    written = set(pd.read_parquet(folder / "recommendations.parquet")["customer_id"])
    assert written and not written & raw
    with np.load(folder / "model" / "recommend" / "recommender.npz", allow_pickle=False) as arrays:
        assert not set(arrays["interactions/customer_ids"].tolist()) & raw
    connection = duckdb.connect(str(folder / "shopseg.duckdb"), read_only=True)
    try:
        stored = set(connection.execute('SELECT DISTINCT customer_id FROM "recommendations"').df()["customer_id"])
        assert connection.execute('SELECT count(*) FROM "segment_top_products"').fetchone()[0] == 0
    finally:
        connection.close()
    assert not stored & raw
    profiles = json.loads((folder / "profiles.json").read_text())
    assert all(p["best_sellers"] == [] for p in profiles)  # ranked on exact counts: not published under DP
    assert any("dp-epsilon" in n for n in json.loads((folder / "run.json").read_text())["notes"])


def test_config_file_can_turn_recommendations_off(tmp_path: Path, monkeypatch, capsys) -> None:
    (tmp_path / "orders.csv").write_text(TINY_ORDERS)
    config = tmp_path / "shopseg.toml"
    config.write_text('orders = "orders.csv"\nk = 2\nrecommender = "none"\n')
    code, output = invoke(
        monkeypatch, capsys, "segment", "--config", config, "--min-segment-size", "1", "--stability-refits", "0",
        "--no-value", "--out", tmp_path / "run",
    )  # fmt: skip
    assert code == 0, output
    assert not (tmp_path / "run" / "recommendations.parquet").exists()
    config.write_text('orders = "orders.csv"\nrecommend_n = 0\n')
    code, output = invoke(monkeypatch, capsys, "segment", "--config", config, "--out", tmp_path / "other")
    assert code == 2 and "recommend_n" in output


def test_a_large_shop_is_evaluated_on_a_seeded_sample_of_customers(shop_files) -> None:
    from shopseg import load_shop
    from shopseg.recommend.step import evaluation_sample

    shop = load_shop(orders=shop_files["orders"], products=shop_files["products"], reviews=shop_files["reviews"])
    assert evaluation_sample(shop, 300, random_state=0) is None  # not larger than the sample
    sample = evaluation_sample(shop, 120, random_state=0)
    again = evaluation_sample(shop, 120, random_state=0)
    assert list(sample.customer_ids()) == list(again.customer_ids()) and len(sample.customer_ids()) == 120
    kept = set(sample.customer_ids())
    assert sample.orders.equals(shop.orders[shop.orders["customer_id"].isin(kept)].reset_index(drop=True))
    assert set(sample.reviews["customer_id"]) <= kept and sample.products is shop.products

    everybody = pd.Series(0, index=shop.customer_ids())  # segments of all customers: the sample's are kept
    result = recommend_step(
        shop, everybody, model="segment_popular", n=3, evaluation_customers=120, evaluate=["popular"]
    )
    assert result.report["evaluation_customers"] == 120
    assert any("sample of 120 of the shop's 300 customers" in note for note in result.report["notes"])
    assert result.evaluation.split["test_customers"] <= 120
    assert result.frame["customer_id"].nunique() == 300  # everybody still gets recommendations
