"""HTTP fetching: one shared client, conditional GET, bounded in time, size and concurrency.

Also the polling policy: when a source is due again after a success, an error, a 429 or a 410.
"""

from __future__ import annotations

import asyncio
import email.utils
import random
import zlib
from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from urllib.parse import urljoin, urlsplit

import aiohttp
import httpx
from httpx_aiohttp import AiohttpTransport

from feeder.config import FetchConfig
from feeder.model import SourceState

MAX_REDIRECTS = 5
MAX_BACKOFF = timedelta(hours=24)
_PERMANENT = frozenset({301, 308})
_REDIRECTS = frozenset({301, 302, 303, 307, 308})


class FetchError(Exception):
    """A fetch that gave no usable document; the message is one line for the source's status."""

    def __init__(self, message: str, status: int = 0, retry_after: timedelta | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after


@dataclass(frozen=True, slots=True)
class FetchResult:
    url: str  # where the document finally came from
    status: int
    body: bytes | None  # None when the server said 304 Not Modified
    content_type: str = ""
    etag: str = ""
    last_modified: str = ""
    max_age: timedelta | None = None  # from Cache-Control max-age or Expires
    permanent_redirect: str = ""  # the new URL when every hop to it was permanent


class Fetcher:
    """Fetch documents over one shared client, within global and per-host limits."""

    def __init__(self, config: FetchConfig, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.config = config
        timeout = config.timeout.total_seconds()
        limits = httpx.Limits(max_connections=config.concurrency, max_keepalive_connections=config.concurrency)
        self.client = httpx.AsyncClient(
            follow_redirects=False,
            timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
            headers={"User-Agent": config.user_agent,
                     # Only encodings that _Inflater can inflate with a bound: no brotli, no zstd.
                     "Accept-Encoding": "gzip, deflate"},
            # httpx's own transport needed ~10x longer than aiohttp's on the loopback farm
            # (bench/fetch.py). AiohttpTransport passes auto_decompress=False, so aiter_raw() still
            # yields the bytes as sent and the bomb bound in _read_body holds.
            transport=transport or AiohttpTransport(limits=limits),
        )
        # httpx's pool degrades badly with many waiters: bound the requests in flight ourselves.
        self._in_flight = asyncio.Semaphore(config.concurrency)
        self._per_host: defaultdict[str, asyncio.Semaphore] = defaultdict(
            lambda: asyncio.Semaphore(config.per_host)
        )

    async def aclose(self) -> None:
        await self.client.aclose()

    async def fetch(self, url: str, etag: str = "", last_modified: str = "") -> FetchResult:
        """GET with conditional headers and manual redirects; raises FetchError with a one-line reason."""
        headers = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        try:
            async with asyncio.timeout(self.config.timeout.total_seconds()):
                return await self._follow(url, headers)
        except TimeoutError:
            raise FetchError(f"timed out after {self.config.timeout.total_seconds():g}s") from None
        except httpx.HTTPError as exc:
            raise FetchError(_describe(exc)) from None

    async def _follow(self, url: str, headers: dict[str, str]) -> FetchResult:
        permanent = True
        seen = [url]
        for _ in range(MAX_REDIRECTS + 1):
            _check_scheme(url)
            result, location = await self._get_once(url, headers)
            if location is None:
                assert result is not None
                moved = url if permanent and url != seen[0] else ""
                return replace(result, permanent_redirect=moved)
            permanent = permanent and result is not None and result.status in _PERMANENT
            url = urljoin(url, location)
            if url in seen:
                raise FetchError(f"redirect loop at {url}")
            seen.append(url)
        raise FetchError(f"more than {MAX_REDIRECTS} redirects")

    async def _get_once(self, url: str, headers: dict[str, str]) -> tuple[FetchResult | None, str | None]:
        request_url = _request_url(url)
        async with self._in_flight, self._per_host[request_url.netloc.decode("ascii")]:  # host[:port], lower case
            request = self.client.build_request("GET", request_url, headers=headers)
            response = await self.client.send(request, stream=True)
            try:
                return await self._read(url, response)
            finally:
                await response.aclose()

    async def _read(self, url: str, response: httpx.Response) -> tuple[FetchResult | None, str | None]:
        status = response.status_code
        if status in _REDIRECTS:
            location = response.headers.get("location")
            if not location:
                raise FetchError(f"HTTP {status} without a Location", status)
            return FetchResult(url, status, None), location
        meta = FetchResult(
            url=url,
            status=status,
            body=None,
            content_type=response.headers.get("content-type", ""),
            etag=response.headers.get("etag", ""),
            last_modified=response.headers.get("last-modified", ""),
            max_age=_max_age(response.headers),
        )
        if status == 304:
            return meta, None
        if status >= 400 or status < 200:
            raise FetchError(f"HTTP {status} {response.reason_phrase}".strip(), status,
                             _retry_after(response.headers.get("retry-after", "")))
        body = await _read_body(response, self.config.max_bytes)
        if not body.strip():
            raise FetchError("empty body", status)
        return replace(meta, body=body), None


@lru_cache(maxsize=16_384)  # bounded: redirect targets can be endless (session ids in the URL)
def _request_url(url: str) -> httpx.URL:
    """A source's URL parsed once, not at every poll: httpx's parser took a tenth of a warm ingest's CPU
    (bench/ingest.py, 2,000 feeds all 304; httpx.URL is immutable, so one serves every request)."""
    return httpx.URL(url)


async def _read_body(response: httpx.Response, limit: int) -> bytes:
    """The decoded body, counted as it is inflated so that a small bomb cannot grow past ``limit``."""
    inflater = _Inflater(response.headers.get("content-encoding", ""))
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:  # even encoded, it could only inflate further
        raise FetchError(f"body larger than {limit} bytes (Content-Length {declared})")
    parts: list[bytes] = []
    size = 0
    async for raw in response.aiter_raw():
        for piece in inflater.feed(raw, limit - size + 1):
            size += len(piece)
            if size > limit:
                raise FetchError(f"body larger than {limit} bytes")
            parts.append(piece)
    return b"".join(parts)


class _Inflater:
    """gzip/deflate decoding that never produces more than it is asked for at once."""

    def __init__(self, encoding: str) -> None:
        codings = [c.strip().lower() for c in encoding.split(",") if c.strip() and c.strip() != "identity"]
        if len(codings) > 1 or (codings and codings[0] not in ("gzip", "x-gzip", "deflate")):
            raise FetchError(f"unsupported Content-Encoding {encoding!r}")
        self._coding = codings[0] if codings else ""
        self._gzip = self._coding in ("gzip", "x-gzip")
        self._zlib = zlib.decompressobj(zlib.MAX_WBITS | 16 if self._gzip else zlib.MAX_WBITS) if self._coding else None
        self._started = False

    def feed(self, data: bytes, room: int) -> list[bytes]:
        """Inflate ``data``, stopping once more than ``room`` bytes came out (the caller then gives up)."""
        if self._zlib is None:
            return [data]
        try:
            return self._inflate(data, room)
        except zlib.error as exc:
            if self._gzip or self._started:
                raise FetchError(f"corrupt {self._coding} body: {exc}") from None
            # Many servers send raw deflate (no zlib header) under "deflate"; browsers accept both.
            self._zlib = zlib.decompressobj(-zlib.MAX_WBITS)
            try:
                return self._inflate(data, room)
            except zlib.error as exc2:
                raise FetchError(f"corrupt {self._coding} body: {exc2}") from None

    def _inflate(self, data: bytes, room: int) -> list[bytes]:
        assert self._zlib is not None
        out = [self._zlib.decompress(data, room)]
        self._started = True
        produced = len(out[0])
        while self._zlib.unconsumed_tail and produced <= room:
            out.append(self._zlib.decompress(self._zlib.unconsumed_tail, room - produced + 1))
            produced += len(out[-1])
        return out


def _check_scheme(url: str) -> None:
    scheme = urlsplit(url).scheme.lower()
    if scheme not in ("http", "https"):
        raise FetchError(f"only http(s) URLs are fetched, not {scheme or 'a relative'} URL {url!r}")


def _max_age(headers: httpx.Headers) -> timedelta | None:
    for directive in headers.get("cache-control", "").split(","):
        name, _, value = directive.strip().partition("=")
        if name.lower() == "max-age" and value.strip().isdigit():
            return timedelta(seconds=int(value.strip()))
    expires = _http_date(headers.get("expires", ""))
    if expires is None:
        return None
    date = _http_date(headers.get("date", "")) or datetime.now(UTC)
    return max(expires - date, timedelta(0))


def _retry_after(value: str) -> timedelta | None:
    value = value.strip()
    if value.isdigit():
        return timedelta(seconds=int(value))
    when = _http_date(value)
    return max(when - datetime.now(UTC), timedelta(0)) if when else None


def _http_date(value: str) -> datetime | None:
    if not value:
        return None
    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _describe(exc: httpx.HTTPError) -> str:
    # AiohttpTransport maps aiohttp's errors coarsely (a refused connection becomes ConnectTimeout):
    # the original error names the failure better.
    cause = exc.__cause__ if isinstance(exc.__cause__, aiohttp.ClientError) else exc
    kind = type(cause).__name__
    text = str(cause).strip().splitlines()[0] if str(cause).strip() else ""
    return f"{kind}: {text}"[:300] if text else kind


# -- polling policy ---------------------------------------------------------------------------------


def jittered(delay: timedelta, rng: random.Random | None = None) -> timedelta:
    """Up to 10% later, so that sources added together do not stay in lock-step."""
    return delay * (1 + (rng or random).random() * 0.1)


def after_success(state: SourceState, result: FetchResult, interval: timedelta, now: datetime,
                  entries: int) -> SourceState:
    """State after a 200 or 304: failures reset, validators kept, next fetch honouring cache headers."""
    delay = max(interval, min(result.max_age or timedelta(0), MAX_BACKOFF))
    moved = result.permanent_redirect
    adopt = bool(moved) and moved == state.redirect_to  # permanent on two fetches in a row
    return replace(
        state,
        url=moved if adopt else state.url,
        redirect_to="" if adopt else moved,
        etag=result.etag if result.body is not None else (result.etag or state.etag),
        last_modified=result.last_modified if result.body is not None else (
            result.last_modified or state.last_modified),
        last_attempt=now,
        last_success=now,
        status=result.status,
        error="",
        failures=0,
        next_fetch=now + jittered(delay),
        entries_seen=entries if result.body is not None else state.entries_seen,
    )


def after_failure(state: SourceState, error: str, interval: timedelta, now: datetime, status: int = 0,
                  retry_after: timedelta | None = None) -> SourceState:
    """State after an error: exponential backoff capped at a day; 410 Gone stops polling."""
    failures = state.failures + 1
    backoff = min(interval * (2 ** min(failures - 1, 16)), max(MAX_BACKOFF, interval))
    if retry_after is not None:  # the server's wish can only make us wait longer, and not past a day
        backoff = max(backoff, min(retry_after, MAX_BACKOFF))
    return replace(
        state,
        last_attempt=now,
        status=status,
        error=error,
        failures=failures,
        gone=status == 410,
        next_fetch=None if status == 410 else now + jittered(backoff),
    )
