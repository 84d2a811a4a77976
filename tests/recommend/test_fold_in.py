"""ALS product factors learned on some customers, any customers folded in and recommended to."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("implicit")

from shopseg import schema as s
from shopseg.errors import ShopsegError
from shopseg.generate import generate_shop
from shopseg.recommend.fold_in import ALSSettings, FoldInALS


@pytest.fixture(scope="module")
def halves() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.Series]:
    shop = generate_shop(3000, seed=61)
    orders = shop.orders.assign(is_return=shop.orders["quantity"] < 0)
    ids = orders[s.CUSTOMER_ID].unique()
    fitted, new = orders[orders[s.CUSTOMER_ID].isin(ids[::2])], orders[orders[s.CUSTOMER_ID].isin(ids[1::2])]
    return orders, fitted, new, shop.products.set_index(s.PRODUCT_ID)[s.CATEGORY]


def test_customers_never_seen_get_unbought_products_of_their_taste(halves) -> None:
    orders, fitted, new, category = halves
    model = FoldInALS(ALSSettings(seed=0)).fit(fitted)
    recommended = model.recommend(new, n=5)

    buyers = set(new.loc[~new["is_return"], s.CUSTOMER_ID])
    assert set(recommended[s.CUSTOMER_ID]) == buyers
    per_customer = recommended.groupby(s.CUSTOMER_ID)
    assert (per_customer.size() == 5).all()
    assert per_customer["rank"].apply(lambda r: r.tolist() == [1, 2, 3, 4, 5]).all()
    assert per_customer["score"].apply(lambda x: x.is_monotonic_decreasing).all()
    bought = set(zip(orders[s.CUSTOMER_ID], orders[s.PRODUCT_ID], strict=True))
    assert not any(pair in bought for pair in zip(recommended[s.CUSTOMER_ID], recommended[s.PRODUCT_ID], strict=True))

    favourite = new.assign(c=new[s.PRODUCT_ID].map(category)).groupby(s.CUSTOMER_ID)["c"]
    favourite = favourite.agg(lambda c: c.value_counts().index[0])
    hits = recommended[s.PRODUCT_ID].map(category).to_numpy() == recommended[s.CUSTOMER_ID].map(favourite).to_numpy()
    chance = favourite.map(category.value_counts(normalize=True)).mean()
    assert hits.mean() > 3 * chance, (hits.mean(), chance)


def test_a_customers_recommendations_do_not_depend_on_who_else_is_scored(halves) -> None:
    _, fitted, new, _ = halves
    model = FoldInALS(ALSSettings(seed=0)).fit(fitted)
    together = model.recommend(new, n=4)
    ids = new[s.CUSTOMER_ID].unique()
    apart = pd.concat([model.recommend(new[new[s.CUSTOMER_ID].isin(part)], n=4) for part in np.array_split(ids, 3)])
    key = [s.CUSTOMER_ID, "rank"]
    pd.testing.assert_frame_equal(
        together.sort_values(key).reset_index(drop=True), apart.sort_values(key).reset_index(drop=True)
    )
    again = FoldInALS(ALSSettings(seed=0)).fit(fitted).recommend(new, n=4)  # seeded: the same factors
    pd.testing.assert_frame_equal(together, again)


def test_unknown_products_are_ignored_and_misuse_is_explained(halves) -> None:
    _, fitted, new, _ = halves
    with pytest.raises(ShopsegError, match="not fitted"):
        FoldInALS().recommend(new)
    model = FoldInALS(ALSSettings(seed=0)).fit(fitted)
    strangers = pd.DataFrame({s.CUSTOMER_ID: ["X1"], s.PRODUCT_ID: ["NOT-IN-CATALOGUE"], "is_return": [False]})
    assert model.recommend(strangers).empty
    with pytest.raises(ShopsegError, match="at least 1"):
        model.recommend(new, n=0)
