"""Shops over several periods: planted moves between segments, truth per period, dates per period."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from shopseg.generate import generate_shop, write_shop_chunked
from shopseg.generate.periods import MIGRATIONS, PERIOD, PeriodPlan, generate_shop_periods
from shopseg.schema import AMOUNT, CUSTOMER_ID, ORDER_ID, PRODUCT_ID, TS

N = 3000
SEGMENT = "segment"


@pytest.fixture(scope="module")
def shop():
    return generate_shop_periods(N, seed=4, plan=PeriodPlan(count=2, migrate=0.25))


def test_periods_table_gives_each_period_its_dates(shop) -> None:
    periods = shop.periods
    assert list(periods.columns) == [PERIOD, "start", "end", "as_of"]
    assert list(periods["end"]) == ["2023-07-01", "2024-06-30"]
    assert list(periods["as_of"]) == ["2023-06-30", "2024-06-29"]
    assert periods["start"].iloc[1] == periods["end"].iloc[0]
    assert shop.orders[TS].max() < pd.Timestamp("2024-06-30") and shop.orders[TS].is_monotonic_increasing


def test_exactly_the_migrating_share_moves_and_only_along_planted_paths(shop) -> None:
    truth = shop.truth_periods.pivot(index=CUSTOMER_ID, columns=PERIOD, values=SEGMENT)
    assert len(truth) == N and truth.notna().all().all()
    moved = truth[1] != truth[2]
    assert moved.sum() == round(0.25 * N)
    for source, target in zip(truth.loc[moved, 1], truth.loc[moved, 2], strict=True):
        assert target in MIGRATIONS[source]
    assert not (truth.loc[moved, 2] == "bargain_one_timers").any()
    # truth.csv holds the last period
    pd.testing.assert_series_equal(
        shop.truth.set_index(CUSTOMER_ID)[SEGMENT], truth[2].rename(SEGMENT), check_names=False
    )


def test_a_movers_second_period_follows_the_new_segment(shop) -> None:
    truth = shop.truth_periods.pivot(index=CUSTOMER_ID, columns=PERIOD, values=SEGMENT)
    end_1 = pd.Timestamp(shop.periods["end"].iloc[0])
    purchases = shop.orders[shop.orders[AMOUNT] > 0]
    later = purchases[purchases[TS] >= end_1]
    orders = later.groupby(CUSTOMER_ID)[ORDER_ID].nunique().reindex(truth.index, fill_value=0)
    category = shop.products.set_index(PRODUCT_ID)["category"]
    outdoor = later[PRODUCT_ID].map(category).eq("outdoor").groupby(later[CUSTOMER_ID]).mean()
    # new VIPs buy like VIPs in period 2; stayers of the one-timers buy nothing more
    became_vip = (truth[1] != "vip_loyal") & (truth[2] == "vip_loyal")
    stayed_regular = (truth[1] == truth[2]) & truth[1].isin(["beauty_lovers", "home_cooks"])
    assert orders[became_vip].mean() > 2.5 * orders[stayed_regular].mean()
    assert orders[(truth[1] == "bargain_one_timers") & (truth[2] == "bargain_one_timers")].sum() == 0
    # a taste change shows in what they buy
    to_outdoor = (truth[1] != "outdoor_enthusiasts") & (truth[2] == "outdoor_enthusiasts")
    from_outdoor = (truth[1] == "outdoor_enthusiasts") & (truth[2] != "outdoor_enthusiasts")
    assert outdoor.reindex(truth.index[to_outdoor]).mean() > 0.5 > outdoor.reindex(truth.index[from_outdoor]).mean()


def test_period_shop_is_deterministic_and_one_period_is_the_plain_shop() -> None:
    first = generate_shop_periods(300, seed=2)
    again = generate_shop_periods(300, seed=2)
    for name, table in first.tables().items():
        pd.testing.assert_frame_equal(table, again.tables()[name])
    plain = generate_shop(300, seed=2, end_date="2023-07-01")
    single = generate_shop_periods(300, seed=2, end_date="2023-07-01", plan=PeriodPlan(count=1))
    for name in ("customers", "orders", "events", "reviews", "truth"):
        pd.testing.assert_frame_equal(getattr(single, name), getattr(plain, name))
    assert np.array_equal(plain.truth[SEGMENT], first.truth_periods.query("period == 1")[SEGMENT])


def test_chunked_writer_writes_the_period_tables(tmp_path) -> None:
    paths = write_shop_chunked(500, tmp_path / "shop", seed=1, chunk=200, plan=PeriodPlan(count=3, days=120))
    assert {"truth_periods", "periods"} <= set(paths)
    periods = pd.read_csv(paths["periods"])
    assert list(periods[PERIOD]) == [1, 2, 3]
    truth = pd.read_csv(paths["truth_periods"])
    assert len(truth) == 3 * 500 and truth[CUSTOMER_ID].nunique() == 500
    orders = pd.read_csv(paths["orders"])
    assert orders[ORDER_ID].str.fullmatch(r"O\d{7}").all()
    with pytest.raises(ValueError, match="migrate"):
        PeriodPlan(migrate=1.5).check()
