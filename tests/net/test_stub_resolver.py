"""The stub resolver answers as the system's getaddrinfo would, against a real DNS server on
loopback (lab/dnsserver.py): the rcode of a failed lookup picks glibc's EAI_* code."""

from __future__ import annotations

import asyncio
import socket
from typing import cast

import pytest

from netvigil.lab.dnsserver import Answer, serve_dns
from netvigil.net.backend import StubResolverBackend
from netvigil.net.errors import map_failures

ZONE = {
    "site.test": Answer(addresses=("192.0.2.7",)),
    "servfail.test": Answer(rcode="SERVFAIL"),
    "refused.test": Answer(rcode="REFUSED"),
    "empty.test": Answer(),
}


async def _resolve(name: str) -> list[str] | str:
    server = await serve_dns(ZONE)
    try:
        backend = StubResolverBackend(("127.0.0.1", server.port), timeout=5)
        with map_failures() as caught:
            return await backend.resolve(name)
        return caught.failure or "no failure"
    finally:
        assert server.transport is not None
        server.transport.close()


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("site.test", ["192.0.2.7"]),
        ("nowhere.test", "dns_nxdomain_error"),  # EAI_NONAME
        # glibc gives up on a server answering SERVFAIL or REFUSED: TRY_AGAIN, EAI_AGAIN.
        ("servfail.test", "dns_temporary_failure"),
        ("refused.test", "dns_temporary_failure"),
        ("empty.test", "dns_no_answer"),  # NOERROR without records: EAI_NODATA
    ],
)
def test_a_failed_lookup_is_the_failure_getaddrinfo_gives(
    name: str, expected: list[str] | str
) -> None:
    assert asyncio.run(_resolve(name)) == expected


def test_the_codes_are_gaierrors() -> None:
    async def code() -> int:
        server = await serve_dns(ZONE)
        try:
            backend = StubResolverBackend(("127.0.0.1", server.port), timeout=5)
            with pytest.raises(socket.gaierror) as raised:
                await backend.resolve("servfail.test")
            return int(raised.value.errno or 0)
        finally:
            assert server.transport is not None
            server.transport.close()

    assert asyncio.run(code()) == socket.EAI_AGAIN


class _DropsFirst(asyncio.DatagramProtocol):
    """A resolver on a lossy path: the first datagram of each question is lost; the second
    gets the real server's answer (relayed to it), as a retry would."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self.seen: dict[bytes, int] = {}
        self.transport: asyncio.DatagramTransport | None = None
        self.relaying: set[asyncio.Task[None]] = set()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)  # a datagram endpoint's

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        question = data[2:]  # the same question again carries the same bytes after its id
        self.seen[question] = self.seen.get(question, 0) + 1
        if self.seen[question] == 1:
            return
        task = asyncio.ensure_future(self._relay(data, addr))
        self.relaying.add(task)
        task.add_done_callback(self.relaying.discard)

    async def _relay(self, data: bytes, addr: tuple[str, int]) -> None:
        loop = asyncio.get_running_loop()
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.setblocking(False)
            await loop.sock_sendto(sock, data, self.upstream)
            reply = await asyncio.wait_for(loop.sock_recv(sock, 4096), 5)
        assert self.transport is not None
        self.transport.sendto(reply, addr)


def test_a_question_lost_once_is_asked_again_and_answered() -> None:
    async def lossy() -> tuple[list[str], list[int]]:
        server = await serve_dns(ZONE)
        loop = asyncio.get_running_loop()
        transport, path = await loop.create_datagram_endpoint(
            lambda: _DropsFirst(("127.0.0.1", server.port)), local_addr=("127.0.0.1", 0)
        )
        try:
            port = transport.get_extra_info("sockname")[1]
            backend = StubResolverBackend(("127.0.0.1", port), timeout=4)
            return await backend.resolve("site.test"), sorted(path.seen.values())
        finally:
            transport.close()
            assert server.transport is not None
            server.transport.close()

    addresses, asked = asyncio.run(lossy())
    assert addresses == ["192.0.2.7"]
    assert asked == [2, 2]  # A and AAAA, each asked twice: once lost, once answered
