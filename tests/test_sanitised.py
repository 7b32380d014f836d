"""is_sanitised lets the publisher skip nh3 for markup already in the sanitiser's own shape. It must never
say yes to anything the sanitiser would change: that is both the security property (what it passes is
exactly what nh3 would have written) and the stability one (output is the same with or without it)."""

from __future__ import annotations

import random

from feeder.normalise import _LINK_WITHOUT_REL, sanitise_html, sanitise_with_nh3
from feeder.sanitised import is_sanitised

BASES = ["https://daily.example/story/2", "http://127.0.0.1:8080/", "https://x.example/a/b?c=d#e"]
URLS = ["https://example.org/background", "http://a.example/x?y=1&amp;z=2", "https://a.example/x?y=1&z=2",
        "/relative", "relative.html", "javascript:alert(1)", "JavaScript:alert(1)", "mailto:a@b.example",
        "https://a.example/?", "https://a.example/x#", "https://a.example/x;", "https://a.example/?#f",
        "https://a.example/x;?q", "https://a.example/a b", "https://a.example/ü", "https://[::1]/x", "https:///x",
        "https://", "https://a.example:99999/", "http://-/", "https://a..b/", "https://a.example/%zz",
        "HTTPS://A.EXAMPLE/", "https://a.example/&lt;x&gt;", "https://a.example/&amp;", "https://a.example/&#39;",
        "//a.example/x", "https://a.example/x'y(z)*,+$!@:~", "ftp://a.example/", "data:text/html,x",
        "https://a.example/\tx", " https://a.example/", "https://user:pw@a.example/"]
TITLES = ["", "T", "a &amp; b", "a & b", "say &quot;hi&quot;", "&lt;x&gt;", "ü", "a\xa0b", "a&nbsp;b"]
ELEMENTS = ["p", "div", "blockquote", "li", "ul", "ol", "figure", "figcaption", "h1", "h2", "h6", "a", "b", "i",
            "em", "strong", "code", "span", "small", "sub", "sup", "q", "s", "u", "cite", "abbr", "mark", "del",
            "ins", "pre", "table", "tr", "td", "script", "style", "font", "center", "section", "textarea", "dl"]
TEXTS = ["word", "two words", " ", "\n", "\t", "&amp;", "&lt;", "&gt;", "&nbsp;", "&quot;", "&copy;", "&#169;",
         "&", ">", "<", "\xa0", "\r\n", "ünï", "😀", "\x00", "\u2028", "\ufeff", "\x85", '"', "'", "=", ";", "]]>",
         "&amp", "&AMP;", "<!-- c -->", "<br>", "<br/>", "<hr>", "<BR>", "<p/>", "</br>", "<wbr>"]


GOOD_URLS = ["https://example.org/background", "http://a.example/x?y=1&amp;z=2", "https://news.example/2026/11/a-b_c",
             "https://cdn.example/img.jpg?w=640#top", "https://a.example:8443/p/(x)*,+$!@:~'", "https://b-c.example"]


def opening(rng: random.Random, name: str) -> str:
    if name == "a":
        title = rng.choice([None, rng.choice(TITLES)])
        rel = rng.choice([' rel="noopener noreferrer"'] * 4 + ["", ' rel="nofollow"', " rel='noopener noreferrer'"])
        extra = f' title="{title}"' if title is not None else ""
        url = rng.choice(URLS + GOOD_URLS * 8)
        return f'<a href="{url}"{extra}{rel}>' if rng.random() < 0.97 else f"<a{rel}>"
    if name == "img":
        alt = rng.choice([None, rng.choice(TITLES)])
        return f'<img src="{rng.choice(URLS + GOOD_URLS * 4)}"' + (f' alt="{alt}"' if alt is not None else "") + ">"
    attribute = rng.choice([""] * 8 + [' class="x"', ' onclick="x()"', ' style="color:red"', ' lang="en"'])
    return f"<{name}{attribute}>"


