"""`/static/...`: the explorer's own scripts and stylesheet, and the vendored npm files.

Every file under the package folder `netvigil.web/static` is read once, at import, with its
sha256 (the strong ETag) and its media type; a request is a look-up of its path in that table,
so only those files can ever be answered. A path that is not a key (`..`, an absolute or
doubled slash, an encoded dot or slash — Starlette matches on the decoded path, and no key has
such a segment — a folder, a file added after start) is a JSON 404, never a read of the disk.
All of it is about 1.1 MB (vega.min.js is half of it), fine to keep in memory.

Caching: `Cache-Control: public, max-age=86400` and the ETag; `If-None-Match` answers 304
(RFC 9110 §13.1.2: weak comparison, a list, or `*`). `nosniff` because a browser must not
run a file as something its type does not say (a JSON file as a script). Text files (scripts,
styles, the atlas) are also kept gzipped, compressed once at import, and sent so to a client that
accepts gzip (`Vary: Accept-Encoding`): htmx's 52 KB is 17 KB on a slow link. Files are the same
for everyone and hold no secret, so compressing them leaks nothing (pages are not compressed:
BREACH reads secrets through the compression of pages that reflect input).
"""

from __future__ import annotations

import gzip
import hashlib
from importlib.resources import files
from importlib.resources.abc import Traversable
from typing import Final

import msgspec
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

# The types of what ships (and might: svg, png, woff2); LICENSE files have no suffix.
TYPES: Final = {
    ".js": "text/javascript; charset=utf-8",  # RFC 9239 §6
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".woff2": "font/woff2",
    ".md": "text/markdown; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
    "": "text/plain; charset=utf-8",
}
OTHER: Final = "application/octet-stream"
CACHE: Final = "public, max-age=86400"


class Asset(msgspec.Struct, frozen=True):
    body: bytes
    etag: str  # quoted, as sent: "<sha256 hex>"
    media_type: str
    gzipped: bytes | None = None  # for text files worth compressing


def _gzipped(body: bytes, media: str) -> bytes | None:
    if not media.startswith(("text/", "application/json", "image/svg")) or len(body) < 1024:
        return None
    return gzip.compress(body, compresslevel=9, mtime=0)  # mtime 0: the same bytes each start


def media_type(name: str) -> str:
    dot = name.rfind(".")
    return TYPES.get(name[dot:].lower() if dot > 0 else "", OTHER)


def collect(folder: Traversable, prefix: str = "") -> dict[str, Asset]:
    """Each file under `folder` by its path relative to it, with `/` between parts."""
    found: dict[str, Asset] = {}
    for entry in sorted(folder.iterdir(), key=lambda entry: entry.name):
        if entry.name.startswith(".") or entry.name == "__pycache__":
            continue
        path = f"{prefix}{entry.name}"
        if entry.is_dir():
            found.update(collect(entry, f"{path}/"))
        elif entry.is_file():
            body = entry.read_bytes()
            etag = f'"{hashlib.sha256(body).hexdigest()}"'
            media = media_type(entry.name)
            found[path] = Asset(body, etag, media, _gzipped(body, media))
    return found


ASSETS: Final = collect(files("netvigil.web") / "static")


def matches(if_none_match: str, etag: str) -> bool:
    """Whether an If-None-Match header names this ETag (weak comparison: W/ is ignored)."""
    for tag in if_none_match.split(","):
        tag = tag.strip()
        if tag == "*" or tag.removeprefix("W/") == etag:
            return True
    return False


async def serve(request: Request) -> Response:
    asset = ASSETS.get(request.path_params["path"])
    if asset is None:
        return JSONResponse({"error": "no such static file"}, status_code=404)
    headers = {"ETag": asset.etag, "Cache-Control": CACHE, "X-Content-Type-Options": "nosniff"}
    if asset.gzipped is not None:
        headers["Vary"] = "Accept-Encoding"
    if matches(request.headers.get("if-none-match", ""), asset.etag):
        return Response(status_code=304, headers=headers)
    if asset.gzipped is not None and accepts_gzip(request.headers.get("accept-encoding", "")):
        headers["Content-Encoding"] = "gzip"
        return Response(asset.gzipped, media_type=asset.media_type, headers=headers)
    return Response(asset.body, media_type=asset.media_type, headers=headers)


def accepts_gzip(header: str) -> bool:
    """Whether Accept-Encoding allows gzip (RFC 9110 §12.5.3: `gzip;q=0` refuses it)."""
    for part in header.lower().split(","):
        coding, _, params = part.strip().partition(";")
        if coding.strip() in ("gzip", "*"):
            quality = params.strip().removeprefix("q=")
            return not params.strip() or (
                quality.replace(".", "", 1).isdigit() and float(quality) > 0
            )
    return False


def routes() -> list[Route]:
    # GET also answers HEAD (Starlette adds it).
    return [Route("/static/{path:path}", serve, methods=["GET"], include_in_schema=False)]
