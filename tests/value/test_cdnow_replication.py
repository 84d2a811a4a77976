"""Reproduce the published BG/NBD and Gamma-Gamma fits on the real CDNOW sample.

Fader, Hardie & Lee (2005) fit BG/NBD to CDNOW_sample (2,357 customers, calibration =
the first 39 weeks, 1997-01-01 .. 1997-09-30, time in weeks): r = 0.243, alpha = 4.414,
a = 0.793, b = 2.426, log-likelihood -9582.4. Fader & Hardie's Gamma-Gamma note fits
the 946 repeat buyers' mean repeat spend: p = 6.25, q = 3.74, gamma = 15.44.

Convention (documented in shopseg.value.summary): purchases are counted per customer and
*day*, and identical lines are separate purchases. CDNOW has no order ids, so two identical
lines are two purchases of the same CDs on one day; ``load_shop`` keeps them (the cdnow
format never drops "duplicate" lines). With them the published summary
(``cdnow_customers_summary_with_transactions.csv``) and parameters are reproduced exactly;
dropped, 4 repeat buyers' mean spend would fall and Gamma-Gamma would move to p = 6.28,
gamma = 15.35.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from shopseg import load_shop
from shopseg import schema as s
from shopseg.value.bgnbd import BetaGeoModel
from shopseg.value.gamma_gamma import GammaGammaModel
from shopseg.value.summary import calibration_summary

CALIBRATION_END = "1997-09-30"
WEEK = 7.0
ROUNDING = 0.005 + 1e-9  # the published summary has 2 decimals


def raw_lines(path: Path) -> pd.DataFrame:
    """Every line of CDNOW_sample.txt as canonical orders, duplicates kept, plus the sample id."""
    raw = pd.read_csv(
        path,
        sep=r"\s+",
        header=None,
        names=["customer_id", "sample_id", "date", "cds", "amount"],
        dtype={"customer_id": str, "sample_id": int, "date": str},
    )
    return pd.DataFrame(
        {
            s.CUSTOMER_ID: raw["customer_id"],
            s.ORDER_ID: [f"L{i}" for i in range(len(raw))],
            s.TS: pd.to_datetime(raw["date"], format="%Y%m%d"),
            s.AMOUNT: raw["amount"].astype(float),
            s.IS_RETURN: False,
            "sample_id": raw["sample_id"],
            "cds": raw["cds"],
        }
    )


@pytest.fixture(scope="module")
def sample(cdnow_dir: Path) -> dict[str, object]:
    path = cdnow_dir / "CDNOW_sample.txt"
    shop = load_shop(path)
    raw = raw_lines(path)
    ids = raw.drop_duplicates(s.CUSTOMER_ID).set_index(s.CUSTOMER_ID)["sample_id"]
    published = pd.read_csv(cdnow_dir / "cdnow_customers_summary_with_transactions.csv").set_index("ID")
    loaded = calibration_summary(shop.orders, calibration_end=CALIBRATION_END, time_unit_days=WEEK)
    kept = calibration_summary(raw, calibration_end=CALIBRATION_END, time_unit_days=WEEK)
    return {
        "shop": shop,
        "published": published,
        "loaded": loaded.set_index(ids.loc[loaded.index].to_numpy()).sort_index(),
        "kept": kept.set_index(ids.loc[kept.index].to_numpy()).sort_index(),
        "raw": raw,
    }


def test_load_shop_reads_every_line_including_identical_ones(sample: dict) -> None:
    shop = sample["shop"]
    assert shop.files[0].format == "cdnow"
    assert shop.files[0].rows_read == 6919 and shop.files[0].duplicates == 0 and shop.files[0].kept == 6919
    assert shop.orders[s.CUSTOMER_ID].nunique() == 2357


def test_summary_matches_the_published_summary(sample: dict) -> None:
    published, loaded, kept = sample["published"], sample["loaded"], sample["kept"]
    assert list(loaded.index) == list(published.index) == list(range(1, 2358))
    pd.testing.assert_frame_equal(loaded, kept, check_dtype=False)  # load_shop reads CDNOW as a plain parse does
    assert (loaded["frequency"] == published["x"]).all()
    assert np.abs(loaded["recency"] - published["t_x"]).max() <= ROUNDING  # published to 2 decimals
    assert np.abs(loaded["T"] - published["T"]).max() <= ROUNDING
    assert np.abs(loaded["monetary_value"] - published["zbar"]).max() <= ROUNDING
    assert int(published["x"].sum()) == 2457 and int((published["x"] > 0).sum()) == 946


def test_bgnbd_reproduces_fader_hardie_lee_2005(sample: dict) -> None:
    for summary in (sample["loaded"],):
        model = BetaGeoModel().fit(summary["frequency"], summary["recency"], summary["T"])
        p = model.params_
        assert (round(p["r"], 3), round(p["alpha"], 3), round(p["a"], 3), round(p["b"], 3)) == (
            0.243,
            4.414,
            0.793,
            2.426,
        )
        assert round(model.log_likelihood_, 1) == -9582.4
        assert model.converged_
        assert all(0 < e < v for e, v in zip(model.standard_errors_.values(), p.values(), strict=True))
    # FHL 2005's worked example: x = 2, t_x = 30.43, T = 38.86 -> 1.226 purchases in the next 39 weeks.
    assert round(float(model.conditional_expected_purchases(39, 2, 30.43, 38.86)), 3) == 1.226


def test_gamma_gamma_reproduces_the_published_fit(sample: dict) -> None:
    loaded = sample["loaded"]
    model = GammaGammaModel().fit(loaded["frequency"], loaded["monetary_value"])
    p = model.params_
    assert (round(p["p"], 2), round(p["q"], 2), round(p["gamma"], 2)) == (6.25, 3.74, 15.44)
    assert model.n_customers_ == 946
    # The published summary file rounds zbar to cents; fitted on it gamma is 15.45 (as in lifetimes' docs).
    published = sample["published"]
    on_published = GammaGammaModel().fit(published["x"], published["zbar"]).params_
    assert on_published["p"] == pytest.approx(6.25, abs=0.005) and on_published["gamma"] == pytest.approx(
        15.45, abs=0.005
    )


def test_gamma_gamma_moves_when_identical_lines_are_dropped(sample: dict) -> None:
    deduplicated = sample["raw"].drop_duplicates([s.CUSTOMER_ID, s.TS, s.AMOUNT, "cds"])
    summary = calibration_summary(deduplicated, calibration_end=CALIBRATION_END, time_unit_days=WEEK)
    p = GammaGammaModel().fit(summary["frequency"], summary["monetary_value"]).params_
    assert (round(p["p"], 2), round(p["q"], 2), round(p["gamma"], 2)) == (6.28, 3.74, 15.35)
