"""Endpoints: a TCP connect and, for HTTPS, a TLS handshake, each returning its record.

Each step returns the df-005 (TCP) or df-006 (TLS) record of what it saw, timed by the
caller's clock, and the connection when it worked; the caller records it, adding the
`transaction_id` and tags it keeps (the probe's :class:`netvigil.probe.recording.Trace`),
or only reads the failure (the test helper). The certificate is validated against the
system store or a CA bundle the user gives (`--ca-file`), with SNI set to the URL's host;
ALPN offers only HTTP/1.1, the protocol we speak. A connect or handshake that outlives its
deadline ends as `generic_timeout_error`.
"""

from __future__ import annotations

import asyncio
import functools
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

from netvigil.addresses import join_host_port
from netvigil.net.backend import Backend
from netvigil.net.errors import map_failures
from netvigil.net.tls_chain import ChainKeepingSSLObject, peer_chain, refused_chain
from netvigil.net.wire import tap_of
from netvigil.records import BinaryData, NetworkEvent, TCPConnect, TCPStatus, TLSHandshake

Clock = Callable[[], float]


@functools.cache
def tls_context(ca_file: str | None) -> ssl.SSLContext:
    """One client context per CA bundle: loading a trust store costs milliseconds, and an
    SSLContext is meant to be shared by many connections."""
    context = ssl.create_default_context(cafile=ca_file)
    context.set_alpn_protocols(["http/1.1"])
    context.sslobject_class = ChainKeepingSSLObject  # a refused chain is kept (tls_chain.py)
    return context


@dataclass(frozen=True)
class Connection:
    """An open connection, ready for HTTP; `tls` once a handshake has run on it."""

    ip: str
    port: int
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    tls: bool = False

    @property
    def address(self) -> str:
        return join_host_port(self.ip, self.port)

    def close(self) -> None:
        self.writer.close()  # idempotent: closing twice is harmless


async def connect_tcp(
    backend: Backend, ip: str, port: int, *, timeout: float, clock: Clock = time.monotonic
) -> tuple[Connection | None, TCPConnect]:
    """The connection (None when it failed) and its df-005 record, without tags or id."""
    t0 = clock()
    with map_failures() as caught:
        async with asyncio.timeout(timeout):
            reader, writer = await backend.connect(ip, port)
    record = TCPConnect(
        ip=ip,
        port=port,
        status=TCPStatus(success=caught.failure is None, failure=caught.failure),
        t0=t0,
        t=clock(),
    )
    if caught.failure is not None:
        return None, record
    return Connection(ip, port, reader, writer), record


async def tls_handshake(
    connection: Connection,
    server_name: str,
    context: ssl.SSLContext,
    *,
    timeout: float,
    clock: Clock = time.monotonic,
    on_event: Callable[[NetworkEvent], None] | None = None,
) -> tuple[Connection | None, TLSHandshake]:
    """TLS over `connection`: the secured connection (None, and closed, when the handshake
    failed) and its df-006 record, without tags or id. With `on_event`, the handshake's
    df-008 events as they happen: `tls_handshake_start`, each `write` and `read` of its
    records (net/wire.py; none over a writer without a tap), `tls_handshake_done`."""
    t0 = clock()
    address = connection.address

    def event(operation: str, num_bytes: int | None = None, failure: str | None = None) -> None:
        if on_event is not None:
            at = clock()
            # An event is an instant here (df-008 has t0 for a read's start: we see its end).
            on_event(
                NetworkEvent(
                    operation=operation,
                    address=address,
                    proto="tcp",
                    num_bytes=num_bytes,
                    failure=failure,
                    t0=at,
                    t=at,
                )
            )

    tap = tap_of(connection.writer) if on_event is not None else None
    certificates: list[BinaryData] | None = None
    cipher = version = alpn = None
    event("tls_handshake_start")
    with map_failures() as caught:
        try:
            if tap is not None:
                tap.listen(event)
            async with asyncio.timeout(timeout):
                await connection.writer.start_tls(context, server_hostname=server_name)
        except ssl.SSLCertVerificationError as refused:
            # df-006 keeps the chain the server sent even when it was refused (tls_chain.py).
            certificates = [BinaryData.of(der) for der in refused_chain(refused)] or None
            raise
        finally:
            if tap is not None:
                tap.listen(None)  # the handshake's events only, not the page's
        tls = connection.writer.get_extra_info("ssl_object")
        if tls is not None:
            cipher, version, alpn = tls.cipher()[0], tls.version(), tls.selected_alpn_protocol()
            certificates = [BinaryData.of(der) for der in peer_chain(tls)] or None
    if caught.failure is not None:
        connection.close()
    event("tls_handshake_done", failure=caught.failure)
    record = TLSHandshake(
        network="tcp",
        address=address,
        server_name=server_name,
        cipher_suite=cipher,
        tls_version=version,
        negotiated_protocol=alpn or "",
        no_tls_verify=False,
        peer_certificates=certificates,
        failure=caught.failure,
        t0=t0,
        t=clock(),
    )
    return (None if caught.failure is not None else replace(connection, tls=True)), record
