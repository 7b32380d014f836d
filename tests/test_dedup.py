"""Headline deduplication: real pairs both ways, normalisation, window, determinism, quality floor."""

from __future__ import annotations

import csv
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from feeder.dedup import Deduplicator, Headline, headline_key

T0 = datetime(2014, 3, 10, 12, tzinfo=UTC)
HEADLINES_DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "headlines"
STSB = HEADLINES_DATA / "stsb-headlines-train-dev.tsv"

# Real STS-B headline pairs scored 5.0 ("same news, reworded") by annotators.
SAME_NEWS = [
    (
        "SC dismisses govt's review plea in Vodafone tax case",
        "SC dismisses govt's review petition on Vodafone tax verdict",
    ),
    ("Romney announces Paul Ryan as running mate", "Romney names Ryan as running mate"),
    (
        "Gunman kills 6 in shooting at Wisconsin Sikh temple",
        "Gunman kills six in shooting at Sikh temple in Wisconsin",
    ),
    ("Capello quits as England manager", "Capello resigns as England manager"),
    ("US pledge to rebuild Haiti not being met", "US Pledge to Rebuild Haiti Not Being Met"),
    ("Federer Wins 7th Wimbledon Title", "Federer captures 7th Wimbledon title"),
    ("9,000 U.S. Marines to leave Okinawa", "9,000 U.S. Marines to move out of Okinawa: statement"),
    ("Miami Heat wins NBA Finals", "Miami Heat clinches NBA Championship"),
]
# Real STS-B pairs scored 0-1 ("different news"), and the issue's own example.
DIFFERENT_NEWS = [
    ("Polls open in Russian presidential election", "Putin wins Russian presidential election"),
    ("Syrian journalists killed in capital", "US Marines killed in base attack"),
    (
        "3 dead, 1 hurt in shooting at S Carolina oceanfront motel",
        "4 dead, 30 injured in train collision near Moscow",
    ),
    ("Obama calls for international front against IS", "Obama vows to save Iraqis stranded on mountain"),
    ("Iran Moderate Wins Presidency by a Large Margin", "Iran threatens to trigger oil price war"),
    ("France to ban child beauty pageants", "Facebook to test mobile payments service"),
    ("Indonesian president to visit UK", "Indonesian president to visit Australia"),
]


def merges(first: str, second: str, level: str = "headline", **second_fields: str) -> bool:
    dedup = Deduplicator(level=level)
    dedup.add(1, Headline(first, T0))
    return dedup.match(Headline(second, T0, **second_fields)) == 1


@pytest.mark.parametrize(("first", "second"), SAME_NEWS)
def test_reworded_headlines_merge_both_ways(first: str, second: str) -> None:
    assert merges(first, second)
    assert merges(second, first)


@pytest.mark.parametrize(("first", "second"), DIFFERENT_NEWS)
@pytest.mark.parametrize("level", ["headline", "story"])
def test_different_news_stays_apart(first: str, second: str, level: str) -> None:
    assert not merges(first, second, level)
    assert not merges(second, first, level)


@pytest.mark.parametrize(
    ("title", "key"),
    [
        ("UPDATE 7-Oil falls to $101 - Reuters", "oil falls to $101"),
        ("LIVE: Oil falls to $101 | WION", "oil falls to $101"),
        ("Watch: Oil Falls To $101", "oil falls to $101"),
        ("REFILE-Oil falls to $101 (1)", "oil falls to $101"),
        ("“Oil” falls to $101…", "oil falls to $101"),
        ("\uff2f\uff29\uff2c falls to $101", "oil falls to $101"),  # full-width letters: NFKC
        ("SC dismisses govt\u2019s review plea", "sc dismisses govt review plea"),  # curly apostrophe
        ("ECB unlikely to end SMP purchases - traders", "ecb unlikely to end smp purchases"),
    ],
)
def test_headline_key_strips_unicode_case_quotes_and_outlet_affixes(title: str, key: str) -> None:
    assert headline_key(title) == key


