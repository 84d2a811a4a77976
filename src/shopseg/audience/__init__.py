"""Audiences of a saved run: conditions read from a sentence or written by hand, a topic, ranked members.

No web stack needed: ``shopseg audience`` (the CLI) and the API of ``shopseg serve`` both use it.

=============== ======================================================================
conditions.py   the conditions and their editable ``--where`` syntax (FIELD OP VALUE and ...)
parse.py        natural language -> conditions with units + the topic left over
topics.py       topic matching: the run's text model over its stored vectors; TF-IDF fallback
build.py        conditions + topic -> ranked members, and what was understood
=============== ======================================================================
"""

from shopseg.audience.build import Audience, apply_conditions, build_audience
from shopseg.audience.conditions import AudienceError, Condition, Conditions, Percentile, parse_where
from shopseg.audience.parse import ParsedAudience, parse_audience
from shopseg.audience.topics import TopicMatcher, TopicScores, load_topic_matcher

__all__ = [
    "Audience",
    "AudienceError",
    "Condition",
    "Conditions",
    "ParsedAudience",
    "Percentile",
    "TopicMatcher",
    "TopicScores",
    "apply_conditions",
    "build_audience",
    "load_topic_matcher",
    "parse_audience",
    "parse_where",
]
