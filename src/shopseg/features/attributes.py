"""Customer attributes as features: numbers as they are, labels one-hot encoded.

A seed-style customer table (age, gender, buy_frequency, average_cost, ...) is segmented
on these alone. Labels with many distinct values (free text, ids) are not features; the
``max_levels`` most frequent levels of a label get a column each (``gender=female``).
Timestamps become an age in days (``signup_ts`` -> ``signup_ts_days``).
"""

from __future__ import annotations

import pandas as pd

from shopseg import schema as s


def attribute_features(
    customers: pd.DataFrame, reference_ts: pd.Timestamp | None = None, max_levels: int = 8
) -> pd.DataFrame | None:
    """One row per customer of the customer table, or None when it has no usable column."""
    table = customers.set_index(s.CUSTOMER_ID)
    columns: dict[str, pd.Series] = {}
    for name in table.columns:
        values = table[name]
        if pd.api.types.is_datetime64_any_dtype(values):
            reference = reference_ts if reference_ts is not None else values.max()
            columns[f"{name}_days"] = (reference - values).dt.total_seconds() / 86400.0
        elif pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
            if values.notna().any() and values.nunique() > 1:
                columns[name] = values.astype("float64")
        else:
            labels = values.astype("string")
            n_levels = labels.nunique()
            if n_levels < 2 or n_levels > max(50, 0.5 * len(labels)):
                continue
            for level in labels.value_counts().index[:max_levels]:
                columns[f"{name}={level}"] = (labels == level).fillna(False).astype("float64")
    if not columns:
        return None
    features = pd.DataFrame(columns, index=table.index)
    return features.fillna(features.median(numeric_only=True)).fillna(0.0)
