"""Headline text: normalisation (the public ``headline_key``) and the tokens the matcher compares.

Everything here is a pure function of one title, so results never depend on arrival order.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import NamedTuple

# Typographic quotes and dashes folded to ASCII, so that a curly-quoted and a straight-quoted headline
# give the same key. Written as escapes: the characters themselves look like their ASCII twins.
_FOLD = str.maketrans(
    dict.fromkeys("\u2018\u2019\u201a\u201b\u2032\u0060\u00b4", "'")
    | dict.fromkeys("\u201c\u201d\u201e\u201f\u2033\u00ab\u00bb\u2039\u203a", '"')
    | dict.fromkeys("\u2010\u2011\u2012\u2013\u2014\u2015\u2212", "-")
    | {"\u2026": "..."}
)

# Labels that outlets put before the headline: "UPDATE 7-", "LIVE:", "Watch:", "REFILE-", "(LEAD)".
_PREFIX = re.compile(
    r"^(?:\s*(?:\(|\[)?(?:update(?:\s*\d+)?|refile|rpt|repeat|corrected|correction|exclusive|breaking(?:\s+news)?"
    r"|live(?:\s+updates?)?|watch|video|photos?|gallery|audio|podcast|urgent|flash|lead|analysis|insight"
    r"|factbox|fact\s*check|explainer|wrapup(?:\s*\d+)?|timeline|interview|opinion|editorial|column"
    r"|in\s+pictures|market\s+wrap|just\s+in)(?:\s*\d+)?(?:\)|\])?\s*(?:[-:|]+|\s(?=[\"']))\s*)+",
    re.IGNORECASE,
)
# Attributions and labels after the headline: " - Reuters", " | WION", " (1)", " -- Update", "  ...".
_SUFFIX_SEGMENT = re.compile(r"\s+(?:\||-{1,2}|:)\s*([^|]{1,40})$|\s*\|\s*([^|]{1,60})$")
_SUFFIX_NOISE = re.compile(
    r"(?:\s*\(\s*(?:\d+|update\s*\d*|video|photos?|updated|corrected|live)\s*\)|\s*\[[^\]]{1,20}\]"
    r"|\s*\.{3,}|\s*-+\s*update\s*\d*)\s*$",
    re.IGNORECASE,
)
_MAX_SUFFIX_WORDS = 4  # a longer trailing segment is part of the news ("X - and why it matters"), not a label
_POSSESSIVE = re.compile(r"'s\b")
_NON_WORD = re.compile(r"[^\w$%€£.]+")
_TOKEN = re.compile(r"[$€£]?\d[\d,.]*(?:%|\w+)?|[^\W\d_][\w]*")
_SENTENCE_DOT = re.compile(r"(?<!\d)\.|\.(?!\d)")


def _may_end_in_noise(text: str) -> bool:
    """Cheap test before the costly end-anchored ``_SUFFIX_NOISE`` scan: it can only match these endings."""
    return text[-1:] in ")]." or "update" in text[-14:].casefold()


def _may_have_segment(text: str) -> bool:
    """Cheap test before the ``_SUFFIX_SEGMENT`` scan: it needs a separator."""
    return "|" in text or " -" in text or ":" in text


def _strip_noise(text: str) -> str:
    """``_SUFFIX_NOISE.sub("", text)``, whose search tries every place of the text in turn.

    Each label ends in its own character: ")" for "(Video)", "]", "..." or "update N". So text ending in "."
    can only end in an ellipsis, whose match takes the spaces before the final run of dots; and text ending
    in ")" only in the parenthesised label, whose "(" is then the text's last one, so the search starts at
    the spaces before it. (``rstrip`` strips what the regex takes as whitespace.)
    """
    if text.endswith("."):
        dots = len(text) - len(text.rstrip("."))
        return text[: len(text[: len(text) - dots].rstrip())] if dots >= 3 else text
    if not text.endswith(")"):
        return _SUFFIX_NOISE.sub("", text)
    opening = text.rfind("(")
    if opening < 0:
        return text
    found = _SUFFIX_NOISE.search(text, len(text[:opening].rstrip()))
    return text[: found.start()] if found else text


def strip_affixes(title: str) -> str:
    """The headline without outlet labels before it or attributions after it."""
    text = title.strip()
    if text[:1].isalpha() or text[:1] in "([":  # every prefix label starts so; skip the scan otherwise
        text = _PREFIX.sub("", text)
    for _ in range(3):  # "Title - Reuters (1)" carries more than one trailing label
        before = text
        if _may_end_in_noise(text):
            text = _strip_noise(text).strip()
        found = _SUFFIX_SEGMENT.search(text) if _may_have_segment(text) else None
        if found and found.start() > len(text) // 3:  # never strip most of the headline
            tail = found.group(1) or found.group(2) or ""
            if len(tail.split()) <= _MAX_SUFFIX_WORDS:
                text = text[: found.start()].rstrip()
        if text == before:
            break
    return text or title.strip()


def _fold(text: str) -> str:
    if text.isascii():  # NFKC and the fold table change nothing in ASCII, the common case
        return text
    return unicodedata.normalize("NFKC", text).translate(_FOLD)


def headline_key(title: str) -> str:
    """Normalised headline: Unicode NFKC, quotes folded, case folded, outlet affixes and punctuation gone."""
    folded = _POSSESSIVE.sub("", strip_affixes(_fold(title)).casefold()).replace("'", "")
    spaced = _NON_WORD.sub(" ", folded)
    return " ".join(_SENTENCE_DOT.sub(" ", spaced).split())


# English function words: they carry no news, so they never make two headlines alike.
STOPWORDS = frozenset(  # a word list reads better as text than as 130 quoted items
    """
    a an the and or but nor of to in on at by for from with without into onto over under up down out
    off as is are was were be been being am has have had having do does did will would shall should
    can could may might must not no yes it its it's this that these those he she they we you i his
    her their our your my me him them who whom whose which what when where why how than then so too
    very just also about after before again against between through during above below all any both
    each few more most other some such only own same there here s t says said say amid via vs v
    """.split()  # noqa: SIM905
)
_ABBREVIATION = re.compile(r"\b((?:[^\W\d_]\.){2,})")
# Outlets write small numbers either way; "Three NATO troops" and "3 NATO troops" are the same count.
_NUMBER_WORDS = {
    word: str(value)
    for value, word in enumerate(
        ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven",
         "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen",
         "twenty")
    )
    if value > 0  # "one" is as often a pronoun ("the one who...") as a count
}
_NUMBER_DIGITS = re.compile(r"\d+(?:\.\d+)?")


def canonical_number(word: str) -> str:
    """The value a number token states, without currency, separators, units or a trailing ".0"."""
    digits = _NUMBER_DIGITS.search(word.replace(",", ""))
    if not digits:
        return word
    value = digits.group(0)
    if "." in value:
        value = value.rstrip("0").rstrip(".")
    return value + "%" if word.endswith("%") else value


class Words(NamedTuple):
    """A headline's content words in order, each once: its stems (a number's value for a number), whether
    the outlet wrote each like a name, and which are numbers. Tuples: the matcher reads them per candidate."""

    stems: tuple[str, ...]
    names: tuple[bool, ...]
    numbers: tuple[bool, ...]


def stem(word: str) -> str:
    """A light English suffix stripper: enough that "attacks", "attacked" and "attacking" agree."""
    if len(word) <= 3 or not word.isalpha():
        return word
    for suffix, replacement, min_len in (
        ("ies", "y", 5), ("sses", "ss", 5), ("ness", "", 7), ("ings", "", 7), ("ing", "", 6),
        ("edly", "", 7), ("ed", "", 5), ("ers", "er", 5), ("es", "e", 5), ("s", "", 4),
    ):
        if word.endswith(suffix) and len(word) >= min_len and not word.endswith(("ss", "us", "is")):
            return word[: len(word) - len(suffix)] + replacement
    return word


@lru_cache(maxsize=16384)  # words repeat across headlines far more than headlines do
def word_key(word: str) -> str | None:
    """What one word of a headline is compared as: a stem, a number's value, or None for a function word."""
    folded = word.casefold().rstrip(".,")
    if not folded or folded in STOPWORDS:
        return None
    folded = _NUMBER_WORDS.get(folded, folded)
    if folded[0].isdigit() or folded[0] in "$€£":
        return canonical_number(folded)
    return stem(folded)


