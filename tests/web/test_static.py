"""`/static/`: the vendored files are what VENDOR.md and the npm lock say, and are served safely.

VENDOR.md (written by scripts/vendor-frontend) and frontend/package-lock.json are the
witnesses: each file listed must be there with its sha256 and size, each version must be the
lock's, and nothing else may sit in vendor/. The route is exercised through httpx's ASGI
transport, and the traversal attempts through a real server on loopback over a raw socket,
because httpx removes `..` segments from a URL before sending it (as browsers do); a hostile
client does not.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import socket
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette

from netvigil.web.static import routes
from tests.probe.world import free_port
from tests.served import served

ROOT = Path(__file__).resolve().parents[2]
STATIC = ROOT / "src" / "netvigil" / "web" / "static"
VENDOR = STATIC / "vendor"
LOCK = json.loads((ROOT / "frontend" / "package-lock.json").read_text())["packages"]
ROW = re.compile(r"^\| (\S+) \| (\S+) \| (\S+) \| (\S+) \| ([0-9a-f]{64}) \| (\d+) \|$", re.M)
TARBALL = re.compile(r"^\| (\S+) \| (\S+) \| `(sha512-[A-Za-z0-9+/=]+)` \|$", re.M)
SHIPPED = {"htmx.org", "vega", "vega-lite", "vega-embed", "vega-interpreter", "world-atlas"}
# Strings that look like URLs but are not requests: the XML namespace of SVG, and the
# Vega-Lite schema that a spec names as data ($schema; vega-embed does not fetch it).
NOT_REQUESTS = {"http://www.w3.org/2000/svg", "https://vega.github.io/schema/vega-lite/v6.json"}


def listed() -> list[tuple[str, ...]]:
    return ROW.findall((VENDOR / "VENDOR.md").read_text())


def test_every_vendored_file_is_listed_with_its_sha256_and_size() -> None:
    rows = listed()
    assert {row[0] for row in rows} == SHIPPED
    for _package, _version, _licence, file, sha256, size in rows:
        data = (VENDOR / file).read_bytes()
        assert hashlib.sha256(data).hexdigest() == sha256, file
        assert len(data) == int(size), file
    on_disk = {str(p.relative_to(VENDOR)) for p in VENDOR.rglob("*") if p.is_file()}
    assert on_disk - {"VENDOR.md"} == {row[3] for row in rows}
    shipped = {row[3] for row in rows}
    for minified in ("htmx.org/htmx.min.js", "vega/vega.min.js", "vega-lite/vega-lite.min.js"):
        assert minified in shipped
    assert {"vega-embed/vega-embed.min.js", "world-atlas/countries-110m.json"} <= shipped
    assert {f"{package}/LICENSE" for package in SHIPPED} <= shipped


def test_versions_and_tarballs_are_the_locks() -> None:
    pinned = LOCK[""]["dependencies"]
    assert set(pinned) == SHIPPED
    for package, version, licence, *_ in listed():
        assert pinned[package] == version, package  # exact pins, no ranges
        assert LOCK[f"node_modules/{package}"]["version"] == version, package
        assert LOCK[f"node_modules/{package}"]["license"] == licence, package
    tarballs = TARBALL.findall((VENDOR / "VENDOR.md").read_text())
    assert {row[0] for row in tarballs} == SHIPPED
    for package, version, integrity in tarballs:
        assert LOCK[f"node_modules/{package}"]["version"] == version
        assert LOCK[f"node_modules/{package}"]["integrity"] == integrity
    assert pinned["htmx.org"].startswith("2.")  # htmx 2: the meta htmx-config keys we set
    # vega-embed's bundled interpreter is the one the lock resolves for it.
    assert LOCK["node_modules/vega-embed"]["dependencies"]["vega-interpreter"] == "^2.3.2"


def get(path: str, headers: dict[str, str] | None = None) -> httpx.Response:
    async def fetch() -> httpx.Response:
        transport = httpx.ASGITransport(app=Starlette(routes=routes()))
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return await client.get(path, headers=headers)

    return asyncio.run(fetch())


@pytest.mark.parametrize(
    ("file", "media_type"),
    [
        ("interactive.js", "text/javascript; charset=utf-8"),
        ("interactive.css", "text/css; charset=utf-8"),
        ("vendor/htmx.org/htmx.min.js", "text/javascript; charset=utf-8"),
        ("vendor/world-atlas/countries-110m.json", "application/json"),
        ("vendor/vega/LICENSE", "text/plain; charset=utf-8"),
    ],
)
def test_a_file_is_served_with_its_type_etag_and_caching(file: str, media_type: str) -> None:
    data = (STATIC / file).read_bytes()
    etag = f'"{hashlib.sha256(data).hexdigest()}"'
    answer = get(f"/static/{file}")
    assert answer.status_code == 200
    assert answer.content == data
    assert answer.headers["content-type"] == media_type
    assert answer.headers["etag"] == etag
    assert answer.headers["cache-control"] == "public, max-age=86400"
    assert answer.headers["x-content-type-options"] == "nosniff"
    for if_none_match in (etag, f"W/{etag}", f'"other", {etag}', "*"):
        again = get(f"/static/{file}", {"If-None-Match": if_none_match})
        assert again.status_code == 304, if_none_match
        assert again.content == b""
        assert again.headers["etag"] == etag
    assert get(f"/static/{file}", {"If-None-Match": '"other"'}).content == data


def raw_get(port: int, target: str) -> tuple[int, bytes]:
    """Send `target` as it is written, read the whole answer (the server closes)."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        request = f"GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
        sock.sendall(request.encode("latin-1"))
        chunks = []
        for _ in range(10_000):  # bounded: the answers here are a few hundred bytes
            chunk = sock.recv(65536)
            if not chunk:
                break
            chunks.append(chunk)
    head, _, body = b"".join(chunks).partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), body


