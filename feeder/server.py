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
}
_GZIP_MIN = 512


@dataclass(frozen=True, slots=True)
class _Cached:
    stamp: tuple[int, int]
    body: bytes
    gzipped: bytes
    etag: str
    last_modified: datetime


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
            cached = _Cached(
                stamp=stamp,
                body=body,
                gzipped=gzip.compress(body, compresslevel=6, mtime=0),
                etag=f'"{hashlib.sha256(body).hexdigest()[:32]}"',
                last_modified=datetime.fromtimestamp(stat.st_mtime, UTC).replace(microsecond=0),
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
        headers = {
            "ETag": cached.etag,
            "Last-Modified": format_datetime(cached.last_modified, usegmt=True),
            "Cache-Control": cache_control,
            "Vary": "Accept-Encoding",
        }
        media_type = CONTENT_TYPES.get(os.path.splitext(relative)[1], "application/octet-stream")
        if _not_modified(request, cached):
            return Response(status_code=304, headers=headers)
        body = cached.body
        if len(body) >= _GZIP_MIN and "gzip" in request.headers.get("accept-encoding", "").lower():
            body = cached.gzipped
            headers["Content-Encoding"] = "gzip"
        headers["Content-Type"] = media_type
        if request.method == "HEAD":
            headers["Content-Length"] = str(len(body))
            return Response(status_code=200, headers=headers)
        return Response(body, headers=headers)

    async def index(request: Request) -> Response:
        return serve("index.html", request)

    async def opml(request: Request) -> Response:
        return serve("topics.opml", request)

    async def topic(request: Request) -> Response:
        slug, fmt = request.path_params["slug"], request.path_params["fmt"]
        if fmt not in ("atom", "rss", "json") or "/" in slug or slug.startswith("."):
            return PlainTextResponse("not found\n", status_code=404)
        return serve(f"topics/{slug}.{fmt}", request)

    async def status_json(_request: Request) -> Response:
        return JSONResponse(status() if status else {})

    async def healthz(_request: Request) -> Response:
        ok = healthy() if healthy else True
        return PlainTextResponse("ok\n" if ok else "stalled\n", status_code=200 if ok else 503)

    async def metrics_text(_request: Request) -> Response:
        return PlainTextResponse(metrics() if metrics else "", media_type="text/plain; version=0.0.4")

    routes = [
        Route("/", index, methods=["GET", "HEAD"]),
        Route("/topics.opml", opml, methods=["GET", "HEAD"]),
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
        return "*" in tags or cached.etag in tags
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


__all__ = ["create_app"]
