"""The fake network behaves as the real one where a probe can tell, and counts what it saw."""

from __future__ import annotations

import asyncio
import socket

import pytest

from netvigil.net.backend import Backend
from netvigil.net.fake import BLACKHOLE, FakeNetwork, reply


def test_it_is_a_backend() -> None:
    backend: Backend = FakeNetwork(system_engine="system")
    assert backend.system_engine == "system"


def test_names() -> None:
    network = FakeNetwork(names={"www.example.com": ["192.0.2.1"]})
    assert asyncio.run(network.resolve("www.example.com")) == ["192.0.2.1"]
    assert asyncio.run(network.resolve("[2001:db8::1]")) == ["2001:db8::1"]  # a literal
    with pytest.raises(socket.gaierror) as unknown:
        asyncio.run(network.resolve("nowhere.example.com"))
    assert unknown.value.errno == socket.EAI_NONAME
    assert network.resolved == ["www.example.com", "[2001:db8::1]", "nowhere.example.com"]


def test_an_unscripted_endpoint_refuses_and_a_black_hole_never_answers() -> None:
    network = FakeNetwork(endpoints={("192.0.2.2", 80): BLACKHOLE})
    with pytest.raises(ConnectionRefusedError):
        asyncio.run(network.connect("192.0.2.1", 80))

    async def wait() -> None:
        async with asyncio.timeout(0.05):
            await network.connect("192.0.2.2", 80)

    with pytest.raises(TimeoutError):
        asyncio.run(wait())
    assert network.connected == [("192.0.2.1", 80), ("192.0.2.2", 80)]


def test_each_connection_is_a_stream_pair_served_by_its_handler() -> None:
    async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write((await reader.readline()).upper())

    async def go() -> list[bytes]:
        network = FakeNetwork(endpoints={("192.0.2.1", 7): echo})
        answers = []
        for word in (b"one\n", b"two\n"):
            reader, writer = await network.connect("192.0.2.1", 7)
            writer.write(word)
            answers.append(await reader.read())  # the handler's end closes: EOF
            writer.close()
        await network.join()
        return answers

    assert asyncio.run(go()) == [b"ONE\n", b"TWO\n"]


def test_a_server_that_writes_and_closes() -> None:
    async def go() -> bytes:
        network = FakeNetwork(endpoints={("192.0.2.1", 80): reply(b"bye")})
        reader, writer = await network.connect("192.0.2.1", 80)
        writer.write(b"GET / HTTP/1.1\r\n\r\n")
        data = await reader.read()
        writer.close()
        return data

    assert asyncio.run(go()) == b"bye"


def test_udp_keeps_what_a_real_exchange_would() -> None:
    def replies(payload: bytes) -> list[tuple[float, bytes]]:
        return [(0.3, b"second"), (0.1, b"first"), (0.7, b"after the linger")]

    network = FakeNetwork(udp={("192.0.2.53", 53): replies})
    kept = asyncio.run(network.exchange_udp(("192.0.2.53", 53), b"q", 1.0, 0.5))
    assert kept == [(0.1, b"first"), (0.3, b"second")]
    assert asyncio.run(network.exchange_udp(("192.0.2.53", 53), b"q", 0.05, 0.5)) == []
    assert asyncio.run(network.exchange_udp(("192.0.2.54", 53), b"q", 1.0, 0.5)) == []
    assert [server for server, _ in network.sent] == [("192.0.2.53", 53)] * 2 + [("192.0.2.54", 53)]
