"""DNS over a stream — plain TCP (RFC 1035 §4.2.2) and TLS (RFC 7858) — over our connection.

Both frame a message with a two-byte length. The connection is the one
:mod:`netvigil.net.connect` opened through the probe's Backend (the narrow waist), and for
DoT the handshake ran there too, with ALPN "dot" (RFC 7858 §3.2 has no ALPN; RFC 9461
names "dot"), never "http/1.1": a DoT server that checks ALPN must not see an HTTP client.
dnspython's own `dns.query.tcp`/`tls` are not used because they open their own sockets.
"""

from __future__ import annotations

import asyncio
import functools
import ssl
import struct

from netvigil.net.errors import map_failures

MAX_MESSAGE = 65535  # the two-byte length's limit


@functools.cache
def dot_context(ca_file: str | None) -> ssl.SSLContext:
    """One client context per CA bundle, verifying the resolver's certificate and name."""
    context = ssl.create_default_context(cafile=ca_file)
    context.set_alpn_protocols(["dot"])
    return context


class Exchanged:
    """What one framed exchange did: the reply (None on failure) and the bytes moved."""

    __slots__ = ("failure", "read", "reply", "written")

    def __init__(self) -> None:
        self.reply: bytes | None = None
        self.failure: str | None = None
        self.written = 0
        self.read = 0


async def exchange_framed(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    query: bytes,
    *,
    timeout: float,
) -> Exchanged:
    """Send `query` length-prefixed and read one length-prefixed reply within `timeout`.

    A peer that closes before a whole reply is an EOF; one that stays silent, a timeout.
    """
    if len(query) > MAX_MESSAGE:
        raise ValueError("a DNS message over a stream is at most 65535 bytes")
    done = Exchanged()
    with map_failures() as caught:
        async with asyncio.timeout(timeout):
            writer.write(struct.pack("!H", len(query)) + query)
            await writer.drain()
            done.written = 2 + len(query)
            (size,) = struct.unpack("!H", await reader.readexactly(2))
            done.read = 2
            reply = await reader.readexactly(size)
            done.read += size
            done.reply = reply
    done.failure = caught.failure
    if done.failure is not None:
        done.reply = None
    return done
