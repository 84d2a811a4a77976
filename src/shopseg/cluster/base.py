"""The interface every clustering algorithm implements, and the plumbing they share.

A clusterer is a scikit-learn-style estimator over a scaled matrix (customers x features,
float, finite):

* ``__init__`` only stores parameters (``k``, ``k_range``, ``random_state`` and its own);
* ``fit(matrix)`` learns and returns ``self``;
* learned attributes end in ``_``: ``labels_`` (segment id per row, ``0`` = largest segment,
  ``-1`` = :data:`UNASSIGNED` where the algorithm leaves noise out), ``n_clusters_`` (segments,
  not counting ``-1``), ``centroids_`` (``n_clusters_ x features``, mean of each segment),
  ``scores_`` (``{k: value of the deciding criterion}``, JSON-friendly; empty when ``k`` was
  fixed), ``criterion_`` (its name), ``selection_rule_`` (the rule in words), ``selection_``
  (the whole model-selection table, one row per k, see :mod:`shopseg.cluster.selection`) and
  ``notes_`` (sentences for the run record);
* ``predict(matrix)`` places new rows (scaled like the training rows) without refitting;
* ``to_dict()`` / ``from_dict()`` keep a fitted model as plain JSON data with a ``"kind"``
  field; arrays are encoded by :func:`encode_array` so that :mod:`shopseg.cluster.persist`
  can move them to an ``.npz`` file. Never pickle.

:class:`BaseClusterer` gives the shared parts: parameters read from ``__init__``'s signature
(``get_params``, ``clone``), input checks, the choice between a fixed and a selected k on
degenerate data, renumbering segments by size, nearest-centroid ``predict`` and the JSON
round trip. An algorithm adds ``fit`` and, when it keeps more than centroids, ``_state`` /
``_load_state`` and its own ``predict``.
"""

from __future__ import annotations

import inspect
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, Self, runtime_checkable

import numpy as np
import pandas as pd
from sklearn.metrics import pairwise_distances_argmin

from shopseg.errors import ShopsegError

if TYPE_CHECKING:
    from shopseg.cluster.selection import KSelection

#: Segment id of customers an algorithm leaves out as noise (HDBSCAN with ``noise="unassigned"``).
UNASSIGNED = -1
#: Display name of :data:`UNASSIGNED` customers.
UNASSIGNED_NAME = "Unassigned"
#: Version of the dictionaries written by ``to_dict``; ``from_dict`` refuses others.
FORMAT_VERSION = 1


@runtime_checkable
class Clusterer(Protocol):
    """What the pipeline, stability and two-level code rely on (see the module docstring)."""

    kind: ClassVar[str]
    k: int | None
    random_state: int
    labels_: np.ndarray
    n_clusters_: int
    centroids_: np.ndarray
    scores_: dict[int, float]
    criterion_: str
    selection_rule_: str
    selection_: pd.DataFrame
    notes_: list[str]

    def fit(self, matrix: np.ndarray) -> Self: ...

    def predict(self, matrix: np.ndarray) -> np.ndarray: ...

    def get_params(self) -> dict[str, Any]: ...

    def clone(self, **overrides: Any) -> Self: ...

    def to_dict(self) -> dict[str, Any]: ...

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Self: ...


# --- arrays as JSON data -------------------------------------------------------------------


def encode_array(array: np.ndarray) -> dict[str, Any]:
    """An array as ``{"dtype", "shape", "data": flat list}``; floats round-trip exactly through JSON."""
    array = np.asarray(array)
    return {"dtype": array.dtype.str, "shape": list(array.shape), "data": array.ravel().tolist()}


def decode_array(encoded: dict[str, Any]) -> np.ndarray:
    """The inverse of :func:`encode_array`."""
    return np.asarray(encoded["data"], dtype=np.dtype(encoded["dtype"])).reshape(encoded["shape"])


def is_encoded_array(value: object) -> bool:
    return isinstance(value, dict) and {"dtype", "shape"} <= set(value) and ("data" in value or "npz" in value)


# --- input checks and small shared computations ---------------------------------------------


def check_matrix(matrix: object) -> np.ndarray:
    """The matrix as a 2-D float64 array, or a :class:`ShopsegError` saying what is wrong."""
    array = np.asarray(matrix, dtype="float64")
    if array.ndim != 2:
        raise ShopsegError(
            f"Clustering needs a 2-D matrix (customers x features), got an array of shape {array.shape}."
        )
    if len(array) == 0:
        raise ShopsegError("No customers to cluster: the matrix has 0 rows.")
    bad = ~np.isfinite(array)
    if bad.any():
        row, column = np.argwhere(bad)[0]
        raise ShopsegError(
            f"The matrix to cluster has {int(bad.sum())} missing or infinite values (first at row {row}, "
            f"column {column}). Scale the features with BlockScaler, which fills and clips them, before clustering."
        )
    return array


