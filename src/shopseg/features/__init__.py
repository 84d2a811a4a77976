"""Feature engineering: behaviour, habits, taste, engagement and attributes per customer."""

from shopseg.features.build import FeatureSet, build_features

__all__ = ["FeatureSet", "build_features"]
