"""Topics: which stored stories each configured topic feed carries."""

from feeder.topics.curate import Candidate, TopicMatcher, candidates, select_stories
from feeder.topics.query import QueryError, Searchable, parse_query

__all__ = ["Candidate", "QueryError", "Searchable", "TopicMatcher", "candidates", "parse_query", "select_stories"]
