"""Save and load fitted models as ``NAME.json`` + ``NAME.npz``: data, never pickle.

``to_dict()`` (clusterers, :class:`~shopseg.cluster.embedding_map.CustomerMap`,
:class:`~shopseg.cluster.hierarchy.SubSegmenter`) gives JSON-serialisable data, with arrays
encoded as ``{"dtype", "shape", "data"}``. For real shops the arrays (an HDBSCAN reference
set, a DEC encoder, a map's reference points) are large, so :func:`save_document` moves
every encoded array's ``data`` into one ``.npz`` file and leaves ``{"dtype", "shape", "npz":
key}`` in the JSON; :func:`load_document` puts them back (``allow_pickle=False``).
:func:`save_clusterer` / :func:`load_clusterer` do that for clusterers and rebuild the model
by its ``"kind"``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from shopseg.cluster.base import BaseClusterer, decode_array, is_encoded_array
from shopseg.errors import ShopsegError


def clusterer_from_dict(data: dict[str, Any]) -> BaseClusterer:
    """The fitted clusterer of any registered kind from its ``to_dict()`` data."""
    from shopseg.cluster import ALGORITHMS  # the registry imports this module

    kind = data.get("kind")
    if kind not in ALGORITHMS:
        raise ShopsegError(f"Saved clusterer of unknown kind {kind!r}. Known kinds: {', '.join(ALGORITHMS)}.")
    return ALGORITHMS[kind].from_dict(data)


def split_arrays(data: Any, arrays: dict[str, np.ndarray], path: str = "a") -> Any:
    """A copy of ``data`` with each encoded array's values moved into ``arrays`` (key = its path)."""
    if is_encoded_array(data) and "data" in data:
        key = path.replace("/", ".")
        arrays[key] = decode_array(data)
        return {"dtype": data["dtype"], "shape": data["shape"], "npz": key}
    if isinstance(data, dict):
        return {name: split_arrays(value, arrays, f"{path}/{name}") for name, value in data.items()}
    if isinstance(data, list):
        return [split_arrays(value, arrays, f"{path}/{i}") for i, value in enumerate(data)]
    return data


def join_arrays(data: Any, arrays: Any) -> Any:
    """The inverse of :func:`split_arrays`: encoded arrays get their values back from ``arrays``."""
    if is_encoded_array(data) and "npz" in data:
        values = arrays[data["npz"]]
        return {"dtype": data["dtype"], "shape": data["shape"], "data": values.ravel().tolist()}
    if isinstance(data, dict):
        return {name: join_arrays(value, arrays) for name, value in data.items()}
    if isinstance(data, list):
        return [join_arrays(value, arrays) for value in data]
    return data


def save_document(data: dict[str, Any], folder: str | Path, name: str) -> list[Path]:
    """Write a ``to_dict()`` document as ``folder/NAME.json`` + ``folder/NAME.npz``; return both paths."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    arrays: dict[str, np.ndarray] = {}
    document = split_arrays(data, arrays)
    json_path, npz_path = folder / f"{name}.json", folder / f"{name}.npz"
    json_path.write_text(json.dumps(document, indent=1))
    np.savez_compressed(npz_path, **arrays)
    return [json_path, npz_path]


def load_document(folder: str | Path, name: str) -> dict[str, Any]:
    """The document :func:`save_document` wrote, arrays back in place (ready for ``from_dict``)."""
    folder = Path(folder)
    json_path, npz_path = folder / f"{name}.json", folder / f"{name}.npz"
    if not json_path.exists():
        raise ShopsegError(f"{json_path}: no saved {name} here; point to the model folder of a run.")
    document = json.loads(json_path.read_text())
    if npz_path.exists():
        with np.load(npz_path, allow_pickle=False) as arrays:
            document = join_arrays(document, arrays)
    return document


def save_clusterer(model: BaseClusterer, folder: str | Path, name: str = "clusterer") -> list[Path]:
    """Write ``folder/NAME.json`` and ``folder/NAME.npz`` for a fitted clusterer; return both paths."""
    return save_document(model.to_dict(), folder, name)


def load_clusterer(folder: str | Path, name: str = "clusterer") -> BaseClusterer:
    """The clusterer :func:`save_clusterer` wrote into ``folder``, rebuilt by its kind."""
    return clusterer_from_dict(load_document(folder, name))
