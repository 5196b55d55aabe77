"""The stub resolver answers as the system's getaddrinfo would, against a real DNS server on
loopback (lab/dnsserver.py): the rcode of a failed lookup picks glibc's EAI_* code."""

from __future__ import annotations

import asyncio
import socket

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
            return int(raised.value.errno)
        finally:
            assert server.transport is not None
            server.transport.close()

    assert asyncio.run(code()) == socket.EAI_AGAIN