def element(rng: random.Random, depth: int) -> str:
    """A random, mostly well-formed fragment: the recogniser has to decide on nesting, not just tokens."""
    if depth > 3 or rng.random() < 0.3:
        return rng.choice(TEXTS + ["word"] * 10 + [opening(rng, "img")])
    name = rng.choice(ELEMENTS)
    children = "".join(element(rng, depth + 1) for _ in range(rng.randrange(4)))
    closing = f"</{name}>" if rng.random() < 0.95 else ""
    return opening(rng, name) + children + closing


def test_what_it_accepts_the_sanitiser_leaves_exactly_as_it_is() -> None:
    rng = random.Random(4287)
    accepted = 0
    for n in range(6000):
        markup = "".join(element(rng, 0) for _ in range(1 + rng.randrange(3)))
        if n % 3 == 0:  # the shape the store holds: the sanitiser's own output
            markup = sanitise_with_nh3(markup, rng.choice(BASES))
        if is_sanitised(markup):
            accepted += "<" in markup
            for base in BASES:
                assert sanitise_with_nh3(markup, base) == markup, (markup, base)
    assert accepted > 500, accepted  # the property was exercised on markup, not vacuously true


def paragraph(rng: random.Random) -> str:
    """Paragraphs of text, inline markup and links: the shape the one-pattern check takes, with the tokens
    (URLs, titles, entities, characters) it has to refuse mixed in."""
    inline = ["b", "i", "em", "strong", "code", "span", "sub", "q", "a", "p", "div"]

    def run() -> str:
        return "".join(rng.choice(TEXTS[:18] + ["word"] * 12) for _ in range(rng.randrange(4)))

    parts = []
    for _ in range(rng.randrange(1, 6)):
        name = rng.choice(inline)
        other = rng.choice(inline)
        inner = run() if rng.random() < 0.7 else f"<{other}>{run()}</{rng.choice([other] * 5 + inline)}>"
        parts.append(rng.choice([run(), "<br>", opening(rng, "img"), f"{opening(rng, name)}{inner}</{name}>"]))
    block = rng.choice(["p", "p", "p", "h2", "blockquote"])
    return f"<{block}>{''.join(parts)}</{block}>" + rng.choice(["", "\n", " ", "x"])


def test_paragraph_shaped_markup_it_accepts_is_left_as_it_is() -> None:
    rng = random.Random(2026)
    accepted = 0
    for n in range(6000):
        markup = "".join(paragraph(rng) for _ in range(1 + rng.randrange(3))).strip()
        if n % 2 == 0:
            markup = sanitise_with_nh3(markup, rng.choice(BASES))
        if is_sanitised(markup):
            accepted += "<a " in markup
            for base in BASES:
                assert sanitise_with_nh3(markup, base) == markup, (markup, base)
    assert accepted > 60, accepted  # links included: the one-pattern check was exercised


def test_typical_sanitised_markup_is_recognised() -> None:
    """What normalise stores for ordinary articles is passed through (else the speed-up would not happen)."""
    typical = [
        "<p>Summary of story 1.</p>",
        'Officials met on <a href="https://example.org/background">the framework</a> &amp; more.',
        "<p>One</p>\n<p>Two <em>three</em> <strong>four</strong><br>five</p>",
        "<h2>Heading</h2><ul><li>a</li><li><b>b</b></li></ul><blockquote><p>quote</p></blockquote>",
        '<figure><img src="https://cdn.example/x.jpg" alt="A photo"><figcaption>Caption</figcaption></figure>',
        '<p><a href="https://a.example/x?y=1&z=2" title="More">more</a> 5 &lt; 6 &gt; 4\xa0km</p>',
        "Plain text without markup",
        "",
    ]
    for markup in typical:
        clean = sanitise_with_nh3(markup, BASES[0])
        assert is_sanitised(clean), clean


