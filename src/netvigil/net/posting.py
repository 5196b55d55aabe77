"""POSTing a JSON body to a service we speak to: a test helper, a collector, a webhook.

The address check happens on the resolved addresses and the connection goes to one the check
allowed, so a name cannot pass the check with one address and connect to another (no DNS
rebinding). The HTTP exchange is :func:`netvigil.net.http.round_trip`, with its limits.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Callable
from urllib.parse import urlsplit

from netvigil.failures import Failure, unknown
from netvigil.net.backend import Backend
from netvigil.net.errors import map_failures
from netvigil.net.http import Exchange, round_trip


async def post_json(
    backend: Backend,
    url: str,
    body: bytes,
    *,
    deadline: float,
    ssl_context: ssl.SSLContext,
    max_body: int,
    headers: tuple[tuple[str, str], ...] = (),
    allow: Callable[[str], bool] = lambda address: True,
) -> Exchange:
    """POST a JSON body to a backend service (a test helper, a collector).

    Network errors become the exchange's failure; any other exception is a bug and raises.

    `allow` filters the resolved addresses, and the connection goes to one it allowed (so
    a name cannot resolve to an allowed address for the check and another for the connect:
    no DNS rebinding). None allowed is OONI's `dns_bogon_error`.
    """
    parts = urlsplit(url)
    try:
        host = (parts.hostname or "").encode("idna").decode("ascii")
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except (UnicodeError, ValueError) as exc:  # no usable host or port: nothing is sent
        return Exchange(failure=unknown(type(exc).__name__))
    writer: asyncio.StreamWriter | None = None
    with map_failures() as caught:
        async with asyncio.timeout(deadline):
            addresses = [a for a in await backend.resolve(host) if allow(a)]
            if not addresses:
                return Exchange(failure=Failure.DNS_BOGON)
            reader, writer = await backend.connect(addresses[0], port)
            if parts.scheme == "https":
                await writer.start_tls(ssl_context, server_hostname=host)
    if caught.failure is not None or writer is None:
        if writer is not None:
            writer.close()  # connected, but the handshake failed
        return Exchange(failure=caught.failure)
    try:
        return await round_trip(
            reader,
            writer,
            method="POST",
            target=(parts.path or "/") + (f"?{parts.query}" if parts.query else ""),
            headers=[
                ("Host", parts.netloc),
                ("Content-Type", "application/json"),
                ("Content-Length", str(len(body))),
                ("User-Agent", "netvigil"),
                *headers,
            ],
            body=body,
            deadline=deadline,
            max_body=max_body,
        )
    finally:
        writer.close()
