"""Synthetic shops with planted segments, to measure how well segmentation recovers them.

``generate_shop(n_customers, seed)`` builds the canonical tables (customers, products,
orders, events, reviews) plus ``truth``, the planted segment of every customer;
``write_shop`` writes them as CSV or Parquet files; ``write_shop_chunked`` does both block by
block for shops of millions (Parquet streamed a row group per block). ``PLANTED_SEGMENTS``
documents what was planted; ``agreement_with_truth`` scores segments against ``truth``.
"""

from shopseg.generate.shop import (
    FILE_FORMATS,
    PLANTED_SEGMENTS,
    GeneratedShop,
    SegmentProfile,
    generate_shop,
    write_shop,
    write_shop_chunked,
)
from shopseg.generate.truth import TruthAgreement, agreement_with_truth

__all__ = [
    "FILE_FORMATS",
    "PLANTED_SEGMENTS",
    "GeneratedShop",
    "SegmentProfile",
    "TruthAgreement",
    "agreement_with_truth",
    "generate_shop",
    "write_shop",
    "write_shop_chunked",
]