def test_long_trailing_segment_is_news_not_an_outlet() -> None:
    assert headline_key("Markets slide - and why the Fed will not step in soon") == (
        "markets slide and why the fed will not step in soon"
    )


@pytest.mark.parametrize("level", ["headline", "story"])
def test_affixed_repeats_merge(level: str) -> None:
    assert merges(
        "UPDATE 1-ECB to reveal bad loan hurdles for euro zone bank test -sources",
        "ECB to reveal bad loan hurdles for euro zone bank test - Reuters",
        level,
    )


@pytest.mark.parametrize("level", ["headline", "story"])
def test_different_numbers_are_different_news(level: str) -> None:
    assert not merges("Oil falls to $101", "Oil falls to $98", level)
    assert not merges("Iraq violence kills 11", "Iraq violence kills seven", level)
    assert merges("Gunman kills 6 at temple", "Gunman kills six at temple", level)


def test_window_expiry_forgets_old_headlines() -> None:
    dedup = Deduplicator(window=timedelta(hours=48))
    dedup.add(1, Headline("Capello quits as England manager", T0))
    later = Headline("Capello resigns as England manager", T0 + timedelta(hours=47))
    assert dedup.match(later) == 1
    dedup.add(2, Headline("Unrelated news about copper prices", T0 + timedelta(hours=52)))
    assert dedup.match(Headline("Capello resigns as England manager", T0 + timedelta(hours=52))) is None
    assert len(dedup) == 1  # evicted, not just skipped: memory stays bounded


def test_match_ignores_items_outside_window_before_eviction() -> None:
    dedup = Deduplicator(window=timedelta(hours=1))
    dedup.add(1, Headline("Capello quits as England manager", T0))
    assert dedup.match(Headline("Capello quits as England manager", T0 + timedelta(hours=3))) is None


def test_same_url_is_same_story() -> None:
    dedup = Deduplicator()
    dedup.add(7, Headline("Capello quits", T0, url="https://example.com/a"))
    assert dedup.match(Headline("Completely different title", T0, url="https://example.com/a")) == 7
    assert dedup.match(Headline("Completely different title", T0, url="https://example.com/b")) is None


def test_bad_level_is_rejected() -> None:
    with pytest.raises(ValueError, match="level"):
        Deduplicator(level="fuzzy")


def _replay(titles: list[str], level: str) -> list[int]:
    dedup = Deduplicator(level=level)
    stories: list[int] = []
    for minute, title in enumerate(titles):
        headline = Headline(title, T0 + timedelta(minutes=minute))
        story = dedup.match(headline)
        story = story if story is not None else len(stories) + 1
        dedup.add(story, headline)
        stories.append(story)
    return stories


@pytest.mark.parametrize("level", ["headline", "story"])
def test_same_input_order_gives_same_result(level: str) -> None:
    titles = [t for pair in SAME_NEWS + DIFFERENT_NEWS for t in pair] * 2
    assert _replay(titles, level) == _replay(titles, level)


def test_rebuild_by_add_gives_same_matches() -> None:
    titles = [t for pair in SAME_NEWS for t in pair]
    first = Deduplicator()
    second = Deduplicator()
    for index, title in enumerate(titles):
        first.add(index, Headline(title, T0))
        second.add(index, Headline(title, T0))
    probe = Headline("Capello resigns as England coach", T0)
    assert first.match(probe) == second.match(probe) is not None


def _stsb_f1(level: str) -> tuple[float, float]:
    with STSB.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE))
    tp = fp = fn = 0
    for row in rows:
        score = float(row["score"])
        if 3.0 <= score < 4.0:
            continue
        merged = merges(row["headline1"], row["headline2"], level)
        tp += merged and score >= 4.0
        fp += merged and score < 3.0
        fn += not merged and score >= 4.0
    precision = tp / (tp + fp)
    recall = tp / (tp + fn)
    return precision, 2 * precision * recall / (precision + recall)


