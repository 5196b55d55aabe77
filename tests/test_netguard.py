"""The guard of tests/netguard.py refuses what would leave loopback, before any packet."""

from __future__ import annotations

import asyncio
import socket

import pytest

from tests.netguard import NetworkEscape


def test_a_connect_past_loopback_is_refused_before_it_is_sent() -> None:
    # 192.0.2.1 is TEST-NET-1 (RFC 5737): even so, nothing is sent, the guard raises first.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock, pytest.raises(NetworkEscape):
        sock.connect(("192.0.2.1", 9))


def test_udp_and_lookups_past_loopback_are_refused() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        with pytest.raises(NetworkEscape):
            sock.sendto(b"x", ("192.0.2.1", 53))
        with pytest.raises(NetworkEscape):
            sock.sendto(b"x", ("::ffff:192.0.2.1", 53))
    with pytest.raises(NetworkEscape):
        socket.getaddrinfo("example.org", 80)


def test_asyncio_connections_are_guarded_too() -> None:
    async def reach() -> None:
        await asyncio.open_connection("192.0.2.1", 9)

    with pytest.raises(NetworkEscape):
        asyncio.run(reach())


def test_loopback_passes() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as server:
        server.bind(("127.0.0.1", 0))
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as client:
            client.sendto(b"ping", server.getsockname())
        assert server.recv(4) == b"ping"
    assert socket.getaddrinfo("localhost", 80)
    assert socket.getaddrinfo("127.0.0.1", 80, type=socket.SOCK_STREAM)
