"""Save and load fitted recommenders as data: JSON for parameters, ``.npz`` for arrays, no pickle.

A saved model is a folder with ``recommender.json`` (format version, model name, parameters,
small learned values) and ``recommender.npz`` (arrays: the interaction matrices and id maps,
factors, similarity matrices, popularity ...; sparse matrices as data/indices/indptr; text as
unicode arrays, so ``allow_pickle`` stays off). A hybrid's components are stored under their
name; all models share one copy of the interactions. Matrices that are cheap to derive from
the interactions (a model's ``rebuilt_on_load``) are not stored but rebuilt on load.

Parameters that are data (``product_vectors``) are not stored: the fitted model already holds
them aligned to its products (``product_matrix_``); they come back as ``None``. A loaded model
recommends, scores audiences and explains exactly as the saved one did; it cannot be refitted
from its own interactions (the line-level table with timestamps is not stored).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from shopseg.errors import ShopsegError
from shopseg.recommend.base import Recommender
from shopseg.recommend.interactions import Interactions
from shopseg.recommend.registry import RECOMMENDERS

FORMAT_VERSION = 1
MANIFEST = "recommender.json"
ARRAYS = "recommender.npz"
_INTERACTION_ARRAYS = ("purchases", "signals", "last_purchase_day")
_INTERACTION_TEXT = ("customer_ids", "product_ids", "titles", "categories", "texts")


def _plain(value: Any) -> Any:
    """JSON-ready copy of small values (numpy scalars, tuples, frozensets, DataFrames dropped)."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (frozenset, set)):
        return {"__frozenset__": sorted(_plain(v) for v in value)}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (pd.DataFrame, pd.Series, np.ndarray)):
        return None
    return value


