"""Synthetic shops with planted segments, to measure how well segmentation recovers them.

``generate_shop(n_customers, seed)`` builds the canonical tables (customers, products,
orders, events, reviews) plus ``truth``, the planted segment of every customer;
``write_shop`` writes them as CSV files; ``write_shop_chunked`` does both block by block for
shops of millions. ``PLANTED_SEGMENTS`` documents what was planted.
"""

from shopseg.generate.shop import (
    PLANTED_SEGMENTS,
    GeneratedShop,
    SegmentProfile,
    generate_shop,
    write_shop,
    write_shop_chunked,
)

__all__ = [
    "PLANTED_SEGMENTS",
    "GeneratedShop",
    "SegmentProfile",
    "generate_shop",
    "write_shop",
    "write_shop_chunked",
]
