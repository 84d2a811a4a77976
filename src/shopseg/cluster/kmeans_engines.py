"""K-Means engines behind one function: scikit-learn Lloyd, MiniBatchKMeans and faiss.

:func:`run_kmeans` fits one engine and returns labels, centroids, inertia and iterations, so
:class:`~shopseg.cluster.kmeans.AutoKMeans` and ``benchmarks/clustering.py`` measure and use
the same code. :func:`choose_engine` is the default per size, taken from that benchmark:
the fastest engine whose inertia is within 1% of the best engine's (see
:data:`ENGINE_BY_SIZE` for the numbers behind it). faiss is optional: ``pip install
faiss-cpu``; without it ``engine="faiss"`` raises a :class:`ShopsegError` that says so.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass

import numpy as np
from sklearn.cluster import KMeans, MiniBatchKMeans, kmeans_plusplus

from shopseg.errors import ShopsegError

ENGINES = ("lloyd", "minibatch", "faiss")

#: ``(largest number of rows, engine)`` in order: the default engine per matrix size.
#: Measured by ``benchmarks/clustering.py`` (overlapping blobs, 100k / 300k / 1M x 32, k=8,
#: same k-means++ init, 20 iterations, one thread): scikit-learn Lloyd is the fastest at every
#: size (1M: 0.6 s; faiss 5x and MiniBatchKMeans 13x slower) and has the lowest inertia
#: (MiniBatchKMeans +0.02-0.06%), so the rule "fastest within 1% of the best inertia" picks
#: Lloyd everywhere. The other engines stay available through ``engine=``.
ENGINE_BY_SIZE: tuple[tuple[float, str], ...] = ((float("inf"), "lloyd"),)

#: Rows per mini-batch: large batches keep MiniBatchKMeans' inertia within 1% of Lloyd's.
MINIBATCH_SIZE = 4096


@dataclass
class KMeansResult:
    """One engine's fit: ``labels`` (rows), ``centroids`` (k x features), ``inertia``, ``n_iter``."""

    labels: np.ndarray
    centroids: np.ndarray
    inertia: float
    n_iter: int
    engine: str


def faiss_available() -> bool:
    return importlib.util.find_spec("faiss") is not None


def choose_engine(n_rows: int) -> str:
    """The default engine for a matrix of ``n_rows`` rows (see :data:`ENGINE_BY_SIZE`)."""
    return next(engine for limit, engine in ENGINE_BY_SIZE if n_rows <= limit)


def kmeans_plusplus_init(matrix: np.ndarray, k: int, random_state: int, max_rows: int = 200_000) -> np.ndarray:
    """k-means++ seeds (k x features) drawn from at most ``max_rows`` rows, for engines given an init."""
    rng = np.random.default_rng(random_state)
    rows = np.sort(rng.choice(len(matrix), size=max_rows, replace=False)) if len(matrix) > max_rows else slice(None)
    centres, _ = kmeans_plusplus(np.asarray(matrix[rows], dtype="float64"), k, random_state=random_state)
    return centres


def run_kmeans(
    matrix: np.ndarray,
    k: int,
    *,
    engine: str = "lloyd",
    init: np.ndarray | None = None,
    n_init: int = 4,
    max_iter: int = 300,
    tol: float = 1e-4,
    random_state: int = 0,
) -> KMeansResult:
    """K-Means with one engine; ``init`` (k x features) replaces k-means++ and ``n_init`` restarts.

    ``tol=0`` runs exactly ``max_iter`` iterations on Lloyd and faiss (the benchmark's "same
    iterations"); MiniBatchKMeans counts ``max_iter`` in passes over the data.
    """
    if engine not in ENGINES:
        raise ShopsegError(f"Unknown K-Means engine '{engine}'. Known: {', '.join(ENGINES)} (or 'auto').")
    if engine == "faiss":
        return _faiss(matrix, k, init=init, n_init=n_init, max_iter=max_iter, random_state=random_state)
    start = "k-means++" if init is None else init
    restarts = n_init if init is None else 1
    if engine == "lloyd":
        # scikit-learn centres a copy of the data (copy_x=True): the caller's matrix is never
        # modified, at the price of one more matrix in memory (the benchmark's "fit extra MB").
        model = KMeans(k, init=start, n_init=restarts, max_iter=max_iter, tol=tol, random_state=random_state)
    else:
        model = MiniBatchKMeans(
            k,
            init=start,
            n_init=restarts,
            max_iter=max_iter,
            batch_size=MINIBATCH_SIZE,
            tol=tol,
            random_state=random_state,
        )
    model.fit(matrix)
    return KMeansResult(
        labels=model.labels_.astype(np.int64),
        centroids=model.cluster_centers_.astype("float64"),
        inertia=float(model.inertia_),
        n_iter=int(model.n_iter_),
        engine=engine,
    )


def _faiss(
    matrix: np.ndarray, k: int, *, init: np.ndarray | None, n_init: int, max_iter: int, random_state: int
) -> KMeansResult:
    if not faiss_available():
        raise ShopsegError("The 'faiss' K-Means engine needs faiss: pip install faiss-cpu, or use engine='auto'.")
    import faiss

    data = np.ascontiguousarray(matrix, dtype="float32")
    best: KMeansResult | None = None
    for attempt in range(1 if init is not None else n_init):
        seed = random_state + attempt
        start = init if init is not None else kmeans_plusplus_init(matrix, k, seed)
        # max_points_per_centroid: train on every row (faiss subsamples 256 rows per centroid by default).
        model = faiss.Kmeans(
            data.shape[1], k, niter=max_iter, seed=seed, max_points_per_centroid=len(data) // k + 1, verbose=False
        )
        model.train(data, init_centroids=np.ascontiguousarray(start, dtype="float32"))
        distances, labels = model.index.search(data, 1)
        result = KMeansResult(
            labels=labels[:, 0].astype(np.int64),
            centroids=model.centroids.astype("float64"),
            inertia=float(distances.sum(dtype="float64")),
            n_iter=max_iter,
            engine="faiss",
        )
        if best is None or result.inertia < best.inertia:
            best = result
    assert best is not None
    return best
