"""The real-time update: POST /customers/{id}/update, and the live model it stands on."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from shopseg import schema as s
from shopseg.live.model import FoldIn, LiveModel
from shopseg.recommend.als import implicit_available
from shopseg.recommend.fold_in import FoldInALS
from shopseg.run_data import RunData
from shopseg.store import read_store_shop


@pytest.fixture(scope="module")
def live(run_dir: Path) -> LiveModel:
    return LiveModel.build(RunData.load(run_dir))


def test_an_empty_update_gives_every_known_customer_their_run_segment(live: LiveModel, run_dir: Path) -> None:
    segments = pd.read_parquet(run_dir / "segments.parquet").set_index(s.CUSTOMER_ID)
    orders, activity = live.rows_of([], [], [])
    agree, recency = [], []
    for customer, row in segments.iterrows():
        result = live.update(customer, orders, activity, keep=False, recommend_n=0)
        agree.append(result["segment_id"] == row[s.SEGMENT_ID])
        recency.append(abs(result["features"]["recency_days"] - row["recency_days"]))
        assert result["previous_segment_id"] == row[s.SEGMENT_ID] and result["known_customer"]
    assert np.mean(agree) == 1.0  # same features, same text vectors, same model: the same segment
    assert max(recency) < 1e-6  # segments.parquet rounds to six decimals
    clv = [live.update(c, orders, activity, keep=False, recommend_n=0)["scores"]["clv"] for c in segments.index[:50]]
    np.testing.assert_allclose(clv, segments["clv"].iloc[:50], rtol=1e-3, atol=0.05)


@pytest.mark.skipif(not implicit_available(), reason="folding in needs implicit")
def test_fold_in_recommends_what_the_run_recommender_does(live: LiveModel, run_dir: Path) -> None:
    shop = read_store_shop(run_dir / "shopseg.duckdb")
    model = FoldInALS().fit(shop.orders)
    live.fold_in = FoldIn.of(model)
    empty_orders, empty_activity = live.rows_of([], [], [])
    customers = sorted(shop.orders[s.CUSTOMER_ID].unique())[:25]
    expected = model.recommend(shop.orders[shop.orders[s.CUSTOMER_ID].isin(customers)], n=5)
    for customer in customers:
        result = live.update(customer, empty_orders, empty_activity, keep=False, recommend_n=5)
        wanted = list(expected.loc[expected[s.CUSTOMER_ID] == customer, s.PRODUCT_ID])
        assert [product for product, _ in result["recommendations"]] == wanted


def test_update_endpoint_adds_lines_and_says_what_changed(client, headers, run_dir: Path) -> None:
    segments = pd.read_parquet(run_dir / "segments.parquet").set_index(s.CUSTOMER_ID)
    customer = segments.index[0]
    product = read_store_shop(run_dir / "shopseg.duckdb").products[s.PRODUCT_ID].iloc[0]
    body = {
        "orders": [
            {
                "order_id": "live-1",
                "ts": "2024-07-02 10:00:00",
                "product_id": product,
                "quantity": 2,
                "unit_price": 30.0,
            }
        ],
        "events": [{"ts": "2024-07-02 09:50:00", "event_type": "view", "product_id": product}],
        "keep": False,
    }
    response = client.post(f"/customers/{customer}/update", json=body, headers=headers)
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["known_customer"] and answer["previous_segment_id"] == segments.at[customer, s.SEGMENT_ID]
    assert answer["features"]["frequency"] == segments.at[customer, "frequency"] + 1
    assert answer["features"]["recency_days"] == pytest.approx(14 / 24, abs=1e-6)  # 10:00 to the next midnight
    assert answer["reference_ts"].startswith("2024-07-03")
    assert set(answer["scores"]) >= {"clv", "p_alive", "churn_risk"} and answer["lines_used"]["orders"] == 1
    # keep=false changed nothing; keep=true is seen by the next update of the same customer
    body["keep"] = True
    again = client.post(f"/customers/{customer}/update", json=body, headers=headers).json()
    assert again["features"]["frequency"] == answer["features"]["frequency"]
    body["orders"][0]["order_id"] = "live-2"
    third = client.post(f"/customers/{customer}/update", json=body, headers=headers).json()
    assert third["features"]["frequency"] == answer["features"]["frequency"] + 1
    assert third["previous_segment_id"] == again["segment_id"]


def test_update_endpoint_places_a_new_customer_and_refuses_bad_lines(client, headers) -> None:
    body = {"orders": [{"order_id": "n1", "ts": "2024-06-01", "amount": 25.0}]}
    answer = client.post("/customers/brand-new/update", json=body, headers=headers).json()
    assert answer["known_customer"] is False and answer["previous_segment_id"] is None
    assert any("did not know" in note for note in answer["notes"])
    bad = {
        "orders": [
            {"order_id": "n2", "ts": "2999-01-01", "amount": 5.0},
            {"order_id": "n3", "ts": "yesterday", "amount": 1},
        ]
    }
    response = client.post("/customers/brand-new/update", json=bad, headers=headers)
    assert response.status_code == 422
    problems = response.json()["problems"]
    assert [(p["line"], p["reason"]) for p in problems] == [(0, "date in the future"), (1, problems[1]["reason"])]
    assert "not a date" in problems[1]["reason"]
    assert client.post("/customers/nobody/update", json={}, headers=headers).status_code == 422
    assert client.post("/customers/x/update", json=body).status_code == 401


def test_fast_paths_equal_the_fitted_models(live: LiveModel, run_dir: Path) -> None:
    """The array versions of the scaler, the fusion and the value formulas give the models' own numbers."""
    model = live.run.segmenter
    segments = pd.read_parquet(run_dir / "segments.parquet").set_index(s.CUSTOMER_ID)
    reference = live.reference
    for customer in segments.index[:40]:
        orders, activity = live.history.customer(customer)
        features, start = customer_features_of(live, orders, activity, reference)
        fast = live.scaler.transform(features)
        slow = model.scaler_.transform(pd.DataFrame([features]))
        np.testing.assert_allclose(fast, slow, rtol=1e-12, atol=1e-12)
        blocks, evidence = live._text_blocks(orders, activity, start)
        fused = live.fuser.transform(fast, blocks, evidence)
        expected = model.fuser_.transform(
            slow, {k: v[None, :] for k, v in blocks.items()}, {k: np.array([c]) for k, c in evidence.items()}
        )
        np.testing.assert_allclose(fused, expected, rtol=1e-5, atol=1e-6)  # float32 text vectors
        scores = live.value.score(orders.lines, reference)
        assert set(scores) >= {"clv", "p_alive", "churn_risk"}
    # The scorer restored from value.json gives the run's own numbers (segments.parquet: six decimals).
    orders_col = f"expected_orders_{live.value.horizon_days}d"
    for customer in segments.index[:40]:
        orders, _ = live.history.customer(customer)
        scores = live.value.score(orders.lines, reference)
        row = segments.loc[customer]
        for column in ("clv", "p_alive", orders_col, "churn_risk", "high_value_prob"):
            if column in live.value.classifier_columns:
                continue
            assert scores[column] == pytest.approx(row[column], rel=1e-5, abs=2e-6), (customer, column)


def customer_features_of(live: LiveModel, orders, activity, reference):
    from shopseg.live.features import customer_features

    model = live.run.segmenter
    return customer_features(
        orders.lines,
        activity.activity,
        reference=reference,
        priors=model.features_.priors,
        window_days=model.window_days,
    )
