"""The topic query language and curation, on articles built in memory."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from feeder.config import TopicConfig
from feeder.dedup import make_deduplicator
from feeder.model import Article, Story
from feeder.store import Store
from feeder.topics import (
    Candidate,
    Curator,
    QueryError,
    Searchable,
    TopicMatcher,
    candidates,
    curate,
    fold,
    parse_query,
    select_stories,
    word_set,
    words,
)
from feeder.topics.text import holds_phrase, spaced

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def article(title: str = "", summary: str = "", *, source: str = "wire", content: str = "", author: str = "",
            categories: tuple[str, ...] = (), language: str = "en", url: str = "https://example.com/news/1",
            age: timedelta = timedelta(hours=1)) -> Article:
    published = NOW - age
    return Article(source=source, guid=f"{source}:{title}", url=url, title=title, published=published,
                   updated=published, author=author, summary=summary, content=content, categories=categories,
                   language=language)


def matches(query: str, doc: Article, tags: tuple[str, ...] = ()) -> bool:
    return parse_query(query).matches(Searchable(doc, tags))


def shape(query: str) -> str:
    return parse_query(query).describe()


# -- structure and precedence ------------------------------------------------------------------------


@pytest.mark.parametrize(("query", "expected"), [
    ("a OR b c", "(OR a (AND b c))"),
    ("a b OR c", "(OR (AND a b) c)"),
    ("a AND b OR c AND d", "(OR (AND a b) (AND c d))"),
    ("NOT a b", "(AND (NOT a) b)"),
    ("-a b", "(AND (NOT a) b)"),
    ("a -b", "(AND a (NOT b))"),
    ("NOT NOT a", "(NOT (NOT a))"),
    ("a (b OR c)", "(AND a (OR b c))"),
    ("((a OR (b c)) -d) OR e", "(OR (AND (OR a (AND b c)) (NOT d)) e)"),
    ("NOT (a OR b)", "(NOT (OR a b))"),
    ("a AND b AND c", "(AND a b c)"),
    ("a OR (b OR c)", "(OR a b c)"),
    ("(" * 50 + "a" + ")" * 50, "a"),
    ('"std::vector" 10:30', '(AND "std vector" "10 30")'),
    ('"climate summit" paris', '(AND "climate summit" paris)'),
    ("and or not", "(AND and or not)"),  # only upper-case operators are operators
    ("well-known", '"well known"'),  # punctuation inside a word: its parts in a row
    ('Title:"Big News" AUTHOR:doe', '(AND title:"big news" author:"doe")'),
    ("", "*"),
    ("   ", "*"),
])
def test_structure(query: str, expected: str) -> None:
    assert shape(query) == expected


def test_precedence_decides_matches() -> None:
    only_a = article("alpha news")
    b_and_c = article("bravo charlie")
    only_b = article("bravo news")
    query = "alpha OR bravo charlie"
    assert matches(query, only_a) and matches(query, b_and_c) and not matches(query, only_b)
    assert matches("NOT alpha bravo", only_b)
    assert not matches("NOT alpha bravo", article("alpha bravo"))
    assert not matches("-alpha", only_a) and matches("-alpha", only_b)
    assert matches("(alpha OR bravo) -charlie", only_b) and not matches("(alpha OR bravo) -charlie", b_and_c)


# -- words, phrases, folding -------------------------------------------------------------------------


def test_words_are_whole_words_any_case_anywhere_in_text() -> None:
    doc = article("Warning issued over storms", "<p>The <b>WAR</b> of words.</p>", content="Deep content here.")
    assert matches("war", doc) and matches("War", doc) and matches("warning", doc)
    assert not matches("warn", doc) and not matches("words war", article("Warning: storms"))
    assert matches("content", doc)  # content counts as well as title and summary
    assert not matches("b", doc)  # markup is not text


def test_accents_and_case_are_folded_both_ways() -> None:
    assert matches("kyiv", article("Kyïv prepares for winter"))
    assert matches("Kyïv", article("KYIV prepares for winter"))
    assert matches("strasse", article("Sperrung der Straße"))
    assert matches('"zurich zoo"', article("Zürich Zoo reopens"))
    assert matches("lodz", article("Łódź marathon"))
    decomposed = "Kyi\u0308v"  # i + combining diaeresis: the same word as the precomposed ï
    assert matches("kyiv", article(decomposed))
    assert fold("Crème BRÛLÉE") == "creme brulee"


def test_phrases_are_words_in_a_row() -> None:
    doc = article("Climate summit opens in Paris", "Leaders gather.")
    assert matches('"climate summit"', doc) and matches('"Climate  Summit"', doc)
    assert not matches('"summit climate"', doc)
    assert not matches('"climate opens"', doc)
    assert matches('"paris leaders"', doc)  # a phrase may run from the title into the summary
    assert not matches('"climate sum"', doc)  # whole words in a phrase too


# -- fields ------------------------------------------------------------------------------------------


def test_title_field_looks_only_at_the_title() -> None:
    doc = article("Markets rally", "Ukraine talks continue.")
    assert matches("title:markets", doc) and matches('title:"markets rally"', doc)
    assert not matches("title:ukraine", doc) and matches("ukraine", doc)
    assert not matches("title:market", doc)


def test_author_field() -> None:
    doc = article("x", author="Jane Doé")
    assert matches("author:doe", doc) and matches('author:"jane doe"', doc)
    assert not matches("author:jan", doc) and not matches("doe", doc)


def test_source_field_is_the_exact_source_name() -> None:
    doc = article("x", source="world-wire")
    assert matches("source:world-wire", doc) and matches("SOURCE:World-Wire", doc)
    assert not matches("source:world", doc)


def test_tag_field_is_one_of_the_source_tags_exactly() -> None:
    doc = article("x")
    assert matches("tag:world", doc, ("uk", "world"))
    assert not matches("tag:world", doc, ("world-news",))
    assert matches('tag:"world-news"', doc, ("world-news",))
    assert not matches("tag:world", doc)


def test_category_field_matches_within_one_category() -> None:
    doc = article("x", categories=("World News", "Europe"))
    assert matches("category:europe", doc) and matches('category:"world news"', doc)
    assert matches("category:news", doc)
    assert not matches('category:"news europe"', doc)  # no phrase across two categories


def test_lang_field_matches_the_primary_language_or_the_exact_code() -> None:
    assert matches("lang:en", article("x", language="en-US"))
    assert matches("lang:en", article("x", language="en"))
    assert matches("lang:en-us", article("x", language="en_US"))
    assert not matches("lang:en-gb", article("x", language="en-US"))
    assert not matches("lang:us", article("x", language="en-US"))
    assert not matches("lang:en", article("x", language="eng"))


def test_url_field_is_a_substring_of_the_canonical_url() -> None:
    doc = article("x", url="https://News.example.com/world/2026/kyiv-winter")
    assert matches("url:example.com/world", doc) and matches('url:"/2026/"', doc)
    assert matches("url:news.example", doc)
    assert not matches("url:sport", doc)


def test_fields_combine_with_operators() -> None:
    doc = article("Kyiv prepares for winter", source="daily", language="uk")
    assert matches("source:daily (kyiv OR lviv) -title:summer lang:uk", doc)
    assert not matches("source:daily AND NOT lang:uk", doc)


# -- regex -------------------------------------------------------------------------------------------


def test_regex_is_case_insensitive_over_the_text_as_written() -> None:
    doc = article("COVID-19 cases fall in Kyïv", "<p>Rates at 3.5%.</p>")
    assert matches(r"/covid-\d+/", doc)
    assert matches(r"/KYÏV/", doc) and not matches(r"/kyiv/", doc)  # accents as written
    assert not matches(r"/<p>/", doc)  # plain text, not markup
    assert matches(r"/\d\.\d%/", doc)  # punctuation is kept
    assert not matches(r"/covid-\d{3}/", doc)
    assert matches(r"/a\/b/", article("either a/b or c"))  # an escaped slash does not close it
    assert shape("/x y/ z") == "(AND /x y/ z)"  # a regex may hold spaces


# -- errors ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("query", "position", "message"), [
    ('ukraine "peace talks', 9, 'unclosed phrase: expected a closing "'),
    ('""', 1, "empty phrase"),
    ('a "  "', 3, "empty phrase"),
    ('"?!"', 1, """'"?!"' has no letters or digits"""),
    ("(ukraine OR kyiv", 17, "expected ')' to close the '(' at position 1"),
    ("a (b (c) d", 11, "expected ')' to close the '(' at position 3"),
    ("ukraine)", 8, "unexpected ')': no '(' to close"),
    (") a", 1, "unexpected ')'"),
    ("()", 2, "empty parentheses"),
    ("ukraine OR", 11, "expected a term after 'OR', found the end of the query"),
    ("ukraine AND", 12, "expected a term after 'AND', found the end of the query"),
    ("a AND OR b", 7, "expected a term after 'AND', found 'OR'"),
    ("OR a", 1, "expected a term, found 'OR'"),
    ("NOT", 4, "expected a term after 'NOT'"),
    ("a - b", 4, "expected a term right after '-'"),
    ("a (OR b)", 4, "expected a term after '(', found 'OR'"),
    ("auther:doe", 1, "unknown field 'auther': expected one of title, author, source, tag, category, lang, url"),
    ("kyiv title:", 12, 'expected a word or "phrase" after title:'),
    ("title: kyiv", 7, 'expected a word or "phrase" after title:'),
    ('title:"" kyiv', 7, 'expected a word or "phrase" after title:'),
    ("a title:(b)", 9, 'expected a word or "phrase" after title:'),
    ('title:"kyiv', 7, 'unclosed phrase: expected a closing "'),
    ("a && b", 3, "'&&' has no letters or digits"),
    ("a /b(/", 5, "bad regex: missing ), unterminated subpattern"),
    ("a /[b/", 4, "bad regex: unterminated character set"),
    ("/a**/", 4, "bad regex: multiple repeat"),
    ("x /unclosed", 3, "unclosed regex: expected a closing /"),
    ("//", 2, "empty regex"),
    ("/(a+)+$/", 2, "regex nests repetition inside repetition"),
    (r"/(\w*\s?)*x/", 2, "regex nests repetition inside repetition"),
    (r"/(a|aa)+(b)\2/", 2, "regex uses a backreference"),
    ("/" + "a" * 201 + "/", 2, "regex longer than 200 characters"),
    ("(" * 51 + "a" + ")" * 51, 51, "nested more than 50 deep"),
    ("NOT " * 60 + "a", 201, "nested more than 50 deep"),
    ("std::vector", 1, "unknown field 'std'"),
])
def test_errors_say_where_and_what_was_expected(query: str, position: int, message: str) -> None:
    with pytest.raises(QueryError) as caught:
        parse_query(query)
    error = caught.value
    assert (error.position, error.message[: len(message)]) == (position, message), str(error)
    assert str(error).startswith(f"at position {position}: ") and "\n" not in str(error)


def test_the_leftmost_error_is_reported() -> None:
    with pytest.raises(QueryError) as caught:
        parse_query('a ) "unclosed')
    assert caught.value.position == 3


def test_safe_repetition_is_allowed() -> None:
    for pattern in (r"/\bcovid-?\d+\b/", r"/(foo|bar)+baz/", r"/(ab){2,3}/", r"/(?:\d{1,3}\.){3}\d{1,3}/"):
        parse_query(pattern)


# -- curation ----------------------------------------------------------------------------------------

_ids = iter(range(1, 1_000_000))


def story(*articles: Article, age: timedelta | None = None) -> Story:
    first = NOW - age if age is not None else min(a.published for a in articles)
    number = next(_ids)
    return Story(number, f"uid{number}", first, first, tuple(articles))


def topic(query: str = "", **settings: object) -> TopicConfig:
    return TopicConfig(slug="t", title="T", query=query, **settings)  # type: ignore[arg-type]


TAGS = {"bbc": ("uk", "world"), "wire": ("world",), "local": ("uk",)}


def select(config: TopicConfig, stories: Sequence[Story]) -> list[Story]:
    return select_stories(TopicMatcher(config, TAGS), candidates(stories, TAGS), NOW)


def titles(stories: Sequence[Story]) -> list[str]:
    return [s.article.title for s in stories]


def test_newest_first_by_default_and_max_items() -> None:
    pool = [story(article(f"news {n}"), age=timedelta(hours=n)) for n in range(60)]
    chosen = select(topic("news"), pool)
    assert len(chosen) == 50  # the default max_items
    assert titles(chosen[:3]) == ["news 0", "news 1", "news 2"]
    assert titles(select(topic("news", max_items=2), pool)) == ["news 0", "news 1"]


def test_a_duplicate_matching_is_enough() -> None:
    canonical = article("Talks in Stockholm", source="wire")
    duplicate = article("Ukraine talks in Stockholm", source="bbc")
    pool = [story(canonical, duplicate), story(article("Ukraine other", source="wire", age=timedelta(hours=2)))]
    assert titles(select(topic("ukraine"), pool)) == ["Talks in Stockholm", "Ukraine other"]
    assert TopicMatcher(topic("ukraine"), TAGS).matches(candidates(pool, TAGS)[0])


def test_not_needs_one_article_without_the_word() -> None:
    # Each article is matched on its own: a story is in when any one of them matches.
    both = story(article("Kyiv markets", source="wire"), article("Kyiv weather", source="bbc"))
    assert titles(select(topic("kyiv -markets"), [both])) == ["Kyiv markets"]
    assert select(topic("kyiv -markets"), [story(article("Kyiv markets"))]) == []


def test_sources_and_tags_restrict_which_articles_count() -> None:
    pool = [
        story(article("Kyiv from wire", source="wire"), age=timedelta(hours=1)),
        story(article("Kyiv from bbc", source="bbc"), age=timedelta(hours=2)),
        story(article("Kyiv from local", source="local"), age=timedelta(hours=3)),
        # The matching article is from wire; bbc's duplicate does not mention Kyiv.
        story(article("Capital prepares", source="bbc"), article("Kyiv prepares", source="wire"),
              age=timedelta(hours=4)),
    ]
    assert titles(select(topic("kyiv", sources=("bbc",)), pool)) == ["Kyiv from bbc"]
    assert titles(select(topic("kyiv", tags=("uk",)), pool)) == ["Kyiv from bbc", "Kyiv from local"]
    assert titles(select(topic("kyiv", sources=("wire", "local"), tags=("uk",)), pool)) == ["Kyiv from local"]
    assert titles(select(topic(tags=("world",)), pool)) == [
        "Kyiv from wire", "Kyiv from bbc", "Capital prepares"]


def test_max_age_by_first_publication() -> None:
    pool = [story(article("news fresh"), age=timedelta(hours=2)), story(article("news old"), age=timedelta(days=3))]
    assert titles(select(topic("news", max_age=timedelta(days=1)), pool)) == ["news fresh"]
    assert len(select(topic("news"), pool)) == 2


def test_min_outlets_counts_distinct_sources() -> None:
    two_outlets = story(article("news a", source="wire"), article("news a", source="bbc"))
    same_outlet_twice = story(article("news b", source="wire"), article("news b again", source="wire"))
    assert titles(select(topic("news", min_outlets=2), [two_outlets, same_outlet_twice])) == ["news a"]


def test_coverage_ranks_by_outlets_then_newest() -> None:
    one = story(article("news one", source="wire"), age=timedelta(hours=1))
    three = story(article("news three", source="wire"), article("x", source="bbc"), article("y", source="local"),
                  age=timedelta(hours=5))
    two_old = story(article("news two old", source="wire"), article("x", source="bbc"), age=timedelta(hours=4))
    two_new = story(article("news two new", source="wire"), article("x", source="bbc"), age=timedelta(hours=3))
    pool = [one, three, two_old, two_new]
    assert titles(select(topic("news", rank="coverage"), pool)) == [
        "news three", "news two new", "news two old", "news one"]
    assert titles(select(topic("news"), pool)) == ["news one", "news two new", "news two old", "news three"]


def test_per_source_max_keeps_the_best_of_each_outlet_before_max_items() -> None:
    pool = [story(article(f"news w{n}", source="wire"), age=timedelta(hours=n)) for n in range(5)]
    pool.append(story(article("news bbc", source="bbc"), age=timedelta(hours=10)))
    chosen = select(topic("news", per_source_max=2, max_items=3), pool)
    assert titles(chosen) == ["news w0", "news w1", "news bbc"]


def test_curate_gives_each_topic_its_own_selection() -> None:
    pool = [story(article("Kyiv news", source="wire")),
            story(article("Markets news", source="bbc", age=timedelta(hours=2)))]
    topics = [topic("kyiv"), topic("markets OR kyiv", max_items=1), topic("title:sport")]
    assert [titles(chosen) for chosen in curate(topics, pool, TAGS, NOW)] == [
        ["Kyiv news"], ["Kyiv news"], []]


def test_select_stories_accepts_a_plain_list_of_candidates() -> None:
    docs = [Candidate(story(article("Kyiv")), (Searchable(article("Kyiv")),))]
    assert len(select_stories(TopicMatcher(topic("kyiv"), TAGS), docs, NOW)) == 1


def test_an_empty_store_gives_empty_feeds() -> None:
    assert curate([topic("kyiv"), topic()], [], TAGS, NOW) == [[], []]
    assert curate([], [story(article("x"))], TAGS, NOW) == []


def test_the_curator_remembers_terms_but_sees_changed_articles() -> None:
    curator = Curator()
    original = replace(article("Kyiv talks"), content_hash="h1")
    assert titles(curator.curate([topic("kyiv")], [story(original)], TAGS, NOW)[0]) == ["Kyiv talks"]
    assert len(curator.words) == 1  # one article version indexed
    edited = replace(original, title="Lviv talks", content_hash="h2")  # same guid, new text
    assert curator.curate([topic("kyiv")], [story(edited)], TAGS, NOW) == [[]]
    assert titles(curator.curate([topic("lviv")], [story(edited)], TAGS, NOW)[0]) == ["Lviv talks"]


# -- the word index ----------------------------------------------------------------------------------


@pytest.mark.parametrize("text", [
    "Kyi\u0308v ½ İstanbul STRASSE Straße ﬁne a\u2024b hello\xa0world it\u2019s — done K \u0301x",
    "ΣΟΦΟΣ σοφός", "日本語 テキスト", "x_y 3.14 __init__", "Łódź Kraków", "", "   ", "<p>tag & text</p>",
    "lone \ud800surrogate",
])
def test_word_set_is_the_set_of_words(text: str) -> None:
    assert word_set(text) == {w.encode() for w in words(text)}


def test_word_set_and_phrases_agree_with_words_on_random_text() -> None:
    rng = random.Random(3)
    letters = "aZé\u0301 .,\u2019\u2014ß½İΣ_9\xa0ﬁ日-"
    for _ in range(3000):
        text = "".join(rng.choice(letters) for _ in range(rng.randrange(30)))
        found = words(text)
        assert word_set(text) == {w.encode() for w in found}, text
        for phrase in {tuple(found[i:i + 2]) for i in range(len(found) - 1)} | {("a", "e"), ("ss", "9")}:
            assert holds_phrase(text, phrase) == (spaced(phrase) in spaced(found)), (text, phrase)


def test_a_new_topic_reads_no_article_again(monkeypatch: pytest.MonkeyPatch) -> None:
    curator = Curator()
    pool = [story(article("Kyiv talks", "Leaders of Ukraine met.")), story(article("Climate summit opens"))]
    assert titles(curator.curate([topic("kyiv")], pool, TAGS, NOW)[0]) == ["Kyiv talks"]

    def unread(_: Searchable) -> set[bytes]:
        raise AssertionError("an article was read again")

    monkeypatch.setattr(Searchable, "word_set", unread)
    chosen = curator.curate([topic("ukraine"), topic('"climate summit"'), topic("title:opens")], pool, TAGS, NOW)
    assert [titles(c) for c in chosen] == [["Kyiv talks"], ["Climate summit opens"], ["Climate summit opens"]]


def test_the_index_forgets_removed_and_edited_articles_and_compacts() -> None:
    curator = Curator()
    phrase = topic('"winter storm"')
    for round_ in range(1200):  # every round replaces the article: its old versions go stale
        text = "winter storm" if round_ % 2 else "storm in winter"
        edited = replace(article("news", text, source="wire"), content_hash=f"h{round_}")
        chosen = curator.curate([phrase], [story(edited)], TAGS, NOW)[0]
        assert len(chosen) == round_ % 2, round_
    assert len(curator.words) == 1
    assert curator.words.size_in_bytes() < 200_000  # stale versions were compacted away


def test_a_new_topic_searches_the_whole_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A topic is not limited to the recent stories a publish reads: a new one finds a story from weeks
    ago, and keeps it at the next publishes, within its max_age; the next new topic reads no text again."""
    store = Store(f"sqlite:///{tmp_path / 'feeder.db'}")
    try:
        dedup = make_deduplicator()
        old = article("Reykjavik geyser erupts", source="wire", url="https://example.com/0", age=timedelta(days=21))
        recent = [article(title, source="bbc", url=f"https://example.com/{n}", age=timedelta(hours=n))
                  for n, title in enumerate(
            ["Markets rally in Tokyo", "Parliament debates the budget", "Storm closes coastal roads"], start=1)]
        for a in [old, *recent]:
            store.ingest(a.source, [replace(a, content_hash=a.guid)], dedup, {}, NOW)
        curator = Curator(store)
        newest = store.recent_stories(3)  # the old story is not among them
        assert "Reykjavik geyser erupts" not in titles(newest)
        narrow, fresh = topic("geyser"), topic("geyser", max_age=timedelta(days=7))
        assert [titles(c) for c in curator.curate([narrow, fresh], newest, TAGS, NOW)] == [
            ["Reykjavik geyser erupts"], []]
        either = topic("markets OR geyser")
        chosen = curator.curate([narrow, either], store.recent_stories(3), TAGS, NOW)
        assert titles(chosen[0]) == ["Reykjavik geyser erupts"]  # kept, without searching again
        assert titles(chosen[1]) == ["Markets rally in Tokyo", "Reykjavik geyser erupts"]

        def unread(_: Searchable) -> set[bytes]:
            raise AssertionError("an article was read again")

        monkeypatch.setattr(Searchable, "word_set", unread)
        chosen = curator.curate([narrow, topic("reykjavik OR storm")], store.recent_stories(3), TAGS, NOW)
        assert titles(chosen[1]) == ["Storm closes coastal roads", "Reykjavik geyser erupts"]
    finally:
        store.close()
