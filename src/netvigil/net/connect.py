"""Endpoints: a TCP connect and, for HTTPS, a TLS handshake, each recorded as it happens.

One endpoint is one `transaction_id` (ts-017 v0.5): its df-005 TCP record, its df-006 TLS
record and, when the page is fetched over it, its df-001 HTTP record share the id. The
certificate is validated against the system store or a CA bundle the user gives
(`--ca-file`), with SNI set to the URL's host; ALPN offers only HTTP/1.1, the protocol we
speak. A connect or handshake that outlives its deadline ends as `generic_timeout_error`.
"""

from __future__ import annotations

import asyncio
import functools
import ssl
from dataclasses import dataclass

from netvigil.addresses import join_host_port
from netvigil.failures import failure_of
from netvigil.net.backend import Backend
from netvigil.net.trace import Trace, tags
from netvigil.records import BinaryData, TCPConnect, TCPStatus, TLSHandshake


@functools.cache
def tls_context(ca_file: str | None) -> ssl.SSLContext:
    """One client context per CA bundle: loading a trust store costs milliseconds, and an
    SSLContext is meant to be shared by many connections."""
    context = ssl.create_default_context(cafile=ca_file)
    context.set_alpn_protocols(["http/1.1"])
    return context


@dataclass
class Endpoint:
    """An open connection ready for HTTP, or the failure that ended it."""

    ip: str
    port: int
    transaction_id: int
    depth: int
    fetch_body: bool
    reader: asyncio.StreamReader | None = None
    writer: asyncio.StreamWriter | None = None
    failure: str | None = None
    tls: bool = False

    @property
    def address(self) -> str:
        return join_host_port(self.ip, self.port)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None


async def open_endpoint(
    backend: Backend,
    trace: Trace,
    ip: str,
    port: int,
    *,
    depth: int,
    fetch_body: bool,
    classic: bool,
    server_name: str | None,
    context: ssl.SSLContext,
    connect_timeout: float,
    tls_timeout: float,
) -> Endpoint:
    """Connect (and handshake when `server_name` is given); never raises."""
    endpoint = Endpoint(ip, port, trace.endpoint_transaction(), depth, fetch_body)
    step_tags = tags(depth=depth, classic=classic, fetch_body=fetch_body)
    t0 = trace.now()
    try:
        async with asyncio.timeout(connect_timeout):
            endpoint.reader, endpoint.writer = await backend.connect(ip, port)
    except Exception as exc:
        endpoint.failure = failure_of(exc)
    trace.tcp_connect.append(
        TCPConnect(
            ip=ip,
            port=port,
            status=TCPStatus(success=endpoint.failure is None, failure=endpoint.failure),
            t0=t0,
            t=trace.now(),
            tags=step_tags,
            transaction_id=endpoint.transaction_id,
        )
    )
    if endpoint.failure is None and server_name is not None:
        await _handshake(endpoint, trace, server_name, context, tls_timeout, step_tags)
    return endpoint


async def _handshake(
    endpoint: Endpoint,
    trace: Trace,
    server_name: str,
    context: ssl.SSLContext,
    timeout: float,
    step_tags: list[str],
) -> None:
    assert endpoint.writer is not None
    endpoint.tls = True
    t0 = trace.now()
    certificates: list[BinaryData] | None = None
    cipher = version = alpn = None
    try:
        async with asyncio.timeout(timeout):
            await endpoint.writer.start_tls(context, server_hostname=server_name)
        tls = endpoint.writer.get_extra_info("ssl_object")
        if tls is not None:
            cipher, version, alpn = tls.cipher()[0], tls.version(), tls.selected_alpn_protocol()
            leaf = tls.getpeercert(binary_form=True)
            certificates = [BinaryData.of(leaf)] if leaf else None
    except Exception as exc:
        endpoint.failure = failure_of(exc)
        endpoint.close()
    trace.tls_handshakes.append(
        TLSHandshake(
            network="tcp",
            address=endpoint.address,
            server_name=server_name,
            cipher_suite=cipher,
            tls_version=version,
            negotiated_protocol=alpn or "",
            no_tls_verify=False,
            peer_certificates=certificates,
            failure=endpoint.failure,
            t0=t0,
            t=trace.now(),
            tags=step_tags,
            transaction_id=endpoint.transaction_id,
        )
    )
