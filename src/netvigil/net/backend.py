"""The probe's one narrow waist to the network (aesthetics.md principle 3).

Everything the probe does on the network goes through a :class:`Backend`: resolve a name
the way the system does, open a TCP connection, exchange a UDP datagram with a resolver.
TLS and HTTP run on top of the returned asyncio streams. Tests and the lab replace the
world, not the probe: they point the backend's system resolver at a DNS server they run
(`StubResolverBackend`, the in-process stub resolver Go probes call
`golang_net_resolver`; recorded with engine ``"system"``), and run real servers on loopback.
"""

from __future__ import annotations

import asyncio
import socket
from typing import Protocol

import dns.exception
import dns.message
import dns.rcode
import dns.rdatatype

from netvigil.addresses import parse_ip
from netvigil.net.wire import open_tapped


class Backend(Protocol):
    system_engine: str

    async def resolve(self, hostname: str) -> list[str]:
        """Addresses of `hostname` from the system resolver; raises OSError on failure."""
        ...

    async def connect(
        self, ip: str, port: int
    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        """A TCP connection; raises OSError (or TimeoutError from the caller's deadline)."""
        ...

    async def exchange_udp(
        self, server: tuple[str, int], payload: bytes, timeout: float, linger: float
    ) -> list[tuple[float, bytes]]:
        """Send one datagram; every reply as (seconds since sending, bytes).

        Waits up to `timeout` for the first reply, then `linger` more for late ones.
        """
        ...


class _Datagrams(asyncio.DatagramProtocol):
    def __init__(self, started: float) -> None:
        self.started = started
        self.replies: list[tuple[float, bytes]] = []
        self.first = asyncio.Event()
        self.error: Exception | None = None

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.replies.append((asyncio.get_running_loop().time() - self.started, data))
        self.first.set()

    def error_received(self, exc: Exception) -> None:
        self.error = exc
        self.first.set()


class AsyncioBackend:
    """The real network: getaddrinfo, TCP and UDP sockets through asyncio."""

    system_engine = "getaddrinfo"

    def __init__(self, *, source: str | None = None, max_read: int = 1 << 16) -> None:
        # `source`: the local address to send from (the lab gives the probe its own).
        self.source = source
        self.max_read = max_read

    async def resolve(self, hostname: str) -> list[str]:
        infos = await asyncio.get_running_loop().getaddrinfo(
            hostname, None, type=socket.SOCK_STREAM
        )
        seen: dict[str, None] = {}
        for *_, sockaddr in infos:
            seen.setdefault(str(sockaddr[0]), None)
        return list(seen)

    async def connect(
        self, ip: str, port: int
    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        local = (self.source, 0) if self.source else None
        # asyncio.open_connection with a tap on the writer (a handshake's events: net/wire.py)
        return await open_tapped((ip, port), limit=self.max_read, local_addr=local)

    async def exchange_udp(
        self, server: tuple[str, int], payload: bytes, timeout: float, linger: float
    ) -> list[tuple[float, bytes]]:
        loop = asyncio.get_running_loop()
        protocol = _Datagrams(loop.time())
        # A new connected socket per query: some censors block the client's source port
        # (ooni/probe-cli netxlite dnsoverudp.go).
        transport, _ = await loop.create_datagram_endpoint(
            lambda: protocol,
            remote_addr=server,
            local_addr=(self.source, 0) if self.source else None,
        )
        try:
            transport.sendto(payload)
            try:
                await asyncio.wait_for(protocol.first.wait(), timeout)
            except TimeoutError:
                return []
            if protocol.error is not None and not protocol.replies:
                raise protocol.error
            await asyncio.sleep(linger)
            return list(protocol.replies)
        finally:
            transport.close()


class StubResolverBackend(AsyncioBackend):
    """Resolves "as the system would" through one nameserver, as an in-process stub.

    For the lab and tests, where the system's resolver configuration cannot point at the
    DNS server they run. A and AAAA are asked; either answer set counts; with no address,
    the rcodes become the `socket.gaierror` codes glibc's getaddrinfo returns: NXDOMAIN is
    EAI_NONAME; SERVFAIL and REFUSED are EAI_AGAIN (res_send gives up on the server and
    res_query reports TRY_AGAIN), which the probe records as `dns_temporary_failure`, as
    OONI's probe does; an empty NOERROR answer is EAI_NODATA. A question with no reply is
    asked again, `attempts` times in all within `timeout`, as glibc's stub does (resolv.conf(5)
    `attempts:2` by default): one lost datagram on a lossy path is not a failed lookup.
    """

    system_engine = "system"

    def __init__(
        self,
        nameserver: tuple[str, int],
        *,
        source: str | None = None,
        timeout: float = 4.0,
        attempts: int = 2,
    ) -> None:
        super().__init__(source=source)
        self.nameserver = nameserver
        self.timeout = timeout
        self.attempts = max(1, attempts)

    async def resolve(self, hostname: str) -> list[str]:
        if parse_ip(hostname.strip("[]")) is not None:
            return [hostname.strip("[]")]  # getaddrinfo returns an address literal as is
        addresses: list[str] = []
        nxdomain = server_failed = False
        for rdtype in ("A", "AAAA"):
            wire = dns.message.make_query(hostname, rdtype).to_wire()
            replies: list[tuple[float, bytes]] = []
            for _ in range(self.attempts):
                each = self.timeout / self.attempts
                replies = await self.exchange_udp(self.nameserver, wire, each, 0)
                if replies:
                    break
            if not replies:
                raise socket.gaierror(socket.EAI_AGAIN, "timed out")
            try:
                reply = dns.message.from_wire(replies[0][1])
            except dns.exception.DNSException:
                raise socket.gaierror(socket.EAI_FAIL, "malformed reply") from None
            nxdomain |= reply.rcode() == dns.rcode.NXDOMAIN
            server_failed |= reply.rcode() in (dns.rcode.SERVFAIL, dns.rcode.REFUSED)
            for rrset in reply.answer:
                if dns.rdatatype.to_text(rrset.rdtype) in ("A", "AAAA"):
                    addresses += [rdata.address for rdata in rrset]
        if addresses:
            return addresses
        if nxdomain:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        if server_failed:
            raise socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")
        raise socket.gaierror(socket.EAI_NODATA, "No address associated with hostname")
