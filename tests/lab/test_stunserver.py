"""The lab's STUN server on loopback: a Binding request gets a success response carrying
the sender's own address (XOR-MAPPED-ADDRESS), read with the probe's own parser; anything
else gets nothing and is counted."""

from __future__ import annotations

import asyncio
import socket
import struct

from netvigil.lab.stunserver import STUNServer, serve_stun
from netvigil.net import stun


def _mapped(reply: bytes) -> tuple[str, int]:
    """The XOR-MAPPED-ADDRESS of a success response (the only attribute the server sends)."""
    attribute, _size = struct.unpack_from("!HH", reply, stun.HEADER.size)
    assert attribute == stun.XOR_MAPPED_ADDRESS
    _, family, xport = struct.unpack_from("!BBH", reply, stun.HEADER.size + 4)
    assert family == 0x01
    cookie = struct.pack("!I", stun.MAGIC_COOKIE)
    raw = reply[stun.HEADER.size + 8 : stun.HEADER.size + 12]
    address = ".".join(str(a ^ b) for a, b in zip(raw, cookie, strict=True))
    return address, xport ^ (stun.MAGIC_COOKIE >> 16)


async def _exchange(server: STUNServer, datagrams: list[bytes]) -> tuple[bytes, tuple[str, int]]:
    """Send the datagrams in order from one socket; the first reply, and the socket's address."""
    loop = asyncio.get_running_loop()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.setblocking(False)
        for datagram in datagrams:
            await loop.sock_sendto(sock, datagram, ("127.0.0.1", server.port))
        async with asyncio.timeout(10):
            return await loop.sock_recv(sock, 2048), sock.getsockname()


def test_a_binding_request_gets_the_senders_address() -> None:
    async def scenario() -> None:
        server = await serve_stun("127.0.0.1", 0)
        try:
            tid = stun.new_transaction_id()
            reply, mine = await _exchange(server, [stun.binding_request(tid)])
            parsed = stun.parse_response(reply, tid)
            assert parsed.is_stun and parsed.success and parsed.has_mapped_address
            assert _mapped(reply) == mine
            assert (server.answered, server.ignored) == (1, 0)
        finally:
            server.close()

    asyncio.run(scenario())


def test_anything_else_gets_no_answer() -> None:
    async def scenario() -> None:
        server = await serve_stun("127.0.0.1", 0)
        try:
            tid = stun.new_transaction_id()
            other = stun.new_transaction_id()
            not_requests = [
                b"garbage",
                b"\x00" * 20,  # no magic cookie
                stun.binding_response(other, ("127.0.0.1", 1)),  # a response, not a request
            ]
            # Loopback UDP keeps the order: the first reply is the one to the real request
            # sent last, so the three before it got none.
            reply, _ = await _exchange(server, [*not_requests, stun.binding_request(tid)])
            assert stun.parse_response(reply, tid).success
            assert (server.answered, server.ignored) == (1, 3)
        finally:
            server.close()

    asyncio.run(scenario())
