"""One HTTP/1.1 round trip over an established stream, bounded in every dimension.

h11 parses the protocol (sans-IO); this module moves the bytes and enforces the limits a
hostile server must not be able to break (reliability.md §4.2):

- the body is capped at `max_body` bytes (OONI: 512 KiB) and marked `body_is_truncated`;
- headers are capped by h11's incomplete-event limit (a 100,000-header reply fails fast);
- a compressed body (sent although we never ask for one) is inflated with a bound, so a
  gzip bomb costs at most `max_body` bytes of memory;
- the caller's deadline covers the whole exchange: a 1-byte-every-5-seconds drip ends at
  the deadline, with whatever response line and headers arrived kept in the record, as
  OONI keeps `response.code` with `generic_timeout_error` (the throttling QA scenarios).
"""

from __future__ import annotations

import asyncio
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import h11
import msgspec

from netvigil.failures import unknown
from netvigil.net.errors import map_failures

MAX_BODY = 1 << 19  # ooni/probe-cli webconnectivitylte: maxbody = 1 << 19
MAX_HEADERS = 64 * 1024  # bytes of status line + headers before h11 gives up
_READ = 1 << 16
REDIRECT_CODES = frozenset((301, 302, 307, 308))

# ooni/probe-cli internal/model/http.go: what a browser would send.
REQUEST_HEADERS = (
    ("Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"),
    ("Accept-Language", "en-US,en;q=0.9"),
    (
        "User-Agent",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/124.0.0.0 Safari/537.36",
    ),
)


class Exchange(msgspec.Struct, frozen=True, kw_only=True):
    """What one round trip produced; `failure` is None when a full response arrived."""

    status: int = 0
    headers: list[tuple[str, str]] = msgspec.field(default_factory=list)
    body: bytes = b""
    truncated: bool = False
    failure: str | None = None


class _Inflater:
    """Bounded decoding of `Content-Encoding: gzip/deflate`."""

    def __init__(self, encoding: str) -> None:
        wbits = 16 + zlib.MAX_WBITS if encoding == "gzip" else zlib.MAX_WBITS
        self._inflate = zlib.decompressobj(wbits) if encoding in ("gzip", "deflate") else None

    def feed(self, data: bytes, room: int) -> bytes:
        if self._inflate is None:
            return data[:room]
        return self._inflate.decompress(data, max(room, 1))


@dataclass
class _Received:
    """The response as it arrives, so that a failure keeps what came before it."""

    status: int = 0
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""  # set once the body ended (or was cut at `max_body`)
    truncated: bool = False


async def round_trip(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    *,
    method: str,
    target: str,
    headers: list[tuple[str, str]],
    body: bytes = b"",
    deadline: float,
    max_body: int = MAX_BODY,
) -> Exchange:
    """Send one request and read its response within `deadline` seconds.

    Network errors become the exchange's failure; any other exception is a bug and raises.
    """
    connection = h11.Connection(h11.CLIENT, max_incomplete_event_size=MAX_HEADERS)
    try:
        request = connection.send(h11.Request(method=method, target=target, headers=headers))
    except (h11.LocalProtocolError, UnicodeEncodeError) as exc:
        # A target or header HTTP/1.1 cannot carry (a redirect to a raw non-ASCII path, a
        # cookie a server set in Latin-1): this request cannot be sent, so it fails.
        return Exchange(failure=unknown(type(exc).__name__))
    received = _Received()
    with map_failures() as caught:
        async with asyncio.timeout(deadline):
            writer.write(request)
            if body:
                writer.write(connection.send(h11.Data(data=body)))
            writer.write(connection.send(h11.EndOfMessage()))
            await writer.drain()
            await _read_response(reader, connection, received, max_body)
    return Exchange(
        status=received.status,
        headers=received.headers,
        body=received.body,
        truncated=received.truncated,
        failure=caught.failure,
    )


async def _read_response(
    reader: asyncio.StreamReader, connection: h11.Connection, result: _Received, max_body: int
) -> None:
    inflater: _Inflater | None = None
    chunks: list[bytes] = []
    size = 0
    while True:
        event = connection.next_event()
        if event is h11.NEED_DATA:
            data = await reader.read(_READ)
            connection.receive_data(data)  # b"" means the peer closed
            continue
        if isinstance(event, h11.InformationalResponse):
            continue
        if isinstance(event, h11.Response):
            result.status = event.status_code
            result.headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in event.headers]
            encoding = next(
                (v.lower() for k, v in result.headers if k.lower() == "content-encoding"), ""
            )
            inflater = _Inflater(encoding.strip())
            continue
        if isinstance(event, h11.Data):
            assert inflater is not None
            piece = inflater.feed(bytes(event.data), max_body - size + 1)
            chunks.append(piece)
            size += len(piece)
            if size > max_body:
                result.truncated = True
                break
            continue
        break  # EndOfMessage, or ConnectionClosed
    result.body = b"".join(chunks)[:max_body]


class Browsing:
    """What a browser carries from one request of a redirect chain to the next: cookies.

    A deliberately small jar (name=value per chain, no path or expiry rules): enough for the
    cookie-then-redirect dance sites do, which OONI's probe and helper both follow.
    """

    def __init__(self, base_headers: Sequence[tuple[str, str]]) -> None:
        self.base_headers = list(base_headers)
        self.cookies: dict[str, str] = {}

    def request(self, url: str) -> tuple[str, list[tuple[str, str]]]:
        """The request target and headers for a GET of `url`."""
        parts = urlsplit(url)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        headers = [("Host", parts.netloc.rsplit("@", 1)[-1]), *self.base_headers]
        if self.cookies:
            headers.append(("Cookie", "; ".join(f"{k}={v}" for k, v in self.cookies.items())))
        return target, headers

    def received(self, exchange: Exchange) -> str | None:
        """Keep the response's cookies; its `Location`, if any."""
        for name, value in exchange.headers:
            if name.lower() == "set-cookie" and "=" in value:
                key, _, rest = value.partition("=")
                self.cookies[key.strip()] = rest.split(";", 1)[0].strip()
        return next((v for k, v in exchange.headers if k.lower() == "location"), None)