@lru_cache(maxsize=256)  # the store calls match then add with the same title: tokenise once
def content_words(title: str) -> Words:
    """The content words of a headline in order, without function words, outlet affixes or duplicates."""
    text = strip_affixes(_fold(title))
    if "." in text:
        text = _ABBREVIATION.sub(_undot, text)
    if "'" in text:
        text = _POSSESSIVE.sub("", text).replace("'", "")
    # Typed: findall's own type is list[Any], which compiled code would handle as generic objects.
    words: list[str] = _TOKEN.findall(text)
    keys = [word_key(word) for word in words]
    # In "Fed Raises Rates" or "FED RAISES RATES" case says nothing; in "Fed raises rates in Ohio" it
    # marks names (the first word too: "Putin wins..." is a name, and "Polls open..." costs little).
    content = upper = 0  # words with a letter first, and those of them capitalised
    for at, word in enumerate(words):
        if keys[at] is not None and _is_letter(word[0]):
            content += 1
            upper += _is_capital(word[0])
    case_tells = upper * 2 <= content
    seen: set[str] = set()
    stems: list[str] = []
    names: list[bool] = []
    numbers: list[bool] = []
    for at, word in enumerate(words):
        key = keys[at]
        if key is None or key in seen:
            continue
        seen.add(key)
        stems.append(key)
        number = key[0].isdigit()  # word_key gives every number as its value, and only numbers so
        numbers.append(number)
        names.append(
            not number and _is_capital(word[0]) and ((len(word) > 1 and _is_capital(word[1])) or case_tells)
        )
    if not stems and words:  # "What now?": only function words, so they are all there is to compare
        only = tuple(dict.fromkeys(w.casefold() for w in words))
        return Words(only, (False,) * len(only), (False,) * len(only))
    return Words(tuple(stems), tuple(names), tuple(numbers))


def _is_letter(char: str) -> bool:
    """``char.isalpha()``; ASCII (most headlines) without a method call."""
    code = ord(char)
    if code < 128:
        return 65 <= code <= 90 or 97 <= code <= 122
    return char.isalpha()


def _is_capital(char: str) -> bool:
    """``char.isupper()``; ASCII (most headlines) without a method call."""
    code = ord(char)
    if code < 128:
        return 65 <= code <= 90
    return char.isupper()


def _undot(found: re.Match[str]) -> str:
    return found.group(1).replace(".", "")
