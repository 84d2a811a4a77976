"""Keep personal data out of features and stored tables.

* PII columns (email, name, phone, address, ...; see :data:`shopseg.schema.PII_COLUMNS`)
  are removed from the customer table: they are never features and never stored.
* Quarantined values that could be a customer id are masked in pseudonymised runs.
* Customer ids can be pseudonymised with a keyed hash (HMAC-SHA256), the same key giving
  the same pseudonym in every table and every run, so results can be joined back by the
  shop (which holds the key) and by no one else.
"""

from __future__ import annotations

import hashlib
import hmac

import pandas as pd

from shopseg import schema as s
from shopseg.ingest.formats.base import normalise

_PII_NORMALISED = {normalise(c) for c in s.PII_COLUMNS}


def drop_pii_columns(customers: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """The customer table without PII columns, and the names removed."""
    dropped = [c for c in customers.columns if c != s.CUSTOMER_ID and normalise(c) in _PII_NORMALISED]
    return customers.drop(columns=dropped), dropped


def pseudonym(customer_ids: pd.Series, key: str) -> pd.Series:
    """``c_`` + the first 16 hex digits of HMAC-SHA256(key, id), for each id."""
    secret = key.encode()
    unique = pd.unique(customer_ids.astype(str))
    lookup = {value: "c_" + hmac.new(secret, value.encode(), hashlib.sha256).hexdigest()[:16] for value in unique}
    return customer_ids.astype(str).map(lookup)


def pseudonymise_ids(tables: dict[str, pd.DataFrame], key: str) -> dict[str, pd.DataFrame]:
    """Every table with ``customer_id`` replaced by its keyed pseudonym."""
    result = {}
    for name, frame in tables.items():
        if s.CUSTOMER_ID in frame.columns:
            frame = frame.copy()
            frame[s.CUSTOMER_ID] = pseudonym(frame[s.CUSTOMER_ID], key)
        result[name] = frame
    return result


def mask_quarantine(quarantine: pd.DataFrame, key: str) -> pd.DataFrame:
    """The quarantine of a pseudonymised run: no original customer id may leave in it.

    A rejected customer id is replaced by its pseudonym; a value that is a whole raw line
    (no single column: wrong field count) is withheld, since it may hold an id.
    """
    if quarantine.empty:
        return quarantine
    quarantine = quarantine.copy()
    is_id = quarantine["column"] == s.CUSTOMER_ID
    has_value = quarantine["value"].astype("string").fillna("") != ""
    quarantine.loc[is_id & has_value, "value"] = pseudonym(quarantine.loc[is_id & has_value, "value"], key)
    whole_line = quarantine["column"].isna() | (quarantine["column"].astype("string").fillna("") == "")
    quarantine.loc[whole_line, "value"] = "(withheld in a pseudonymised run)"
    return quarantine