def count_distinct_rows(matrix: np.ndarray) -> int:
    """Number of distinct rows (to 9 decimals), via a random projection: O(n log n), not a row sort.

    Distinct rows collide only if they differ exactly along a random Gaussian direction,
    which has probability zero; identical rows always collide.
    """
    if matrix.shape[1] == 0:
        return 1 if len(matrix) else 0
    direction = np.random.default_rng(12345).normal(size=matrix.shape[1])
    return len(np.unique(np.round(matrix, 9) @ direction))


def sample_rows(n_rows: int, max_rows: int, random_state: int) -> np.ndarray:
    """Sorted indices of at most ``max_rows`` rows drawn without replacement (all rows if fewer)."""
    if n_rows <= max_rows:
        return np.arange(n_rows)
    rng = np.random.default_rng(random_state)
    return np.sort(rng.choice(n_rows, size=max_rows, replace=False))


def segment_means(matrix: np.ndarray, labels: np.ndarray, n_segments: int) -> np.ndarray:
    """Mean row of each segment ``0..n_segments-1`` (``n_segments x features``); noise rows ignored."""
    kept = labels >= 0
    sums = np.zeros((n_segments, matrix.shape[1]))
    np.add.at(sums, labels[kept], matrix[kept])
    counts = np.bincount(labels[kept], minlength=n_segments)[:, None]
    return sums / np.maximum(counts, 1)


def order_by_size(labels: np.ndarray, n_groups: int, centroids: np.ndarray) -> np.ndarray:
    """New id for each old group id: largest group 0, ties by centroid; empty groups get -1.

    K-Means' label order is arbitrary; ordering by size makes segment ids comparable across
    runs and seeds. Noise (``-1``) is left alone by the caller.
    """
    sizes = np.bincount(labels[labels >= 0], minlength=n_groups)
    order = sorted(range(n_groups), key=lambda g: (-sizes[g], tuple(np.round(centroids[g], 9))))
    order = [g for g in order if sizes[g] > 0]
    new_id = np.full(n_groups, -1)
    new_id[order] = np.arange(len(order))
    return new_id


def relabel(labels: np.ndarray, new_id: np.ndarray) -> np.ndarray:
    """Apply an old-id -> new-id table to labels, keeping -1 as -1."""
    out = np.full(len(labels), UNASSIGNED, dtype=np.int64)
    kept = labels >= 0
    out[kept] = new_id[labels[kept]]
    return out


def _plain(value: Any) -> Any:
    """Parameters as JSON values: tuples become lists, numpy scalars Python numbers."""
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


# --- the base class --------------------------------------------------------------------------


