"""Plain-text page dumps: the seed article and dumps of other shapes, furniture removed."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from feeder.normalise import plain_text, to_article
from feeder.parse.files import read_folder
from feeder.parse.text import is_furniture, parse_loose_date, parse_text_dump

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "articles"
SEED = EXAMPLES / "000_29eb02a574621ccf.txt"
FETCHED = datetime(2026, 1, 1, tzinfo=UTC)


def test_seed_through_read_folder_and_to_article() -> None:
    folder = read_folder(EXAMPLES)
    assert not folder.problem
    (entry,) = [e for e in folder.entries if e.guid == f"file:{SEED.name}"]
    article = to_article(entry, "examples", folder.link, FETCHED)
    assert article.title == "Ukraine: Choose diplomacy or face consequences, Blinken tells Russia's Lavrov"
    assert article.author == "WION Web Team"
    assert article.published == datetime(2022, 1, 27, 15, 9, tzinfo=UTC)
    assert plain_text(article.summary) == (
        "Russia has massed large number of troops on its border with Ukraine. This has stoked tensions in "
        "long-running conflict that has already killed thousands. Blinken met his Russian counterpart "
        "Sergei Lavrov in Stockholm"
    )
    body = plain_text(article.content)
    assert body.startswith("US Secretary of State Antony Blinken on Thursday warned")
    assert body.endswith("(With inputs from agencies)")
    assert article.content.count("<p>") == 12
    everything = " ".join((article.title, article.author, article.summary, article.content))
    for furniture in ("ugc_banner", "main img", "A file photo of", "Photograph:", "Story highlights",
                      "Watch |", "Gravitas", "Updated:", "New Delhi"):
        assert furniture not in everything, furniture


BBC_LIKE = """\
Skip to content
Advertisement

Storm Ciara: Flights cancelled as 90mph winds hit UK

By Jane Smith & Tom Jones
BBC News
Published: 9 February 2020 14:05 GMT | Updated: 9 February 2020 18:30 GMT

image
Waves crash over the sea wall at Porthcawl. Image: Getty Images

Key points:
- Hundreds of flights cancelled
- Gusts of up to 97mph recorded

Hundreds of flights and trains have been cancelled as Storm Ciara
brings winds of up to 90mph to parts of the UK.

Also read: What is a weather bomb?

The Met Office has issued amber warnings for much of England and
Wales, saying there is a danger to life from flying debris.

Share this article
"""


def test_wrapped_dump_with_bullet_highlights_and_two_dates() -> None:
    entry = parse_text_dump(BBC_LIKE)
    assert entry.title == "Storm Ciara: Flights cancelled as 90mph winds hit UK"
    assert entry.author == "Jane Smith & Tom Jones"
    assert entry.published == datetime(2020, 2, 9, 14, 5, tzinfo=UTC)
    assert entry.updated == datetime(2020, 2, 9, 18, 30, tzinfo=UTC)
    assert entry.summary == "<p>Hundreds of flights cancelled</p>\n<p>Gusts of up to 97mph recorded</p>"
    assert entry.content == (
        "<p>Hundreds of flights and trains have been cancelled as Storm Ciara brings winds of up to 90mph "
        "to parts of the UK.</p>\n<p>The Met Office has issued amber warnings for much of England and "
        "Wales, saying there is a danger to life from flying debris.</p>"
    )


US_LIKE = """\
top_nav_banner
Fed holds rates steady, signals two cuts later this year
WASHINGTON | Posted on March 20, 2024 at 2:30 p.m. EDT
hero image
Federal Reserve Chair Jerome Powell speaks to reporters. (Reuters)
Highlights
The Federal Reserve left interest rates unchanged on Wednesday.
WASHINGTON (Reuters) - The Federal Reserve held interest rates steady on Wednesday, officials said.
"We are not there yet," Powell told a news conference after the two-day meeting of the central bank.
Read more: How the Fed sets rates
Markets rallied after the decision, with the S&P 500 closing at a record high for the session.
"""


def test_one_line_per_paragraph_dump_with_agency_caption() -> None:
    entry = parse_text_dump(US_LIKE)
    assert entry.title == "Fed holds rates steady, signals two cuts later this year"
    assert entry.published == datetime(2024, 3, 20, 18, 30, tzinfo=UTC)
    assert entry.author == ""  # no byline in this dump; "WASHINGTON" is a place
    assert entry.summary == "<p>The Federal Reserve left interest rates unchanged on Wednesday.</p>"
    paragraphs = entry.content.split("\n")
    assert len(paragraphs) == 3
    assert paragraphs[0].startswith("<p>WASHINGTON (Reuters) - The Federal Reserve held")
    assert "Powell speaks to reporters" not in entry.content and "Read more" not in entry.content


EUROPE_LIKE = """\
\ufeffMinisters agree new EU migration pact after marathon talks

Reported by: Anna Müller
Brussels, 20.12.2023 06:15 CET

Photo: EPA/Olivier Hoslet

EU ministers reached agreement early on Wednesday on an overhaul of the bloc's migration rules.

Watch: How the pact will work

"This is a historic day," said the Spanish interior minister, whose country holds the rotating presidency.
"""


def test_dump_with_european_date_and_reporter_byline() -> None:
    entry = parse_text_dump(EUROPE_LIKE)
    assert entry.title == "Ministers agree new EU migration pact after marathon talks"
    assert entry.author == "Anna Müller"
    assert entry.published == datetime(2023, 12, 20, 5, 15, tzinfo=UTC)
    assert "Photo" not in entry.content and "Watch" not in entry.content
    assert entry.content.count("<p>") == 2


def test_section_label_and_breadcrumb_before_the_headline() -> None:
    dump = "Home > World > Asia\nWorld\nFloods force thousands from homes in Assam\n\n" \
           "Heavy monsoon rains have flooded hundreds of villages in the Indian state of Assam this week."
    entry = parse_text_dump(dump)
    assert entry.title == "Floods force thousands from homes in Assam"
    assert entry.content.startswith("<p>Heavy monsoon rains")


def test_furniture_shapes() -> None:
    for line in ("ugc_banner", "main img", "[Image: a cat]", "photo_2.jpg", "Advertisement",
                 "A file photo of someone  Photograph:(AFP)", "Watch | Gravitas: something",
                 "ALSO READ: Other story", "Police at the scene (AP Photo/John Doe)"):
        assert is_furniture(line), line
    for line in ("(With inputs from agencies)", "He said the image: it was clear.",
                 "according to one source: a senior official who",
                 "LONDON (Reuters) - Britain's economy grew.", "Watch the skies, officials said."):
        assert not is_furniture(line), line


def test_timezone_abbreviations() -> None:
    assert parse_loose_date("Jan 27, 2022, 08:39 PM IST") == datetime(2022, 1, 27, 15, 9, tzinfo=UTC)
    assert parse_loose_date("1 July 2023 09:00 BST") == datetime(2023, 7, 1, 8, tzinfo=UTC)
    assert parse_loose_date("Nov 5, 2023 7.15 pm PST") == datetime(2023, 11, 6, 3, 15, tzinfo=UTC)
    assert parse_loose_date("2 hours ago") is None
