"""HTTP: the published files with strong ETags, Last-Modified, 304, HEAD and gzip; status and health."""

from __future__ import annotations

import gzip
import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

CONTENT_TYPES = {
    ".atom": "application/atom+xml; charset=utf-8",
    ".rss": "application/rss+xml; charset=utf-8",
    ".json": "application/feed+json; charset=utf-8",
    ".opml": "text/x-opml; charset=utf-8",
    ".html": "text/html; charset=utf-8",
    ".svg": "image/svg+xml; charset=utf-8",
}
# The index is static HTML with inline CSS: forbid script outright, so a bug in escaping cannot run any.
HTML_POLICY = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; base-uri 'none'; form-action 'none'"
_GZIP_MIN = 512


@dataclass(frozen=True, slots=True)
class _Cached:
    stamp: tuple[int, int]
    body: bytes
    gzipped: bytes
    etag: str  # of the identity bytes; the gzip representation gets its own (RFC 9110 8.8.3: strong
    # validators differ per content coding), derived so a client holding either one gets a 304
    last_modified: datetime
    last_modified_http: str  # formatted once, not per request

    @property
    def gzip_etag(self) -> str:
        return self.etag[:-1] + '-gzip"'


class FileCache:
    """Published files in memory, reloaded when the publisher replaces one (new mtime or size)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._files: dict[str, _Cached] = {}

    def get(self, relative: str) -> _Cached | None:
        path = self.root / relative
        try:
            stat = path.stat()
        except (FileNotFoundError, NotADirectoryError):
            self._files.pop(relative, None)
            return None
        stamp = (stat.st_mtime_ns, stat.st_size)
        cached = self._files.get(relative)
        if cached is None or cached.stamp != stamp:
            body = path.read_bytes()
            modified = datetime.fromtimestamp(stat.st_mtime, UTC).replace(microsecond=0)
            cached = _Cached(
                stamp=stamp,
                body=body,
                gzipped=gzip.compress(body, compresslevel=6, mtime=0),
                etag=f'"{hashlib.sha256(body).hexdigest()[:32]}"',
                last_modified=modified,
                last_modified_http=format_datetime(modified, usegmt=True),
            )
            self._files[relative] = cached
        return cached


def create_app(public_dir: Path, max_age: timedelta, status: Callable[[], dict[str, object]] | None = None,
               healthy: Callable[[], bool] | None = None, metrics: Callable[[], str] | None = None) -> Starlette:
    files = FileCache(public_dir)
    cache_control = f"public, max-age={int(max_age.total_seconds())}"

    def serve(relative: str, request: Request) -> Response:
        cached = files.get(relative)
        if cached is None:
            return PlainTextResponse("not found\n", status_code=404)
        gzipped = len(cached.body) >= _GZIP_MIN and _accepts_gzip(request.headers.get("accept-encoding", ""))
        suffix = os.path.splitext(relative)[1]
        headers = {
            "ETag": cached.gzip_etag if gzipped else cached.etag,
            "Last-Modified": cached.last_modified_http,
            "Cache-Control": cache_control,
            "Vary": "Accept-Encoding",
            "X-Content-Type-Options": "nosniff",
        }
        if suffix == ".html":
            headers["Content-Security-Policy"] = HTML_POLICY
        if _not_modified(request, cached):
            return Response(status_code=304, headers=headers)
        body = cached.gzipped if gzipped else cached.body
        if gzipped:
            headers["Content-Encoding"] = "gzip"
        headers["Content-Type"] = CONTENT_TYPES.get(suffix, "application/octet-stream")
        headers["Content-Length"] = str(len(body))
        if request.method == "HEAD":
            return Response(status_code=200, headers=headers)
        return Response(body, headers=headers)

    async def index(request: Request) -> Response:
        return serve("index.html", request)

    async def opml(request: Request) -> Response:
        return serve("topics.opml", request)

    async def icon(request: Request) -> Response:
        return serve("icon.svg", request)

    async def topic(request: Request) -> Response:
        slug, fmt = request.path_params["slug"], request.path_params["fmt"]
        if fmt not in ("atom", "rss", "json") or "/" in slug or slug.startswith("."):
            return PlainTextResponse("not found\n", status_code=404)
        return serve(f"topics/{slug}.{fmt}", request)

    def status_json(_request: Request) -> Response:
        # Plain def: Starlette runs it in a thread, so the status query never blocks the event loop.
        return JSONResponse(status() if status else {})

    async def healthz(_request: Request) -> Response:
        ok = healthy() if healthy else True
        return PlainTextResponse("ok\n" if ok else "stalled\n", status_code=200 if ok else 503)

    async def metrics_text(_request: Request) -> Response:
        return PlainTextResponse(metrics() if metrics else "", media_type="text/plain; version=0.0.4")

    routes = [
        Route("/", index, methods=["GET", "HEAD"]),
        Route("/topics.opml", opml, methods=["GET", "HEAD"]),
        Route("/icon.svg", icon, methods=["GET", "HEAD"]),
        Route("/topics/{slug}.{fmt}", topic, methods=["GET", "HEAD"]),
        Route("/status.json", status_json),
        Route("/healthz", healthz, methods=["GET", "HEAD"]),
        Route("/metrics", metrics_text),
    ]
    return Starlette(routes=routes)


def _not_modified(request: Request, cached: _Cached) -> bool:
    """RFC 9110: If-None-Match wins; If-Modified-Since counts only without it."""
    if_none_match = request.headers.get("if-none-match")
    if if_none_match is not None:
        tags = {t.strip().removeprefix("W/") for t in if_none_match.split(",")}
        return "*" in tags or cached.etag in tags or cached.gzip_etag in tags
    since = request.headers.get("if-modified-since")
    if since:
        try:
            moment = parsedate_to_datetime(since)
        except (TypeError, ValueError, IndexError):
            return False
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return cached.last_modified <= moment
    return False


def _accepts_gzip(accept_encoding: str) -> bool:
    """True when the client takes gzip (or ``*``) with a q-value above zero (RFC 9110 12.5.3)."""
    for part in accept_encoding.lower().split(","):
        coding, _, params = part.partition(";")
        if coding.strip() not in ("gzip", "x-gzip", "*"):
            continue
        quality = params.strip().removeprefix("q=").strip() if params.strip().startswith("q=") else "1"
        try:
            return float(quality) > 0
        except ValueError:
            return False
    return False


__all__ = ["create_app"]
