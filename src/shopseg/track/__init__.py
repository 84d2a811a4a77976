"""Segments over time: matching segments across runs (MONIC), customer migration and drift.

Pure stages (tables and arrays in, tables out): :mod:`~shopseg.track.matching` gives segments
tracked ids and names their transitions, :mod:`~shopseg.track.migration` counts who moved
where, :mod:`~shopseg.track.drift` measures how the customers changed. Reading run folders
and writing the outputs is :mod:`shopseg.tracking`'s job.
"""

from shopseg.track.matching import Matching, MatchSettings, match_by_centroid, match_by_overlap

__all__ = ["MatchSettings", "Matching", "match_by_centroid", "match_by_overlap"]
