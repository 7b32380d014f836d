"""The bitset query evaluator against a plain one that tests each article alone, on random queries."""

from __future__ import annotations

import random
from dataclasses import replace

from feeder.model import Article
from feeder.topics import Index, Searchable, WordIndex, fold, parse_query, words
from feeder.topics.index import bits_of, slots_of
from feeder.topics.query import And, Everything, Exact, InField, Not, Or, Pattern, UrlPart, Words
from feeder.topics.query import Node as QueryNode
from feeder.topics.text import spaced
from tests.test_topics import article

VOCABULARY = ["kyiv", "Kyïv", "storm", "winter", "talks", "peace", "markets", "the", "of", "Zürich"]
SOURCES = {"bbc": ("uk", "world"), "wire": ("world",), "local": ("uk",)}


def reference(node: QueryNode, doc: Searchable) -> bool:
    """Whether one article matches, straight from the query language's definition."""
    a = doc.article
    if isinstance(node, Everything):
        return True
    if isinstance(node, Words):
        text = a.title if node.term.in_title else doc.text  # plain text: markup is no word
        return spaced(node.term.words) in spaced(words(text))
    if isinstance(node, InField):
        values = [a.author] if node.field == "author" else list(a.categories)
        return any(spaced(node.terms) in spaced(words(value)) for value in values)
    if isinstance(node, Exact):
        return _exact(node, doc)
    if isinstance(node, UrlPart):
        return node.part in fold(a.url)
    if isinstance(node, Pattern):
        return node.pattern.search(doc.text) is not None
    if isinstance(node, Not):
        return not reference(node.inner, doc)
    if isinstance(node, And):
        return all(reference(part, doc) for part in node.parts)
    assert isinstance(node, Or)
    return any(reference(option, doc) for option in node.options)


def _exact(node: Exact, doc: Searchable) -> bool:
    wanted = fold(node.value)
    if node.field == "source":
        return fold(doc.article.source) == wanted
    if node.field == "tag":
        return wanted in {fold(tag) for tag in doc.tags}
    code, wanted = fold(doc.article.language).replace("_", "-"), wanted.replace("_", "-")
    return code == wanted or code.startswith(wanted + "-")


def random_query(rng: random.Random, depth: int = 0) -> str:
    if depth < 3 and rng.random() < 0.5:
        parts = [random_query(rng, depth + 1) for _ in range(rng.randint(2, 3))]
        joined = f" {rng.choice(['AND', 'OR', ''])} ".join(parts)
        return f"({joined})" if rng.random() < 0.7 else f"NOT ({joined})"
    word, other = rng.choice(VOCABULARY), rng.choice(VOCABULARY)
    return rng.choice([word, f"-{word}", f'"{word} {other}"', f"title:{word}", f'title:"{word} {other}"',
                       f"author:{word}", f"category:{word}", f"source:{rng.choice(list(SOURCES))}",
                       f"tag:{rng.choice(['uk', 'world'])}", f"lang:{rng.choice(['en', 'en-us', 'fr'])}",
                       f"url:{rng.choice(['/a', 'bbc', 'x'])}", f"/{word[:3]}\\w* {other[:2]}/"])


def random_article(rng: random.Random, number: int) -> Article:
    def text(count: int) -> str:
        return " ".join(rng.choice(VOCABULARY) for _ in range(count))

    source = rng.choice(list(SOURCES))
    return replace(article(text(rng.randint(1, 4)), f"<p>{text(rng.randint(0, 8))}</p>", source=source,
                           content=text(rng.randint(0, 3)), author=text(rng.randint(0, 2)),
                           categories=tuple(text(1) for _ in range(rng.randint(0, 2))),
                           language=rng.choice(["en", "en-US", "EN_gb", "fr"]),
                           url=f"https://{source}.example/{rng.choice('abx')}/{number}"),
                   guid=f"g{number}", content_hash=f"h{number}")


def test_bitset_selection_agrees_with_testing_each_article_alone() -> None:
    """Over publishes that change some articles, with the words, phrases and tests kept between them."""
    rng = random.Random(5)
    kept = WordIndex()
    arts = [random_article(rng, n) for n in range(60)]
    queries = [parse_query(random_query(rng)) for _ in range(150)]
    for round_ in range(4):
        docs = [Searchable(a, SOURCES[a.source]) for a in arts]
        index = Index(docs, kept)
        for query in queries:
            found = set(slots_of(query.select(index)))
            expected = {n for n, doc in zip(index.numbers, docs, strict=True) if reference(query.root, doc)}
            assert found == expected, (round_, query.text)
        kept.forget_checked_except({key for query in queries for key in query.vocabulary()})
        changed = rng.sample(range(len(arts)), 15)  # new versions, some leave, some come
        for n in changed:
            arts[n] = random_article(rng, 1000 * (round_ + 1) + n)
        arts = arts[5:] + [random_article(rng, 100 * (round_ + 1) + n) for n in range(5)]


def test_bits_and_slots_round_trip() -> None:
    assert bits_of([]) == 0 and slots_of(0) == []
    assert bits_of([3, 0, 70]) == 1 << 70 | 1 << 3 | 1
    slots = sorted(random.Random(1).sample(range(5000), 700))
    assert slots_of(bits_of(slots)) == slots
    assert slots_of(bits_of(iter(slots[100:]))) == slots[100:]  # any iterable, away from 0
