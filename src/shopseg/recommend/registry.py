"""Recommenders by name: what ``--recommender`` / ``model=`` accept.

=================== ===========================================================================
``popular``         the shop's best sellers (baseline)
``segment_popular`` best sellers of the customer's segment (baseline)
``item_knn``        co-purchase cosine item-item collaborative filtering
``als``             implicit-feedback ALS (``implicit``)
``bpr``             Bayesian personalised ranking (``implicit``)
``content``         taste vector x product text vectors (TF-IDF or given embeddings)
``hybrid``          tuned blend of segment_popular, item_knn, als and content (default)
=================== ===========================================================================

Adding a recommender = one module with a :class:`~shopseg.recommend.base.Recommender`
subclass + one line here (and in ``hybrid.COMPONENTS`` if the hybrid may blend it).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shopseg.errors import ConfigError
from shopseg.recommend.base import Recommender
from shopseg.recommend.hybrid import COMPONENTS, HybridRecommender

RECOMMENDERS: Mapping[str, type[Recommender]] = {**COMPONENTS, "hybrid": HybridRecommender}
DEFAULT_RECOMMENDER = "hybrid"


def make_recommender(name: str | Recommender, **params: Any) -> Recommender:
    """A new recommender by registry name (``params`` go to its constructor); an object is returned as is."""
    if isinstance(name, Recommender):
        return name
    if name not in RECOMMENDERS:
        raise ConfigError(f"Unknown recommender '{name}'. Known: {', '.join(RECOMMENDERS)}.")
    try:
        return RECOMMENDERS[name](**params)
    except TypeError as error:
        raise ConfigError(f"Recommender '{name}': {error}.") from error
