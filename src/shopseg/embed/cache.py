"""An embedding cache in DuckDB, keyed by (model id, SHA-256 of the normalised text).

Embedding is the slowest stage, and shops re-run on mostly the same data: the cache makes
a second run on the same data embed nothing. It lives in the run's DuckDB file (the store
passes its connection) or in a persistent file shared between runs (pass a path).

Table (name configurable, quoted everywhere)::

    model_id VARCHAR, text_sha256 VARCHAR, vector FLOAT[], PRIMARY KEY (model_id, text_sha256)

Vectors move in and out as Arrow list columns (no Python loop per row). The texts
themselves are not stored, only their hashes, so the cache holds no customer text.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from shopseg.errors import ShopsegError

DEFAULT_TABLE = "embedding_cache"
#: Names under which Arrow tables are registered for a query (and unregistered after it).
_WANTED, _INCOMING = "_shopseg_cache_wanted", "_shopseg_cache_incoming"


def text_key(text: str) -> str:
    """The cache key of an (already normalised) text: hex SHA-256 of its UTF-8 bytes."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _arrow_table(relation: duckdb.DuckDBPyRelation) -> pa.Table:
    """A relation as an Arrow table (``to_arrow_table`` in DuckDB 1.4+, ``fetch_arrow_table`` before)."""
    method = getattr(relation, "to_arrow_table", None) or relation.fetch_arrow_table
    return method()


def quote_identifier(name: str) -> str:
    """``name`` as a DuckDB identifier in double quotes (inner quotes doubled)."""
    return '"' + name.replace('"', '""') + '"'


class EmbeddingCache:
    """Get and put vectors by (model id, text hash); see the module docstring.

    ``connection_or_path``: an open DuckDB connection (not closed by the cache) or the path
    of a DuckDB file (opened here, closed by :meth:`close`), or ``":memory:"``.
    """

    def __init__(self, connection_or_path: duckdb.DuckDBPyConnection | str | Path, table: str = DEFAULT_TABLE):
        if isinstance(connection_or_path, duckdb.DuckDBPyConnection):
            self.connection = connection_or_path
            self._owned = False
        else:
            path = str(connection_or_path)
            if path != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            try:
                self.connection = duckdb.connect(path)
            except duckdb.IOException as error:  # e.g. another process holds the file's write lock
                raise ShopsegError(
                    f"{path}: cannot open the embedding cache ({error}). Another shopseg run may be using it; "
                    "wait for it, or point the cache elsewhere."
                ) from None
            self._owned = True
        self.table = quote_identifier(table)
        self._run(
            f"CREATE TABLE IF NOT EXISTS {self.table} ("
            "model_id VARCHAR NOT NULL, text_sha256 VARCHAR NOT NULL, vector FLOAT[] NOT NULL, "
            "PRIMARY KEY (model_id, text_sha256))"
        )

    def _run(self, query: str, parameters: list[object] | None = None) -> list[tuple]:
        """Execute a statement and fetch its result completely (DuckDB 2 requires it before the next one)."""
        return self.connection.execute(query, parameters or []).fetchall()

    def get_many(self, model_id: str, keys: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """Cached vectors for ``keys``: ``(found, vectors)``.

        ``found`` is a boolean mask over ``keys``; ``vectors`` has one float32 row per found
        key, in the order of ``keys``.
        """
        keys = list(keys)
        if not keys:
            return np.zeros(0, dtype=bool), np.zeros((0, 0), dtype=np.float32)
        wanted = pa.table({"position": pa.array(np.arange(len(keys))), "text_sha256": pa.array(keys, pa.string())})
        self.connection.register(_WANTED, wanted)
        try:
            relation = self.connection.sql(
                f"SELECT w.position, c.vector FROM {_WANTED} AS w JOIN {self.table} AS c "
                "ON c.text_sha256 = w.text_sha256 AND c.model_id = $model ORDER BY w.position",
                params={"model": model_id},
            )
            found = _arrow_table(relation)
        finally:
            self.connection.unregister(_WANTED)
        mask = np.zeros(len(keys), dtype=bool)
        if found.num_rows == 0:
            return mask, np.zeros((0, 0), dtype=np.float32)
        mask[found.column("position").to_numpy()] = True
        vectors = found.column("vector").combine_chunks()
        dimension = len(vectors[0])
        flat = pc.list_flatten(vectors).to_numpy(zero_copy_only=False).astype(np.float32)
        return mask, flat.reshape(found.num_rows, dimension)

    def put_many(self, model_id: str, keys: Sequence[str], vectors: np.ndarray) -> int:
        """Store vectors (rows matching ``keys``); keys already cached are left as they are.

        Returns the number of rows newly stored.
        """
        keys = list(keys)
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if not keys:
            return 0
        if vectors.shape[0] != len(keys):
            raise ValueError(f"put_many: {len(keys)} keys but {vectors.shape[0]} vectors")
        dimension = vectors.shape[1]
        offsets = pa.array(np.arange(0, (len(keys) + 1) * dimension, dimension, dtype=np.int32))
        rows = pa.table(
            {
                "model_id": pa.array([model_id] * len(keys), pa.string()),
                "text_sha256": pa.array(keys, pa.string()),
                "vector": pa.ListArray.from_arrays(offsets, pa.array(vectors.ravel())),
            }
        )
        self.connection.register(_INCOMING, rows)
        try:
            before = self.count(model_id)
            self._run(
                f"INSERT OR IGNORE INTO {self.table} SELECT DISTINCT ON (model_id, text_sha256) * FROM {_INCOMING}"
            )
            return self.count(model_id) - before
        finally:
            self.connection.unregister(_INCOMING)

    def count(self, model_id: str | None = None) -> int:
        """Vectors cached (for one model id, or all)."""
        if model_id is None:
            return int(self._run(f"SELECT count(*) FROM {self.table}")[0][0])
        return int(self._run(f"SELECT count(*) FROM {self.table} WHERE model_id = ?", [model_id])[0][0])

    def model_ids(self) -> Iterable[str]:
        """Model ids with cached vectors."""
        return [row[0] for row in self._run(f"SELECT DISTINCT model_id FROM {self.table} ORDER BY model_id")]

    def close(self) -> None:
        """Close the connection if the cache opened it."""
        if self._owned:
            self.connection.close()

    def __enter__(self) -> EmbeddingCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
