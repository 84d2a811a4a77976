"""Clustering: scaling and clustering algorithms, registered by name."""

from shopseg.cluster.kmeans import AutoKMeans
from shopseg.cluster.scaling import BlockScaler, RobustLogScaler

#: Algorithms the CLI's ``--algorithm`` accepts.
ALGORITHMS = {"kmeans": AutoKMeans}

__all__ = ["ALGORITHMS", "AutoKMeans", "BlockScaler", "RobustLogScaler"]