TRAVERSALS = [
    "/static/../server.py",
    "/static/../static.py",
    "/static/vendor/../../static.py",
    "/static/%2e%2e/static.py",
    "/static/%2E%2E%2Fstatic.py",
    "/static/..%2fstatic.py",
    "/static/..%5cstatic.py",
    "/static//etc/passwd",
    "/static/%2fetc%2fpasswd",
    "/static/vendor",
    "/static/vendor/",
    "/static/vendor/vega",
    "/static/",
    "/static/interactive.js%00",
    "/static/./interactive.js",
    "/static/INTERACTIVE.JS",
]


def test_traversal_and_folders_are_a_json_404() -> None:
    port = free_port()
    with served(Starlette(routes=routes()), port):
        script = (STATIC / "interactive.js").read_bytes()
        assert raw_get(port, "/static/interactive.js") == (200, script)
        for target in TRAVERSALS:
            status, body = raw_get(port, target)
            assert status == 404, target
            assert set(json.loads(body)) == {"error"}, target


def test_our_pages_and_scripts_name_no_other_host() -> None:
    """Offline: no template or static file of ours (vendor/ aside) points at another host."""
    scanned = [
        path
        for folder in (ROOT / "src" / "netvigil" / "web" / "templates", STATIC)
        if folder.exists()
        for path in folder.rglob("*")
        if path.is_file() and VENDOR not in path.parents
    ]
    assert STATIC / "interactive.js" in scanned
    for path in scanned:
        text = path.read_text(errors="replace")
        urls = set(re.findall(r"""https?://[^\s"'<>)`]+""", text, re.I)) - NOT_REQUESTS
        assert not urls, (path, urls)
        # A protocol-relative address is another host too: src="//cdn.example/x.js", url(//...).
        relative = re.findall(r"""(?:src|href|action|url\()\s*=?\s*["']?//[^/]""", text, re.I)
        assert not relative, (path, relative)


def test_text_files_go_gzipped_to_a_client_that_accepts_gzip() -> None:
    """htmx, our scripts, the stylesheet and the atlas are sent gzipped when asked (the bytes
    unchanged once decompressed), plain otherwise, and never to `gzip;q=0`."""
    for file in ("vendor/htmx.org/htmx.min.js", "netvigil.css", "interactive.js"):
        data = (STATIC / file).read_bytes()
        for header, packed in (
            ("gzip, deflate, br", True),
            ("identity", False),
            ("gzip;q=0", False),
        ):
            answer = get(f"/static/{file}", {"Accept-Encoding": header})
            assert answer.headers["vary"] == "Accept-Encoding"
            assert (answer.headers.get("content-encoding") == "gzip") is packed, (file, header)
            assert answer.content == data  # httpx decompresses what says gzip
    atlas = get("/static/vendor/world-atlas/countries-110m.json", {"Accept-Encoding": "gzip"})
    assert atlas.headers["content-encoding"] == "gzip"
    assert int(atlas.headers["content-length"]) < len(atlas.content) // 2  # it is smaller
