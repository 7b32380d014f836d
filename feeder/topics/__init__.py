"""Topics: which stored stories each configured topic feed carries."""

from feeder.topics.check import check_topics
from feeder.topics.curate import (
    Candidate,
    Curator,
    Pool,
    StoredStories,
    TopicMatcher,
    candidates,
    curate,
    select_stories,
)
from feeder.topics.index import Index, Term, WordIndex
from feeder.topics.query import Query, QueryError, parse_query
from feeder.topics.text import Searchable, fold, word_set, words

__all__ = ["Candidate", "Curator", "Index", "Pool", "Query", "QueryError", "Searchable", "StoredStories", "Term",
           "TopicMatcher", "WordIndex", "candidates", "check_topics", "curate", "fold", "parse_query",
           "select_stories", "word_set", "words"]
