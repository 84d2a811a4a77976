"""Run settings from a TOML file, for runs repeated on new exports.

Example ``shopseg.toml``::

    orders = "exports/orders.csv"
    customers = "exports/customers.csv"
    format = "canonical"
    date_format = "%d/%m/%Y %H:%M"
    k = 6
    seed = 1
    recommender = "hybrid"   # or "none" to skip recommendations
    recommend_n = 10
    text = true              # false: behaviour only (like --no-text)
    text_model = "minilm-int8"
    embed_dim = 16
    reducer = "pca"          # or "autoencoder"

    [map.orders]
    customer_id = "Client"
    ts = "Date"
    amount = "Total"

Command-line flags win over the file.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from shopseg.errors import ConfigError
from shopseg.schema import TABLES

KNOWN_KEYS = {
    *TABLES,
    *("format", "date_format", "k", "seed", "out", "map", "recommender", "recommend_n"),
    *("text", "text_model", "embed_dim", "reducer"),
}


def read_config(path: str | Path) -> dict[str, object]:
    """The settings in a TOML file, checked for unknown keys and mapping shape."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as error:
        raise ConfigError(f"Config file {path} not found.") from error
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise ConfigError(f"Config file {path} is not valid TOML ({error}).") from error
    unknown = sorted(set(data) - KNOWN_KEYS)
    if unknown:
        raise ConfigError(
            f"Config file {path}: unknown setting '{unknown[0]}' (known: {', '.join(sorted(KNOWN_KEYS))})."
        )
    mapping = data.get("map", {})
    if not isinstance(mapping, dict) or not all(
        table in TABLES and isinstance(columns, dict) for table, columns in mapping.items()
    ):
        raise ConfigError(f"Config file {path}: [map.TABLE] sections must map canonical columns to file columns.")
    base = path.parent
    for table in TABLES:
        if table in data:
            data[table] = (
                str((base / str(data[table])).resolve()) if not Path(str(data[table])).is_absolute() else data[table]
            )
    return data
