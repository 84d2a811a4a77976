"""Profiling: evidence per segment and readable names."""

from shopseg.profile.profiles import SegmentProfile, profile_segments

__all__ = ["SegmentProfile", "profile_segments"]