@pytest.mark.skipif(not STSB.exists(), reason=f"STS-B headlines not found at {STSB} (../shared/ is absent)")
def test_stsb_quality_floor_headline_level() -> None:
    precision, f1 = _stsb_f1("headline")
    assert f1 >= 0.78  # measured 0.799 on train+dev (train 0.806, dev 0.720)
    assert precision >= 0.77  # measured 0.787


@pytest.mark.parametrize("level", ["headline", "story"])
def test_window_stays_correct_across_compaction(level: str) -> None:
    """Thousands of evictions trigger the arrays' rebuild; seqs, URLs and stories must survive it."""
    dedup = Deduplicator(level=level, window=timedelta(hours=2))
    for minute in range(3000):  # one distinct headline a minute: ~120 live, thousands evicted
        published = T0 + timedelta(minutes=minute)
        dedup.add(minute, Headline(f"Item {minute} report on widget w{minute}x", published, url=f"u{minute}"))
    last = T0 + timedelta(minutes=2999)
    assert 100 <= len(dedup) <= 200
    assert dedup.match(Headline("Item 2990 report on widget w2990x", last)) == 2990
    assert dedup.match(Headline("unrelated", last, url="u2995")) == 2995
    assert dedup.match(Headline("unrelated", last, url="u5")) is None  # evicted long ago


def test_a_word_swapped_in_a_short_headline_is_other_news() -> None:
    """'Apple shares fall' is not 'Google shares fall', even when no capital marks the subject."""
    dedup = Deduplicator()
    when = datetime(2026, 11, 26, tzinfo=UTC)
    dedup.add(1, Headline("steady story 0", when))
    dedup.add(2, Headline("Google shares fall after earnings", when))
    assert dedup.match(Headline("flaky story 0", when)) is None
    assert dedup.match(Headline("Apple shares fall after earnings", when)) is None
    assert dedup.match(Headline("Google shares fall after earnings report", when)) == 2


def test_story_level_young_story_veto_survives_compaction() -> None:
    """A long-running window decides as a restarted one (rebuilt by add) does, across a compaction.

    The young-story veto reads the story's newest headline by seq; the compaction renumbers seqs.
    """
    window = timedelta(hours=2)
    running = Deduplicator(level="story", window=window)
    added: list[tuple[int, Headline]] = []
    for minute in range(1210):  # ~120 live, a compaction after ~1,024 evictions (at minute 1,200)
        title = "Indonesian president to visit UK" if minute == 1100 else f"Item {minute} report on widget w{minute}x"
        headline = Headline(title, T0 + timedelta(minutes=minute))
        running.add(minute, headline)
        added.append((minute, headline))
    probe = Headline("Indonesian president to visit Australia", T0 + timedelta(minutes=1210))
    restarted = Deduplicator(level="story", window=window)
    for story, headline in added:
        if headline.published >= probe.published - window:
            restarted.add(story, headline)
    assert restarted.match(probe) is None  # "visit UK" is not "visit Australia"
    assert running.match(probe) is None


def test_trailing_labels_are_stripped_as_the_label_pattern_strips_them() -> None:
    """text._strip_noise finds a trailing label ("(Video)", "[Live]", "...", "- update 2") without searching
    from every place of the title, and must strip exactly what the pattern's search strips."""
    import random

    from feeder.dedup.text import _SUFFIX_NOISE, _strip_noise

    rng = random.Random(1)
    pieces = ["(", ")", "[", "]", ".", "..", "...", " ", "\t", "-", "update", "Update 2", "video", "Photos", "1",
              "12", "live", "x", "Fed raises rates", "(corrected)", "[Reuters]", " - ", "…"]
    for _ in range(50_000):
        title = "".join(rng.choices(pieces, k=rng.randrange(1, 9)))
        assert _strip_noise(title) == _SUFFIX_NOISE.sub("", title), repr(title)