def test_anything_unsafe_or_unfinished_goes_to_the_sanitiser() -> None:
    for markup in [
        "<script>alert(1)</script>", '<p onclick="x()">x</p>', '<a href="javascript:alert(1)" '
        'rel="noopener noreferrer">x</a>', '<a href="/relative" rel="noopener noreferrer">x</a>',
        '<img src="chart.png">', "<p>unclosed", "<p>a<p>b</p></p>", "<b><i>x</b></i>", "<p><div>x</div></p>",
        '<a href="https://a.example/" rel="noopener noreferrer"><a href="https://b.example/" '
        'rel="noopener noreferrer">x</a></a>', "<li>x</li>", " <p>x</p>", "<p>x</p>\n",
        "a &quot;b&quot;", "a & b", "a > b", "a\xa0b", "line\r\nbreak", "<P>x</P>", "<br/>", "<!-- c -->",
        '<a href="https://a.example/">no rel</a>', "<style>p{}</style>", "<table><tr><td>x</td></tr></table>",
    ]:
        assert not is_sanitised(markup), markup


def test_every_ascii_control_but_tab_and_newline_goes_to_nh3() -> None:
    """The ASCII check (a byte deletion) refuses what str.isprintable, which non-ASCII markup still uses, does."""
    for code in range(128):
        markup = f"<p>a{chr(code)}b</p>"
        if (code < 32 and code not in (9, 10)) or code == 127:
            assert not is_sanitised(markup), code
        assert not is_sanitised(markup) or sanitise_with_nh3(markup, BASES[0]) == markup, code


def test_normalise_writes_what_nh3_writes_with_or_without_the_check() -> None:
    """sanitise_html skips nh3 for markup that is nh3's shape once its plain links get their rel: the
    output must be nh3's, byte for byte, for raw markup of every shape (plain links, padding, relative
    and hostile URLs, tags nh3 rewrites)."""
    rng = random.Random(4288)
    skipped = 0
    for n in range(6000):
        make = paragraph if n % 2 else (lambda r: element(r, 0))
        markup = "".join(make(rng) for _ in range(1 + rng.randrange(3)))
        if n % 3 == 0:  # a feed's plain markup: nh3's shape but for the rel it adds to links
            markup = sanitise_with_nh3(markup, BASES[0]).replace(' rel="noopener noreferrer"', "")
        markup = rng.choice(["", " ", "\n", "\n  "]) + markup + rng.choice(["", "\n", " \n"])
        base = rng.choice([*BASES, ""])
        assert sanitise_html(markup, base) == sanitise_with_nh3(markup, base), (markup, base)
        skipped += _LINK_WITHOUT_REL.search(markup) is not None and is_sanitised(
            _LINK_WITHOUT_REL.sub(r'<a href="\1" rel="noopener noreferrer">', markup.strip(" \t\n\r\f")))
    assert skipped > 10, skipped  # plain links did take the quick way (not vacuously equal)


def test_plain_article_markup_takes_the_quick_way_to_nh3s_output() -> None:
    rng = random.Random(4289)
    words = ["talks", "went", "on", "5", "&amp;", "&lt;", "km", "ünï", "said"]
    for _ in range(500):
        markup = "".join(f"<p>{' '.join(rng.choices(words, k=rng.randrange(1, 20)))} "
                         f'<a href="{rng.choice(GOOD_URLS)}">{rng.choice(words)}</a> '
                         f"<{(tag := rng.choice(['em', 'b', 'strong']))}>{rng.choice(words)}</{tag}></p>"
                         for _ in range(rng.randrange(1, 8)))
        shaped = _LINK_WITHOUT_REL.sub(r'<a href="\1" rel="noopener noreferrer">', markup)
        assert is_sanitised(shaped), markup
        for base in BASES:
            assert sanitise_html(markup, base) == sanitise_with_nh3(markup, base) == shaped, (markup, base)


def test_a_feed_article_with_plain_links_takes_the_quick_way() -> None:
    article = ('\n<p>Talks went on. <a href="https://example.com/242081">more</a> <em>rail</em></p>'
               '<p>Second <a href="https://example.org/a?b=1&amp;c=2">link</a>.</p>\n')
    expected = sanitise_with_nh3(article, BASES[0])
    assert sanitise_html(article, BASES[0]) == expected
    assert expected.count(' rel="noopener noreferrer"') == 2 and is_sanitised(expected)
