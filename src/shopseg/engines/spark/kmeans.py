"""K-Means fitted with Spark MLlib: segments of more customers than one machine holds.

:class:`SparkKMeans` fits MLlib's K-Means (``k-means||`` initialisation, seeded) on scaled
rows spread over the cluster, then hands the result back in shopseg's own terms:

* ``clusterer_``: an :class:`~shopseg.cluster.AutoKMeans` holding the centroids, segment ids
  ordered by size (0 = largest, ties by centroid, as every shopseg clusterer), so
  :func:`~shopseg.cluster.save_clusterer` writes it as JSON + npz and ``predict`` (nearest
  centroid) places new customers on any engine;
* ``labels_``: a Spark DataFrame ``customer_id, segment_id`` in those ids;
* ``sizes_`` and ``inertia_`` (MLlib's training cost: the sum of squared distances).

The number of segments is fixed (``k``): choosing it (as :class:`AutoKMeans` does with a
silhouette rule) is cheap on a sample on one machine, then the chosen k is fitted here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Self

import numpy as np

from shopseg import schema as s
from shopseg.cluster import AutoKMeans
from shopseg.engines.spark.scale import VECTOR_COLUMN
from shopseg.errors import ShopsegError

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

#: Written into the clusterer's state: which engine fitted it.
ENGINE_NAME = "spark-mllib"


def size_order(sizes: np.ndarray, centroids: np.ndarray) -> np.ndarray:
    """Old cluster ids in their new order: largest first, ties by centroid; empty clusters left out.

    The rule of :func:`shopseg.cluster.base.order_by_size`, from counts instead of labels.
    """
    order = sorted(range(len(sizes)), key=lambda g: (-sizes[g], tuple(np.round(centroids[g], 9))))
    return np.array([g for g in order if sizes[g] > 0], dtype=np.int64)


class SparkKMeans:
    """K-Means on a Spark DataFrame of scaled rows; scikit-learn in spirit (``fit`` learns, ``_`` attributes).

    Input of :meth:`fit`: ``customer_id`` and ``features_column`` (``array<double>`` as
    :func:`~shopseg.engines.spark.scale.scaled_vectors` gives, or an MLlib vector).
    ``init_steps`` is the number of ``k-means||`` rounds; ``tol`` and ``max_iter`` stop
    Lloyd iterations. The input is cached for the iterations (each one is a pass over it).
    """

    def __init__(
        self,
        k: int,
        random_state: int = 0,
        max_iter: int = 100,
        tol: float = 1e-6,
        init_steps: int = 2,
        features_column: str = VECTOR_COLUMN,
    ) -> None:
        self.k = k
        self.random_state = random_state
        self.max_iter = max_iter
        self.tol = tol
        self.init_steps = init_steps
        self.features_column = features_column

    def fit(self, data: DataFrame) -> Self:
        """Fit on every row of ``data``; see the class docstring."""
        from pyspark.ml.clustering import KMeans
        from pyspark.ml.functions import array_to_vector
        from pyspark.sql import functions as f
        from pyspark.sql.types import ArrayType

        if not isinstance(self.k, int) or self.k < 1:
            raise ShopsegError(f"k must be a positive whole number of segments, got {self.k!r}.")
        if self.features_column not in data.columns or s.CUSTOMER_ID not in data.columns:
            raise ShopsegError(
                f"SparkKMeans needs the columns {s.CUSTOMER_ID} and {self.features_column}; "
                f"got {', '.join(data.columns)}."
            )
        vectors = data.select(s.CUSTOMER_ID, self.features_column)
        if isinstance(data.schema[self.features_column].dataType, ArrayType):
            vectors = vectors.withColumn(self.features_column, array_to_vector(self.features_column))
        vectors = vectors.cache()
        try:
            estimator = KMeans(
                k=self.k,
                seed=self.random_state,
                maxIter=self.max_iter,
                tol=self.tol,
                initMode="k-means||",
                initSteps=self.init_steps,
                featuresCol=self.features_column,
                predictionCol="cluster_",
            )
            model = estimator.fit(vectors)
            centroids = np.array([np.asarray(c, dtype="float64") for c in model.clusterCenters()])
            sizes = np.asarray(model.summary.clusterSizes, dtype=np.int64)
            self.inertia_ = float(model.summary.trainingCost)
            self.n_iter_ = int(model.summary.numIter)
        finally:
            vectors.unpersist()
        order = size_order(sizes, centroids)
        new_id = np.full(len(centroids), -1, dtype=np.int64)
        new_id[order] = np.arange(len(order))
        self.sizes_ = sizes[order]
        self.clusterer_ = self._as_clusterer(centroids[order])
        self.model_ = model
        lookup = f.create_map(*(f.lit(v) for pair in enumerate(new_id.tolist()) for v in pair))
        self.labels_ = model.transform(vectors).select(
            s.CUSTOMER_ID, lookup[f.col("cluster_")].cast("long").alias(s.SEGMENT_ID)
        )
        return self

    def _as_clusterer(self, centroids: np.ndarray) -> AutoKMeans:
        """An :class:`AutoKMeans` with these centroids: saved and applied like any shopseg K-Means."""
        clusterer = AutoKMeans(k=self.k, random_state=self.random_state, max_iter=self.max_iter)
        clusterer._reset()
        clusterer.centroids_ = centroids
        clusterer.n_clusters_ = len(centroids)
        clusterer.inertia_ = self.inertia_
        clusterer.engine_ = ENGINE_NAME
        clusterer.notes_.append(
            f"fitted with Spark MLlib K-Means (k-means||, seed {self.random_state}, {self.n_iter_} iterations)"
        )
        return clusterer
