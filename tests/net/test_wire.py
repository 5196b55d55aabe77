"""A TLS handshake's network events (net/wire.py's tap under asyncio's SSL protocol): the
hello's write, the reads, and the read that met a RST or an EOF, as OONI records them."""

from __future__ import annotations

import asyncio
import datetime as dt
import socket
import struct
from pathlib import Path

from netvigil.lab.ca import TestCA
from netvigil.lab.webserver import server_tls_context
from netvigil.net.backend import AsyncioBackend
from netvigil.net.connect import connect_tcp, tls_context, tls_handshake
from netvigil.net.fake import FakeNetwork, Handler, tls
from netvigil.net.wire import tap_of
from netvigil.records import NetworkEvent, TLSHandshake

SITE = ("192.0.2.1", 443)


async def _read_hello(reader: asyncio.StreamReader) -> bytes:
    header = await reader.readexactly(5)
    return header + await reader.readexactly(int.from_bytes(header[3:5], "big"))


def _operations(events: list[NetworkEvent]) -> list[tuple[str, str | None]]:
    return [(e.operation, e.failure) for e in events]


async def _handshake(
    network: FakeNetwork | AsyncioBackend,
    where: tuple[str, int],
    context_file: str | None,
    events: list[NetworkEvent],
) -> TLSHandshake:
    """connect_tcp then tls_handshake with `events` as the listener; the handshake's record."""
    connection, _ = await connect_tcp(network, *where, timeout=5)
    assert connection is not None
    context = tls_context(context_file)
    secured, record = await tls_handshake(
        connection, "www.example.com", context, timeout=5, on_event=events.append
    )
    if secured is not None:
        secured.writer.write(b"GET / HTTP/1.1\r\n\r\n")  # after the handshake: no event
        await secured.writer.drain()
        secured.close()
    return record


def test_a_reset_after_the_hello_is_its_write_then_a_read_reset() -> None:
    heard: list[bytes] = []

    async def reset_after_hello(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        heard.append(await _read_hello(reader))
        sock = writer.get_extra_info("socket")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        writer.close()  # SO_LINGER 0: a RST, as a censor's REJECT tcp-reset

    async def go() -> tuple[TLSHandshake, list[NetworkEvent]]:
        server = await asyncio.start_server(reset_after_hello, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        events: list[NetworkEvent] = []
        async with server:
            record = await _handshake(AsyncioBackend(), ("127.0.0.1", port), None, events)
        return record, events

    record, events = asyncio.run(go())
    assert record.failure == "connection_reset"
    assert _operations(events) == [
        ("tls_handshake_start", None),
        ("write", None),
        ("read", "connection_reset"),
        ("tls_handshake_done", "connection_reset"),
    ]
    assert events[1].num_bytes == len(heard[0])  # the whole hello, in one write
    assert {e.address for e in events} == {record.address}
    assert all(e.proto == "tcp" and e.t0 is not None for e in events)


def test_a_server_that_closes_after_the_hello_is_a_read_at_eof() -> None:
    async def close_after_hello(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_hello(reader)
        writer.close()

    events: list[NetworkEvent] = []
    network = FakeNetwork(endpoints={SITE: close_after_hello})
    record = asyncio.run(_handshake(network, SITE, None, events))
    # asyncio's SSL protocol reports an EOF inside the handshake as ConnectionResetError
    # (sslproto.py eof_received), so the handshake says reset; the read says what came: a FIN.
    assert record.failure == "connection_reset"
    assert _operations(events)[-2:] == [
        ("read", "eof_error"),
        ("tls_handshake_done", "connection_reset"),
    ]


def test_a_handshake_that_works_is_writes_and_reads_then_done(tmp_path: Path) -> None:
    (tmp_path / "ca").mkdir()
    ca = TestCA(tmp_path / "ca", now=dt.datetime.now(dt.UTC))
    leaf = ca.issue("www.example.com")

    async def wait_for_eof(reader: asyncio.StreamReader, _writer: asyncio.StreamWriter) -> None:
        await reader.read()

    serving: Handler = tls(
        server_tls_context(str(leaf.cert_file), str(leaf.key_file)), wait_for_eof
    )
    events: list[NetworkEvent] = []
    network = FakeNetwork(endpoints={SITE: serving})
    record = asyncio.run(_handshake(network, SITE, str(ca.cert_file), events))
    assert record.failure is None
    operations = _operations(events)
    assert operations[0] == ("tls_handshake_start", None)
    assert operations[-1] == ("tls_handshake_done", None)
    middle = {operation for operation, failure in operations[1:-1] if failure is None}
    assert middle == {"write", "read"} and len(operations) == len(events)
    # The GET written after the handshake is not a handshake event: the tap stopped listening.
    assert sum(e.num_bytes or 0 for e in events if e.operation == "write") < 2000
    assert all(e.num_bytes for e in events if e.operation in ("write", "read"))


def test_without_a_listener_nothing_is_recorded_and_the_tap_is_quiet() -> None:
    async def go() -> tuple[str | None, bool]:
        async def close_after_hello(
            reader: asyncio.StreamReader, writer: asyncio.StreamWriter
        ) -> None:
            await _read_hello(reader)
            writer.close()

        network = FakeNetwork(endpoints={SITE: close_after_hello})
        connection, _ = await connect_tcp(network, *SITE, timeout=5)
        assert connection is not None
        tap = tap_of(connection.writer)
        assert tap is not None
        _, record = await tls_handshake(connection, "x.example", tls_context(None), timeout=5)
        return record.failure, tap.listener is None

    assert asyncio.run(go()) == ("connection_reset", True)
