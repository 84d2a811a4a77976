"""Ingestion: read a shop's files in the formats shops already have, check every row.

Public entry point: :func:`load_shop`. Formats live in :mod:`shopseg.ingest.formats`.
"""

from shopseg.ingest.formats import FORMATS
from shopseg.ingest.load import load_shop, parse_mapping

__all__ = ["FORMATS", "load_shop", "parse_mapping"]
