"""A fact about URLs that the parser and normalise both use (a leaf module: both import it)."""

from __future__ import annotations

import re

# A plain host (no user, port at most digits, no IPv6 brackets), then the rest with no whitespace and no ";".
_PLAIN_ABSOLUTE = re.compile("https?://[A-Za-z0-9.-]+(?::[0-9]*)?(?:[/?#][^;\\s]*)?")


def is_plain_absolute_url(url: str) -> bool:
    """An absolute http(s) URL that urllib's split and rebuild (inside every urljoin) gives back unchanged:
    a plain host, printable, no ";" parameters, no empty query or fragment, which it would drop. Joining one
    to a base is a costly way to get it back as it is."""
    return (_PLAIN_ABSOLUTE.fullmatch(url) is not None and url.isprintable()
            and url[-1] not in "?#" and "?#" not in url)
