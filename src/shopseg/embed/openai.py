"""An OpenAI-compatible ``/v1/embeddings`` endpoint, for users who have one (``--text-model openai:MODEL``).

The base URL comes from ``SHOPSEG_OPENAI_BASE_URL`` (e.g. ``http://localhost:8000/v1`` for a
local server, or the provider's URL) and the key from ``OPENAI_API_KEY`` (may be empty for a
local server that needs none). Texts are sent in batches with the standard library's
``urllib``; the vectors are L2-normalised here. Texts are cut to ``max_characters`` (a
conservative stand-in for the provider's token limit, which this client cannot count).

Customer texts leave the machine with this encoder; nothing else in shopseg sends data out.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request

import numpy as np

from shopseg.embed.base import TextEncoder
from shopseg.errors import ConfigError, ShopsegError

BASE_URL_VARIABLE = "SHOPSEG_OPENAI_BASE_URL"
KEY_VARIABLE = "OPENAI_API_KEY"


class OpenAIEncoder(TextEncoder):
    """Embeddings from an OpenAI-compatible HTTP endpoint; see the module docstring."""

    def __init__(
        self,
        model: str,
        *,
        base_url: str | None = None,
        api_key: str | None = None,
        batch_size: int = 256,
        max_characters: int = 8000,
        timeout_s: float = 60.0,
    ) -> None:
        if not model:
            raise ConfigError("--text-model openai:MODEL needs a model name after 'openai:'.")
        base_url = base_url or os.environ.get(BASE_URL_VARIABLE)
        if not base_url:
            raise ConfigError(
                f"--text-model openai:{model} needs the endpoint's base URL in the environment variable "
                f"{BASE_URL_VARIABLE} (e.g. http://localhost:8000/v1) and, if it needs one, the key in {KEY_VARIABLE}."
            )
        self.model = model
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key if api_key is not None else os.environ.get(KEY_VARIABLE, "")
        self.batch_size = batch_size
        self.max_characters = max_characters
        self.timeout_s = timeout_s
        self.max_tokens = max_characters
        self.model_id = f"openai:{model}"
        self._dimension: int | None = None

    @property
    def dimension(self) -> int:  # type: ignore[override]
        if self._dimension is None:
            self._dimension = self._encode_batch(["dimension probe"]).shape[1]
        return self._dimension

    def _encode_batch(self, texts: list[str]) -> np.ndarray:
        url = f"{self.base_url}/embeddings"
        body = json.dumps({"model": self.model, "input": [t[: self.max_characters] or " " for t in texts]})
        headers = {"Content-Type": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        request = urllib.request.Request(url, data=body.encode("utf-8"), headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
                payload = json.loads(response.read().decode("utf-8"))
        except urllib.error.HTTPError as error:
            detail = error.read().decode("utf-8", "replace")[:300]
            raise ShopsegError(f"{url}: the embeddings endpoint answered {error.code}: {detail}") from None
        except (urllib.error.URLError, TimeoutError) as error:
            raise ShopsegError(
                f"{url}: cannot reach the embeddings endpoint ({error}). Check {BASE_URL_VARIABLE}."
            ) from None
        try:
            rows = sorted(payload["data"], key=lambda item: item["index"])
            vectors = np.array([row["embedding"] for row in rows], dtype=np.float32)
        except (KeyError, TypeError, ValueError):
            raise ShopsegError(f"{url}: the answer is not an OpenAI embeddings response.") from None
        if len(vectors) != len(texts):
            raise ShopsegError(f"{url}: asked for {len(texts)} embeddings, got {len(vectors)}.")
        self._dimension = vectors.shape[1]
        return vectors
