"""Clustering: scaling, clustering algorithms registered by name, and what is measured about them.

Every algorithm implements :class:`~shopseg.cluster.base.Clusterer` (fit / predict /
``labels_`` / ``to_dict``); :data:`ALGORITHMS` maps the CLI's ``--algorithm`` names to
them. Around them: :mod:`~shopseg.cluster.selection` (choice of k),
:mod:`~shopseg.cluster.stability` (bootstrap stability per segment),
:mod:`~shopseg.cluster.hierarchy` (sub-segments), :mod:`~shopseg.cluster.embedding_map`
(2-D map) and :mod:`~shopseg.cluster.persist` (save / load as JSON + npz).
"""

from shopseg.cluster.base import UNASSIGNED, UNASSIGNED_NAME, BaseClusterer, Clusterer
from shopseg.cluster.dec import DECClusterer
from shopseg.cluster.embedding_map import CustomerMap
from shopseg.cluster.gmm import GaussianMixtureClusterer
from shopseg.cluster.hdbscan import HDBSCANClusterer
from shopseg.cluster.hierarchy import SubSegmenter
from shopseg.cluster.kmeans import AutoKMeans
from shopseg.cluster.persist import clusterer_from_dict, load_clusterer, load_document, save_clusterer, save_document
from shopseg.cluster.scaling import BlockScaler, RobustLogScaler
from shopseg.cluster.selection import KSelection, choose_k, select_k, selection_summary
from shopseg.cluster.stability import StabilityReport, assess_stability
from shopseg.cluster.ward import WardClusterer

#: Algorithms the CLI's ``--algorithm`` accepts: name -> class (all take ``k``, ``k_range``, ``random_state``).
ALGORITHMS: dict[str, type[BaseClusterer]] = {
    "kmeans": AutoKMeans,
    "gmm": GaussianMixtureClusterer,
    "hdbscan": HDBSCANClusterer,
    "ward": WardClusterer,
    "dec": DECClusterer,
}

__all__ = [
    "ALGORITHMS",
    "UNASSIGNED",
    "UNASSIGNED_NAME",
    "AutoKMeans",
    "BaseClusterer",
    "BlockScaler",
    "Clusterer",
    "CustomerMap",
    "DECClusterer",
    "GaussianMixtureClusterer",
    "HDBSCANClusterer",
    "KSelection",
    "RobustLogScaler",
    "StabilityReport",
    "SubSegmenter",
    "WardClusterer",
    "assess_stability",
    "choose_k",
    "clusterer_from_dict",
    "load_clusterer",
    "load_document",
    "save_clusterer",
    "save_document",
    "select_k",
    "selection_summary",
]
