"""A real ClientHello, made by Python's ssl module without any network (memory BIOs)."""

from __future__ import annotations

import contextlib
import ssl


def client_hello(sni: str | None) -> bytes:
    """The first flight a TLS client sends for `sni` (None: no server_name extension)."""
    context = ssl.create_default_context()
    if sni is None:
        context.check_hostname = False
    outgoing = ssl.MemoryBIO()
    connection = context.wrap_bio(ssl.MemoryBIO(), outgoing, server_hostname=sni)
    with contextlib.suppress(ssl.SSLWantReadError):  # it waits for a ServerHello
        connection.do_handshake()
    return outgoing.read()
