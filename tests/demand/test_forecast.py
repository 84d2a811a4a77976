"""forecast_demand on a tiny steady shop: coherent levels, sensible intervals, no look-ahead, shrinkage."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from tests.demand.conftest import PRODUCTS

from shopseg.demand import DEMAND_COLUMNS, forecast_demand
from shopseg.demand.lines import unit_lines
from shopseg.errors import ConfigError

HORIZON = 60


@pytest.fixture(scope="module")
def forecast(lines):
    return forecast_demand(lines, "bgnbd", horizon_days=HORIZON, n_draws=4, candidates=None)


def test_one_row_per_segment_and_product_with_the_documented_columns(forecast) -> None:
    table = forecast.table
    assert list(table.columns[: len(DEMAND_COLUMNS)]) == list(DEMAND_COLUMNS)
    assert len(table) == 2 * len(PRODUCTS)
    assert table[["segment_id", "product_id"]].drop_duplicates().shape[0] == len(table)
    assert (table["p05"] <= table["expected_units"]).all()
    assert (table["expected_units"] <= table["p95"]).all()
    assert (table["p05"] >= 0).all()


def test_levels_add_up(forecast) -> None:
    levels = forecast.levels
    bottom = forecast.level("segment/product")
    assert forecast.level("total")["expected_units"].iloc[0] == pytest.approx(bottom["expected_units"].sum())
    by_segment = bottom.groupby("segment_id")["expected_units"].sum()
    assert np.allclose(forecast.level("segment").set_index("segment_id")["expected_units"], by_segment)
    by_product = bottom.groupby("product_id")["expected_units"].sum()
    assert np.allclose(forecast.level("product").set_index("product_id")["expected_units"], by_product)
    assert set(levels["level"]) == {"total", "segment", "category", "product", "segment/category", "segment/product"}


def test_the_forecast_is_about_what_the_recent_rate_says(lines, forecast) -> None:
    """Units in the next 60 days are near units per 60 days of the last 180 (a steady shop)."""
    recent = lines.window(lines.last_day - pd.Timedelta(days=180), lines.last_day)["units"].sum() / 3
    assert forecast.report["expected_units_total"] == pytest.approx(recent, rel=0.35)


def test_a_segment_that_never_bought_a_product_gets_a_little_of_the_shops_share(forecast) -> None:
    table = forecast.table.set_index(["segment_id", "product_id"])["expected_units"]
    never = table[(1, "P1")]
    assert 0 < never < 0.1 * table[(0, "P1")]


def test_only_data_up_to_as_of_is_used(shop) -> None:
    orders, labels = shop
    as_of = pd.Timestamp("2024-01-31")
    altered = orders.copy()
    later = pd.to_datetime(altered["ts"]).dt.normalize() > as_of
    altered.loc[later, "quantity"] = altered.loc[later, "quantity"] * 5  # the future changes, the past does not
    options = {"horizon_days": HORIZON, "as_of": as_of, "n_draws": 2, "candidates": ("bgnbd", "mbgnbd")}
    first = forecast_demand(unit_lines(orders, labels, PRODUCTS), "bgnbd", **options)
    second = forecast_demand(unit_lines(altered, labels, PRODUCTS), "bgnbd", **options)
    pd.testing.assert_frame_equal(first.table, second.table)


def test_same_inputs_same_outputs(lines, forecast) -> None:
    again = forecast_demand(lines, "bgnbd", horizon_days=HORIZON, n_draws=4, candidates=None)
    pd.testing.assert_frame_equal(forecast.levels, again.levels)


def test_bottom_up_is_coherent_too_and_unknown_methods_are_refused(lines) -> None:
    result = forecast_demand(
        lines, "bgnbd", horizon_days=HORIZON, n_draws=2, reconciliation="bottom_up", candidates=None
    )
    assert result.report["reconciliation"]["method"] == "bottom_up"
    assert result.level("total")["expected_units"].iloc[0] == pytest.approx(result.table["expected_units"].sum())
    with pytest.raises(ConfigError, match="Unknown reconciliation"):
        forecast_demand(lines, "bgnbd", horizon_days=HORIZON, reconciliation="magic")


def test_returns_and_unsegmented_customers_are_counted_not_silently_dropped(shop) -> None:
    orders, labels = shop
    extra = pd.DataFrame(
        {
            "customer_id": ["C0000", "NEW"],
            "order_id": ["R1", "N1"],
            "ts": [pd.Timestamp("2024-02-01")] * 2,
            "product_id": ["P1", "P2"],
            "quantity": [-1, 1],
        }
    )
    lines = unit_lines(pd.concat([orders, extra]), labels, PRODUCTS)
    assert lines.left_out == {"returns": 1, "customer not in the run's segments": 1}


def test_the_model_with_the_smallest_rolling_error_on_earlier_windows_is_used(lines) -> None:
    result = forecast_demand(lines, "bgnbd", horizon_days=HORIZON, n_draws=0, candidates=("bgnbd", "mbgnbd"))
    choice = result.report["purchase_days"]["model_choice"]
    assert set(choice["errors"]) == {"bgnbd", "mbgnbd"}
    assert choice["chosen"] == min(choice["errors"], key=choice["errors"].get)
    assert result.report["purchase_days"]["model"] == choice["chosen"]
    assert len(result.report["purchase_days"]["calibration"]["windows"]) >= 2