class BaseClusterer:
    """Shared behaviour of every clusterer; subclasses set ``kind`` and implement ``fit``."""

    kind: ClassVar[str] = ""
    #: Parameters that are tuples (JSON turns them into lists; ``from_dict`` turns them back).
    _tuple_params: ClassVar[tuple[str, ...]] = ("k_range",)

    k: int | None
    k_range: tuple[int, int]
    random_state: int

    # --- parameters -----------------------------------------------------------------------
    @classmethod
    def _param_names(cls) -> list[str]:
        signature = inspect.signature(cls.__init__)
        return [name for name in signature.parameters if name != "self"]

    def get_params(self) -> dict[str, Any]:
        """The constructor's parameters and their current values."""
        return {name: getattr(self, name) for name in self._param_names()}

    def clone(self, **overrides: Any) -> Self:
        """An unfitted copy with the same parameters, some replaced (e.g. ``k=`` or ``random_state=``)."""
        return type(self)(**{**self.get_params(), **overrides})

    def __repr__(self) -> str:
        params = ", ".join(f"{name}={value!r}" for name, value in self.get_params().items())
        return f"{type(self).__name__}({params})"

    # --- fitting helpers ------------------------------------------------------------------
    def _reset(self) -> None:
        self.labels_ = np.zeros(0, dtype=np.int64)
        self.n_clusters_ = 0
        self.centroids_ = np.zeros((0, 0))
        self.scores_: dict[int, float] = {}
        self.criterion_ = ""
        self.selection_rule_ = ""
        self.selection_ = pd.DataFrame()
        self.notes_: list[str] = []

    def _keep_selection(self, selection: KSelection) -> None:
        """Record how k was chosen: table, criterion, scores, rule, and a note."""
        self.selection_, self.criterion_ = selection.table, selection.criterion
        self.scores_ = selection.scores()
        self.selection_rule_ = selection.rule
        self.notes_.append(f"k={selection.k} chosen by the rule: {selection.rule}")

    def _check_params(self) -> None:
        if self.k is not None and (not isinstance(self.k, int | np.integer) or self.k < 1):
            raise ShopsegError(f"k must be a positive whole number of segments or None (choose it), got {self.k!r}.")
        low, high = self.k_range
        if not 1 <= low <= high:
            raise ShopsegError(f"k_range must be (low, high) with 1 <= low <= high, got {self.k_range!r}.")

    def _resolve_k(self, matrix: np.ndarray) -> tuple[int | None, list[int]]:
        """Either a fixed k (``(k, [])``) or the k values to compare (``(None, ks)``).

        Degenerate inputs decide themselves, with a note: fewer than two distinct rows or no
        columns give one segment; ``k`` above the number of distinct rows is capped; a range
        that the data cannot support collapses to one k.
        """
        n_distinct = count_distinct_rows(matrix)
        if n_distinct < 2 or matrix.shape[1] == 0:
            self.notes_.append("fewer than two distinct customers: one segment")
            return 1, []
        if self.k is not None:
            k = min(int(self.k), n_distinct)
            if k < self.k:
                self.notes_.append(f"k={self.k} asked, only {n_distinct} distinct customers: k={k}")
            return k, []
        low, high = self.k_range
        high = min(high, n_distinct - 1, len(matrix) - 1)
        if high <= low:
            k = min(low, n_distinct)
            self.notes_.append(f"too few distinct customers to compare k over {tuple(self.k_range)}: k={k}")
            return k, []
        return None, list(range(low, high + 1))

    def _store(self, matrix: np.ndarray, labels: np.ndarray, centroids: np.ndarray | None = None) -> np.ndarray:
        """Renumber segments by size (0 = largest), keep labels and centroids; return old -> new ids.

        ``centroids`` default to the segment means. Groups left empty disappear.
        """
        labels = np.asarray(labels, dtype=np.int64)
        n_groups = int(labels.max()) + 1 if (labels >= 0).any() else 0
        if centroids is None or len(centroids) < n_groups:
            centroids = segment_means(matrix, labels, n_groups)
        new_id = order_by_size(labels, len(centroids), centroids)
        kept = np.flatnonzero(new_id >= 0)
        self.labels_ = relabel(labels, new_id)
        self.centroids_ = np.asarray(centroids, dtype="float64")[kept[np.argsort(new_id[kept])]]
        self.n_clusters_ = len(kept)
        return new_id

    # --- applying -------------------------------------------------------------------------
    def _check_fitted(self) -> None:
        if getattr(self, "centroids_", None) is None or not getattr(self, "n_clusters_", 0):
            raise ShopsegError(f"This {type(self).__name__} is not fitted yet: call fit(matrix) first.")

    def _check_columns(self, matrix: np.ndarray) -> np.ndarray:
        matrix = check_matrix(matrix)
        expected = self.centroids_.shape[1]
        if matrix.shape[1] != expected:
            raise ShopsegError(
                f"The matrix has {matrix.shape[1]} columns but the model was fitted on {expected}: "
                "scale new customers with the scaler saved with the model."
            )
        return matrix

    def predict(self, matrix: np.ndarray) -> np.ndarray:
        """Segment id of each row: its nearest centroid (rows scaled like the training data)."""
        self._check_fitted()
        matrix = self._check_columns(matrix)
        if self.n_clusters_ == 1:
            return np.zeros(len(matrix), dtype=np.int64)
        return pairwise_distances_argmin(matrix, self.centroids_).astype(np.int64)

    def fit_predict(self, matrix: np.ndarray) -> np.ndarray:
        return self.fit(matrix).labels_

    def fit(self, matrix: np.ndarray) -> Self:  # pragma: no cover - every subclass implements it
        raise NotImplementedError

    # --- persistence: plain data, never pickle ---------------------------------------------
    def _state(self) -> dict[str, Any]:
        """Learned state beyond centroids (arrays through :func:`encode_array`)."""
        return {}

    def _load_state(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`_state` wrote."""

    def to_dict(self) -> dict[str, Any]:
        """The fitted model as JSON-serialisable data (``json.dumps`` works on it)."""
        self._check_fitted()
        selection = self.selection_.astype(object).where(self.selection_.notna(), None)
        return {
            "kind": self.kind,
            "format_version": FORMAT_VERSION,
            "params": {name: _plain(value) for name, value in self.get_params().items()},
            "n_clusters": int(self.n_clusters_),
            "centroids": encode_array(self.centroids_),
            "criterion": self.criterion_,
            "selection_rule": self.selection_rule_,
            "scores": {str(k): float(v) for k, v in self.scores_.items()},
            "selection": selection.to_dict(orient="records"),
            "notes": list(self.notes_),
            "state": self._state(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Self:
        """A fitted model from :meth:`to_dict`'s data (labels of the training rows are not kept)."""
        if data.get("kind") != cls.kind:
            raise ShopsegError(f"This saved model is of kind {data.get('kind')!r}, not {cls.kind!r}.")
        if data.get("format_version") != FORMAT_VERSION:
            raise ShopsegError(
                f"Saved {cls.kind} model has format version {data.get('format_version')}; "
                f"this shopseg reads version {FORMAT_VERSION}. Refit the model."
            )
        params = dict(data["params"])
        for name in cls._tuple_params:
            if isinstance(params.get(name), list):
                params[name] = tuple(params[name])
        model = cls(**params)
        model._reset()
        model.n_clusters_ = int(data["n_clusters"])
        model.centroids_ = decode_array(data["centroids"])
        model.criterion_ = data.get("criterion", "")
        model.selection_rule_ = data.get("selection_rule", "")
        model.scores_ = {int(k): float(v) for k, v in data.get("scores", {}).items()}
        model.selection_ = pd.DataFrame.from_records(data.get("selection", []))
        model.notes_ = list(data.get("notes", []))
        model._load_state(data.get("state", {}))
        return model
