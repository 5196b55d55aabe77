"""The server name of a TLS ClientHello, read by a small bounded parser (the censor's DPI).

An SNI filter sees only the first flight: a handshake record (RFC 8446 §5.1) holding the
ClientHello (§4.1.2) whose server_name extension (RFC 6066 §3) names the site. Nothing in
pyproject.toml parses a ClientHello without terminating TLS, so this reads the fields itself.
Every length is checked against what remains, and the records read are capped at `limit`
bytes: a truncated, oversized or malformed hello raises :class:`MalformedHello`, which the
interceptor answers by closing the connection.
"""

from __future__ import annotations

import asyncio

__all__ = ["MalformedHello", "read_hello", "server_name"]

_HANDSHAKE = 22  # ContentType.handshake
_CLIENT_HELLO = 1  # HandshakeType.client_hello
_SERVER_NAME = 0  # ExtensionType.server_name
_HOST_NAME = 0  # NameType.host_name
_MAX_RECORD = 16384 + 256  # TLSPlaintext.length may not exceed 2^14 (§5.1), with slack


class MalformedHello(ValueError):
    """The bytes are not a ClientHello this parser can read."""


class _Cursor:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.at = 0

    def take(self, n: int) -> bytes:
        if self.at + n > len(self.data):
            raise MalformedHello("a length runs past the end of the ClientHello")
        chunk = self.data[self.at : self.at + n]
        self.at += n
        return chunk

    def number(self, width: int) -> int:
        return int.from_bytes(self.take(width), "big")

    def vector(self, width: int) -> _Cursor:
        return _Cursor(self.take(self.number(width)))

    def done(self) -> bool:
        return self.at == len(self.data)


async def read_hello(reader: asyncio.StreamReader, limit: int) -> tuple[bytes, str | None]:
    """Read handshake records until the ClientHello is whole; return the raw bytes (to pass on
    untouched) and its server name. A hello may span records (§5.1), so records are joined,
    never more than `limit` bytes in all."""
    raw = bytearray()
    message = bytearray()
    while len(message) < 4 or len(message) < 4 + int.from_bytes(message[1:4], "big"):
        try:
            header = await reader.readexactly(5)
        except asyncio.IncompleteReadError as cut:
            raise MalformedHello("the connection ended inside the ClientHello") from cut
        length = int.from_bytes(header[3:5], "big")
        if header[0] != _HANDSHAKE or header[1] != 3 or not 0 < length <= _MAX_RECORD:
            raise MalformedHello("not a TLS handshake record")
        if len(raw) + 5 + length > limit:
            raise MalformedHello(f"a ClientHello over {limit} bytes")
        try:
            fragment = await reader.readexactly(length)
        except asyncio.IncompleteReadError as cut:
            raise MalformedHello("the connection ended inside the ClientHello") from cut
        raw += header + fragment
        message += fragment
    return bytes(raw), server_name(bytes(message))


def server_name(message: bytes) -> str | None:
    """The host_name of a ClientHello handshake message (its 4-byte header included), lower
    case; None when it has no server_name extension."""
    hello = _Cursor(message)
    if hello.number(1) != _CLIENT_HELLO:
        raise MalformedHello("the first handshake message is not a ClientHello")
    body = hello.vector(3)
    body.take(2 + 32)  # legacy_version, random
    body.vector(1)  # legacy_session_id
    body.vector(2)  # cipher_suites
    body.vector(1)  # legacy_compression_methods
    if body.done():
        return None  # no extensions at all (an old client)
    extensions = body.vector(2)
    while not extensions.done():
        kind = extensions.number(2)
        data = extensions.vector(2)
        if kind != _SERVER_NAME:
            continue
        names = data.vector(2)
        while not names.done():
            name_type = names.number(1)
            name = names.take(names.number(2))
            if name_type == _HOST_NAME:
                try:
                    return name.decode("ascii").lower()
                except UnicodeDecodeError as bad:
                    raise MalformedHello("a server name that is not ASCII") from bad
        return None
    return None
