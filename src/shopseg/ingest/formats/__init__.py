"""The registry of input formats, in the order auto-detection tries them.

Adding a format: write a module with a class following
:class:`~shopseg.ingest.formats.base.InputFormat`, and add an instance below.
"""

from __future__ import annotations

from shopseg.errors import ConfigError, InputError
from shopseg.ingest.formats.base import InputFormat, Tables
from shopseg.ingest.formats.canonical import CanonicalFormat
from shopseg.ingest.formats.cdnow import CdnowFormat
from shopseg.ingest.formats.customer_table import CustomerTableFormat
from shopseg.ingest.formats.online_retail import OnlineRetailFormat
from shopseg.ingest.reading import RawTable

FORMATS: dict[str, InputFormat] = {
    f.name: f for f in (CdnowFormat(), OnlineRetailFormat(), CanonicalFormat(), CustomerTableFormat())
}


def detect_format(raw: RawTable, role: str, name: str | None = None) -> InputFormat:
    """The format named ``name``, or the first registered format that recognises ``raw``."""
    if name:
        if name not in FORMATS:
            raise ConfigError(f"Unknown format '{name}'. Known formats: {', '.join(FORMATS)}.")
        return FORMATS[name]
    for fmt in FORMATS.values():
        if fmt.matches(raw, role):
            return fmt
    if len(raw.columns) < 2:
        raise InputError(
            raw.path,
            f"has a single column ('{raw.columns[0][:40]}'): either it is not the {role} table "
            "or its delimiter is not one of , ; tab | or spaces.",
            hint="Save it as CSV with one of those delimiters.",
        )
    # Nothing matched: read it as canonical, so validation names the missing column.
    return FORMATS["canonical"]


__all__ = ["FORMATS", "InputFormat", "Tables", "detect_format"]
