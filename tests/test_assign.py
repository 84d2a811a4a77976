"""Assigning new customers to a saved run's segments without refitting (``shopseg assign``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import linear_sum_assignment

from shopseg import Segmenter, Shop, load_shop
from shopseg import schema as s
from shopseg.assign import assign_customers, saved_reference_ts
from shopseg.cluster import CustomerMap, SubSegmenter
from shopseg.errors import ShopsegError
from shopseg.features import build_features
from shopseg.generate import generate_shop, write_shop


def generated(tmp_path: Path, n_customers: int, seed: int) -> Shop:
    paths = write_shop(generate_shop(n_customers, seed=seed), tmp_path / "shop")
    return load_shop(**{role: paths[role] for role in ("orders", "customers", "products", "reviews", "events")})


def only(shop: Shop, customers: set[str]) -> Shop:
    """The shop restricted to some customers (catalogue kept)."""
    tables = {
        name: frame[frame[s.CUSTOMER_ID].isin(customers)].reset_index(drop=True) if s.CUSTOMER_ID in frame else frame
        for name, frame in shop.tables().items()
    }
    return Shop(**tables)


def split(shop: Shop, share: float, seed: int = 0) -> tuple[Shop, Shop]:
    ids = np.array(shop.customer_ids())
    held = set(np.random.default_rng(seed).choice(ids, size=round(share * len(ids)), replace=False))
    return only(shop, set(ids) - held), only(shop, held)


def test_saved_run_assigns_new_customers_as_the_fitted_model_does(tmp_path: Path) -> None:
    shop = generated(tmp_path, 800, seed=1)
    train, new = split(shop, 0.2)
    model = Segmenter(random_state=0, value=False).fit(train)
    model.save(tmp_path / "run" / "model")
    assert saved_reference_ts(tmp_path / "run") == model.features_.reference_ts
    table = assign_customers(tmp_path / "run", new)
    assert list(table.columns) == [s.CUSTOMER_ID, s.SEGMENT_ID, s.SEGMENT_NAME, "map_x", "map_y"]
    assert len(table) == len(new.customer_ids()) and table[s.SEGMENT_NAME].notna().all()
    # Same as the in-memory model: features at the fitted run's reference time and share priors.
    expected = model.predict(new)
    context = build_features(
        new, model.features_.reference_ts, priors=model.features_.priors, window_days=model.window_days
    ).frame
    np.testing.assert_array_equal(model.predict(context, new).to_numpy(), expected.to_numpy())
    np.testing.assert_array_equal(table[s.SEGMENT_ID].to_numpy(), expected.to_numpy())


def test_assign_without_a_model_says_where_to_point(tmp_path: Path) -> None:
    with pytest.raises(ShopsegError, match=r"no model\.json"):
        assign_customers(tmp_path, Shop())


@pytest.mark.slow
def test_held_out_customers_get_the_segment_a_refit_gives_them(tmp_path: Path) -> None:
    """Acceptance of issue 9: >= 95% of held-out customers as when refitting with them included."""
    shop = generated(tmp_path, 3000, seed=2)
    train, new = split(shop, 0.1)
    options = {"random_state": 0, "value": False, "stability_refits": 0}  # stability does not move segments
    fitted = Segmenter(**options).fit(train)
    fitted.save(tmp_path / "run" / "model")
    assigned = assign_customers(tmp_path / "run", new).set_index(s.CUSTOMER_ID)[s.SEGMENT_ID]
    refit = Segmenter(**options).fit(shop)
    refit_ids = pd.Series(refit.labels_, index=refit.features_.frame.index.astype(str))
    first_ids = pd.Series(fitted.labels_, index=fitted.features_.frame.index.astype(str))
    table = pd.crosstab(refit_ids[first_ids.index], first_ids)
    rows, columns = linear_sum_assignment(-table.to_numpy())
    matched = refit_ids.map(dict(zip(table.index[rows], table.columns[columns], strict=True)))
    assert (matched[assigned.index] == assigned).mean() >= 0.95


def test_two_level_and_map_columns_when_the_model_has_them(tmp_path: Path) -> None:
    shop = generated(tmp_path, 600, seed=3)
    model = Segmenter(k=3, random_state=0, value=False, stability_refits=0).fit(shop)
    matrix = model.representation_  # what the clusterer read: scaled features fused with text
    model.map_ = CustomerMap(method="pca").fit(matrix)
    model.sub_segmenter_ = SubSegmenter(min_share=0.0, min_size=10, min_gain=-1.0).fit(matrix, model.labels_)
    model.save(tmp_path / "run" / "model")
    table = assign_customers(tmp_path / "run", shop, segmenter=model)
    np.testing.assert_allclose(table[["map_x", "map_y"]].to_numpy(), model.map_.coordinates_)
    np.testing.assert_array_equal(table["sub_segment_id"].to_numpy(), model.sub_segmenter_.sub_labels_)


def test_assign_cli_recommends_unbought_products_to_new_customers(tmp_path: Path) -> None:
    pytest.importorskip("implicit")
    from typer.testing import CliRunner

    from shopseg.cli.app import app
    from shopseg.runner import run_segmentation

    generated_shop = generate_shop(700, seed=8)
    orders = generated_shop.orders
    ids = orders[s.CUSTOMER_ID].unique()
    new_ids = set(ids[::5])
    paths = write_shop(generated_shop, tmp_path / "shop")
    old_orders, new_orders = tmp_path / "old.csv", tmp_path / "new.csv"
    orders[~orders[s.CUSTOMER_ID].isin(new_ids)].to_csv(old_orders, index=False)
    orders[orders[s.CUSTOMER_ID].isin(new_ids)].to_csv(new_orders, index=False)
    run_segmentation(
        tmp_path / "run", orders=old_orders, products=paths["products"], k=4, value=False, stability_refits=0
    )

    command = ["assign", "--model", tmp_path / "run", "--orders", new_orders, "--recommend-n"]
    result = CliRunner().invoke(app, [str(a) for a in [*command, "3", "--out", tmp_path / "a"]])
    assert result.exit_code == 0, result.output
    recommended = pd.read_parquet(tmp_path / "a" / "recommendations.parquet")
    assert set(recommended[s.CUSTOMER_ID]) <= new_ids and recommended[s.CUSTOMER_ID].nunique() > 0.9 * len(new_ids)
    assert (recommended.groupby(s.CUSTOMER_ID).size() == 3).all()
    bought = set(zip(orders[s.CUSTOMER_ID], orders[s.PRODUCT_ID], strict=True))
    assert not any(pair in bought for pair in zip(recommended[s.CUSTOMER_ID], recommended[s.PRODUCT_ID], strict=True))
    assert (tmp_path / "a" / "recommendations.csv").exists()

    assert CliRunner().invoke(app, [str(a) for a in [*command, "0", "--out", tmp_path / "b"]]).exit_code == 0
    assert not (tmp_path / "b" / "recommendations.parquet").exists()