def _restored(value: Any) -> Any:
    if isinstance(value, dict):
        if set(value) == {"__frozenset__"}:
            return frozenset(value["__frozenset__"])
        return {k: _restored(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_restored(v) for v in value]
    return value


def _put(arrays: dict[str, np.ndarray], kinds: dict[str, str], key: str, value: Any) -> bool:
    """Store an array-like attribute; False when ``value`` is not one (it goes to JSON instead)."""
    if sp.issparse(value):
        matrix = sp.csr_matrix(value)
        arrays[f"{key}.data"], arrays[f"{key}.indices"], arrays[f"{key}.indptr"] = (
            matrix.data,
            matrix.indices,
            matrix.indptr,
        )
        arrays[f"{key}.shape"] = np.asarray(matrix.shape, dtype=np.int64)
        kinds[key] = "csr"
    elif isinstance(value, np.ndarray):
        if value.dtype == object:
            arrays[key] = value.astype(str)
            kinds[key] = "object"
        else:
            arrays[key] = value
            kinds[key] = "array"
    elif isinstance(value, pd.Index):
        arrays[key] = value.to_numpy().astype(str)
        kinds[key] = "index"
    elif isinstance(value, pd.Series):
        arrays[f"{key}.index"] = value.index.to_numpy().astype(str)
        arrays[f"{key}.values"] = value.to_numpy()
        kinds[key] = "series"
    else:
        return False
    return True


def _get(arrays: Any, kind: str, key: str) -> Any:
    if kind == "csr":
        shape = tuple(int(v) for v in arrays[f"{key}.shape"])
        return sp.csr_matrix((arrays[f"{key}.data"], arrays[f"{key}.indices"], arrays[f"{key}.indptr"]), shape=shape)
    if kind == "object":
        return arrays[key].astype(object)
    if kind == "index":
        return pd.Index(arrays[key].astype(object), dtype=object)
    if kind == "series":
        return pd.Series(arrays[f"{key}.values"], index=pd.Index(arrays[f"{key}.index"].astype(object), dtype=object))
    return arrays[key]


def _model_state(model: Recommender, prefix: str, arrays: dict[str, np.ndarray]) -> dict[str, Any]:
    kinds: dict[str, str] = {}
    values: dict[str, Any] = {}
    components: dict[str, Any] = {}
    for name, value in vars(model).items():
        if not name.endswith("_") or name.startswith("_") or name in ("interactions_", *model.rebuilt_on_load):
            continue
        if name == "components_":
            components = {n: _model_state(m, f"{prefix}{n}/", arrays) for n, m in value.items()}
            continue
        if not _put(arrays, kinds, prefix + name, value):
            values[name] = _plain(value)
    return {
        "model": model.name,
        "params": _plain(model.get_params()),
        "arrays": kinds,
        "values": values,
        "components": components,
    }


def save_recommender(model: Recommender, folder: str | Path) -> Path:
    """Write a fitted ``model`` into ``folder`` (created); returns the manifest path."""
    model._check_fitted()
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    arrays: dict[str, np.ndarray] = {}
    data = model.interactions_
    interaction_kinds: dict[str, str] = {}
    for name in _INTERACTION_ARRAYS + _INTERACTION_TEXT:
        _put(arrays, interaction_kinds, f"interactions/{name}", getattr(data, name))
    manifest = {
        "format_version": FORMAT_VERSION,
        "interactions": {
            "arrays": interaction_kinds,
            "reference_ts": None if data.reference_ts is None else str(data.reference_ts),
            "signal_weights": data.signal_weights,
        },
        **_model_state(model, "model/", arrays),
    }
    np.savez(folder / ARRAYS, **arrays)
    path = folder / MANIFEST
    path.write_text(json.dumps(manifest, indent=2))
    return path


def _load_interactions(manifest: dict[str, Any], arrays: Any) -> Interactions:
    kinds = manifest["arrays"]
    parts = {name: _get(arrays, kinds[f"interactions/{name}"], f"interactions/{name}") for name in _INTERACTION_ARRAYS}
    texts = {name: _get(arrays, kinds[f"interactions/{name}"], f"interactions/{name}") for name in _INTERACTION_TEXT}
    reference = manifest["reference_ts"]
    return Interactions(
        customer_ids=texts["customer_ids"],
        product_ids=texts["product_ids"],
        titles=texts["titles"],
        categories=texts["categories"],
        texts=texts["texts"],
        lines=pd.DataFrame(columns=["row", "column", "ts", "kind", "weight"]),
        reference_ts=None if reference is None else pd.Timestamp(reference),
        signal_weights=manifest["signal_weights"],
        **parts,
    )


def _load_model(state: dict[str, Any], prefix: str, arrays: Any, data: Interactions) -> Recommender:
    if state["model"] not in RECOMMENDERS:
        raise ShopsegError(f"Saved recommender '{state['model']}' is unknown to this version of shopseg.")
    model = RECOMMENDERS[state["model"]](**_restored(state["params"]))
    model.interactions_ = data
    for name, kind in state["arrays"].items():
        setattr(model, name[len(prefix) :], _get(arrays, kind, name))
    for name, value in state["values"].items():
        setattr(model, name, _restored(value))
    if state["components"]:
        model.components_ = {
            name: _load_model(sub, f"{prefix}{name}/", arrays, data) for name, sub in state["components"].items()
        }
    model._rebuild()
    return model


def load_recommender(folder: str | Path) -> Recommender:
    """A fitted recommender from a folder written by :func:`save_recommender`."""
    folder = Path(folder)
    path = folder / MANIFEST
    if not path.exists():
        raise ShopsegError(f"{folder}: no {MANIFEST} here; point to the recommender folder of a run (model/recommend).")
    manifest = json.loads(path.read_text())
    if manifest.get("format_version") != FORMAT_VERSION:
        raise ShopsegError(
            f"{path}: saved with recommender format {manifest.get('format_version')}, this shopseg reads "
            f"{FORMAT_VERSION}. Re-run 'shopseg segment' to refit."
        )
    with np.load(folder / ARRAYS, allow_pickle=False) as arrays:
        data = _load_interactions(manifest["interactions"], arrays)
        return _load_model(manifest, "model/", arrays, data)
