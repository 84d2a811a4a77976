"""Apply a saved shopseg model to a Spark frame of features: one segment per customer.

The model is the one ``Segmenter.save`` writes (``model.json`` + clusterer JSON/npz, the
fusion folder when it uses text). Its files are read once on the driver and shipped with
the task as bytes (data, not a pickle, and no shared file system needed); on each Python
worker they are written to a temporary folder and loaded with :meth:`Segmenter.load` once,
then reused for every task and Arrow batch that worker runs (``mapInPandas``). Each batch
goes through :meth:`Segmenter.represent` and :meth:`Segmenter.segments_of`, the code
:meth:`Segmenter.predict` runs, so a customer gets the same segment on both engines when
the features agree.

Text: a model fitted with text is applied with the customers' text blocks when ``text`` is
given (:func:`~shopseg.engines.spark.text.customer_text_blocks`, joined to the features
before the batches are cut, so every batch carries its customers' vectors); without it, every
customer's text sits at "no information" (the blocks' mean, what ``represent`` does without
a shop), only behaviour decides, and a warning says so.

Shopseg itself must be importable on the executors (installed in the Python they run).
"""

from __future__ import annotations

import hashlib
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from shopseg import schema as s
from shopseg.engines.spark.scale import feature_selection
from shopseg.engines.spark.text import text_batch
from shopseg.errors import ShopsegError
from shopseg.pipeline import Segmenter

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

#: Fitted models loaded in this Python process, by the digest of their files.
_LOADED: dict[str, Segmenter] = {}


def model_folder(run_dir: str | Path) -> Path:
    """The folder holding ``model.json``: ``run_dir/model`` of a run, or ``run_dir`` itself."""
    folder = Path(run_dir)
    for candidate in (folder / "model", folder):
        if (candidate / "model.json").exists():
            return candidate
    raise ShopsegError(f"{folder}: no model.json here; point to a run folder written by 'shopseg segment'.")


def read_model_files(run_dir: str | Path) -> dict[str, bytes]:
    """Every file of the model folder, by path relative to it (a few JSON and npz files)."""
    folder = model_folder(run_dir)
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def files_digest(files: dict[str, bytes]) -> str:
    """A digest of the model's files: the key a worker caches the loaded model under."""
    digest = hashlib.sha256()
    for name, content in sorted(files.items()):
        digest.update(name.encode())
        digest.update(hashlib.sha256(content).digest())
    return digest.hexdigest()


def load_model(files: dict[str, bytes], digest: str) -> Segmenter:
    """The Segmenter saved in ``files``, loaded once per Python process."""
    if digest not in _LOADED:
        with tempfile.TemporaryDirectory(prefix="shopseg-model-") as tmp:
            for name, content in files.items():
                target = Path(tmp) / name
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(content)
            _LOADED[digest] = Segmenter.load(tmp)
    return _LOADED[digest]


def text_blocks_of(segmenter: Segmenter) -> dict[str, int]:
    """The fitted model's text blocks and their dimensions ({} without text)."""
    if segmenter.fuser_ is None or segmenter.fuser_.normaliser_ is None:
        return {}
    normaliser = segmenter.fuser_.normaliser_
    return {name: len(normaliser.mean_[name]) for name in normaliser.blocks_ if normaliser.text_[name]}


def assign_batches(batches: Iterator[pd.DataFrame], files: dict[str, bytes], digest: str) -> Iterator[pd.DataFrame]:
    """``mapInPandas`` body: batches of features (and text blocks, if joined) -> customer_id, segment_id."""
    segmenter = load_model(files, digest)
    text_dims = text_blocks_of(segmenter)
    for batch in batches:
        if batch.empty:
            continue
        present = [name for name in text_dims if name in batch]
        text = None
        if present:
            text = text_batch(batch, present, text_dims)
            batch = batch.drop(columns=[c for name in present for c in (name, f"{name}_n")])
        features = batch.set_index(s.CUSTOMER_ID)
        segments = segmenter.segments_of(segmenter.represent(features, text=text))
        yield pd.DataFrame({s.CUSTOMER_ID: batch[s.CUSTOMER_ID].to_numpy(), s.SEGMENT_ID: segments.astype("int64")})


def assign_segments(features: DataFrame, run_dir: str | Path, text: DataFrame | None = None) -> DataFrame:
    """``customer_id``, ``segment_id`` for every row of ``features`` under the model saved in ``run_dir``.

    ``features``: ``customer_id`` and the feature columns the model was fitted on, computed as
    of the model's reference time and with its priors
    (:func:`~shopseg.engines.spark.features.spark_features` with
    ``Segmenter.load(run_dir).feature_context_``). ``text``: the customers' text blocks
    (:func:`~shopseg.engines.spark.text.customer_text_blocks` with the model's encoder), for a
    model fitted with text. Lazy: nothing runs until the result is used.
    """
    files = read_model_files(run_dir)
    digest = files_digest(files)
    segmenter = load_model(files, digest)  # on the driver: checks the model and its columns up front
    text_dims = text_blocks_of(segmenter)
    if text_dims and text is None:
        warnings.warn(
            "This model uses text but no text blocks were given: customers are placed as if they had "
            "no text (behaviour alone decides).",
            UserWarning,
            stacklevel=2,
        )
    selected = feature_selection(features, segmenter.scaler_)
    if text_dims and text is not None:
        wanted = [c for name in text_dims if name in text.columns for c in (name, f"{name}_n")]
        selected = selected.join(text.select(s.CUSTOMER_ID, *wanted).hint("merge"), s.CUSTOMER_ID, "left")

    def assign(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        return assign_batches(batches, files, digest)

    return selected.mapInPandas(assign, f"{s.CUSTOMER_ID} string, {s.SEGMENT_ID} long")
