"""The lab DNS server on loopback, in a thread: the system resolver of a `probe run` test.

A run that knows the probe's address asks its resolver's identity (probe/whoami.py) by
name; through the real system resolver that query would leave loopback. These tests pass
`--system-resolver 127.0.0.1:PORT` (the in-process stub resolver of net/backend.py) with
this server behind it. It runs on its own event loop, as `probe run` runs its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Iterator, Mapping

from netvigil.lab.dnsserver import Answer, DNSServer, serve_dns


@contextlib.contextmanager
def running_dns(zone: Mapping[str, Answer]) -> Iterator[DNSServer]:
    """A server answering `zone` (NXDOMAIN otherwise); its `queries` lists every name asked."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    server = asyncio.run_coroutine_threadsafe(serve_dns(zone), loop).result(10)
    try:
        yield server
    finally:
        assert server.transport is not None
        loop.call_soon_threadsafe(server.transport.close)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


def system_resolver(server: DNSServer) -> tuple[str, str]:
    """The (hidden, lab) option pointing a run's system resolver at `server`."""
    return ("--system-resolver", f"127.0.0.1:{server.port}")
