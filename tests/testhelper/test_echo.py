"""The echo helpers answer as OONI's do, and stay fair: bounded connections, limited slots."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import signal
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Callable, Coroutine
from pathlib import Path
from typing import Any

import pytest

from netvigil.listening import listen
from netvigil.testhelper.echo import (
    EchoLimits,
    Slots,
    parse_head,
    serve_json_headers,
    serve_tcp_echo,
)
from tests.observatory.running import read_until
from tests.probe.world import free_port
from tests.served import served

Serve = Callable[..., Coroutine[Any, Any, None]]
DEADLINE = 10.0  # every wait in these tests ends by then (events are counted, not timed)


@contextlib.asynccontextmanager
async def running(serve: Serve, limits: EchoLimits) -> AsyncIterator[int]:
    sock = listen("127.0.0.1", 0)
    port = sock.getsockname()[1]
    task = asyncio.create_task(serve(sock, limits))
    try:
        yield port
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def exchange(port: int, data: bytes, *, eof: bool = True) -> bytes:
    """Send `data` (then end our side, unless not `eof`), and read until the helper closes."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(data)
        if eof:
            writer.write_eof()
        await writer.drain()
        async with asyncio.timeout(DEADLINE):
            return await reader.read(-1)
    finally:
        writer.close()


def test_the_json_echo_keeps_names_as_spelled_and_in_order() -> None:
    head = (
        b"GeT / HTTP/1.1\r\nhOsT: abcdefghijklmno.com\r\nAcCePt: text/html\r\nacCEpt:  */* \r\n\r\n"
    )

    async def go() -> bytes:
        async with running(serve_json_headers, EchoLimits()) as port:
            return await exchange(port, head)

    answer = asyncio.run(go())
    status, _, body = answer.partition(b"\r\n\r\n")
    assert status == b"HTTP/1.1 200 OK"
    # By hand from the head above: oonib's shape (http_helpers.py allHeadersReceived).
    assert json.loads(body) == {
        "request_headers": [
            ["hOsT", "abcdefghijklmno.com"],
            ["AcCePt", "text/html"],
            ["acCEpt", "*/*"],
        ],
        "request_line": "GeT / HTTP/1.1",
        "headers_dict": {
            "hOsT": ["abcdefghijklmno.com"],
            "AcCePt": ["text/html"],
            "acCEpt": ["*/*"],
        },
    }


def test_folded_lines_join_lines_without_a_colon_are_skipped_and_a_bare_lf_ends_a_line() -> None:
    head = b"GET /x HTTP/1.0\nX-Long: one\n\ttwo\nnot a header\nVia: 1.1 proxy\r\nb\xe9: \xff"
    assert parse_head(head) == {
        "request_headers": [["X-Long", "one\n\ttwo"], ["Via", "1.1 proxy"], ["b\u00e9", "\u00ff"]],
        "request_line": "GET /x HTTP/1.0",
        "headers_dict": {"X-Long": ["one\n\ttwo"], "Via": ["1.1 proxy"], "b\u00e9": ["\u00ff"]},
    }


def test_a_head_that_never_ends_gets_no_answer() -> None:
    async def go() -> tuple[bytes, bytes, bytes]:
        limits = EchoLimits(max_bytes=64, idle=0.2)
        async with running(serve_json_headers, limits) as port:
            head = b"GET / HTTP/1.1\r\n" + b"X: y\r\n" * 20
            oversized = await exchange(port, head, eof=False)
            silent = await exchange(port, b"GET / HTTP/1.1\r\nHost: a\r\n", eof=False)
            ended = await exchange(port, b"GET / HTTP/1.1\r\nHost: a\r\n")
        return oversized, silent, ended

    assert asyncio.run(go()) == (b"", b"", b"")


def test_the_tcp_echo_sends_back_every_byte_even_not_utf8() -> None:
    line = b"GET cache_object://localhost/ HTTP/1.0\n\r\xff\x00"

    async def go() -> bytes:
        async with running(serve_tcp_echo, EchoLimits(idle=0.2)) as port:
            return await exchange(port, line)

    assert asyncio.run(go()) == line


def test_the_tcp_echo_stops_at_its_byte_bound() -> None:
    async def go() -> bytes:
        async with running(serve_tcp_echo, EchoLimits(max_bytes=100, idle=0.2)) as port:
            return await exchange(port, b"A" * 1000)

    assert asyncio.run(go()) == b"A" * 100


def test_one_peer_cannot_take_every_slot() -> None:
    async def refused_or_echoed(port: int, data: bytes) -> bytes:
        try:
            return await exchange(port, data)
        except (ConnectionResetError, BrokenPipeError):
            return b""  # the reset: nothing echoed

    async def go() -> tuple[bytes, bytes, bytes]:
        limits = EchoLimits(idle=5.0, per_peer=1)
        async with running(serve_tcp_echo, limits) as port:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(b"first")
            async with asyncio.timeout(DEADLINE):
                first = await reader.readexactly(5)  # the slot is held from here on
            refused = await refused_or_echoed(port, b"second")
            writer.write_eof()
            async with asyncio.timeout(DEADLINE):
                await reader.read(-1)  # the helper frees the slot before it closes
            writer.close()
            again = await refused_or_echoed(port, b"third")
        return first, refused, again

    assert asyncio.run(go()) == (b"first", b"", b"third")


def test_slots_count_open_connections_only() -> None:
    slots = Slots(EchoLimits(slots=2, per_peer=2))
    assert [slots.take("a"), slots.take("a"), slots.take("a")] == [True, True, False]
    slots.give("a")
    assert [slots.take("b"), slots.take("b")] == [True, False]  # the total is 2
    slots.give("a")
    slots.give("b")
    assert (slots.open, slots.total) == ({}, 0)  # nothing is kept of a peer that left


def _th_serve(*options: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "netvigil", "th", "serve", "--port", str(free_port()), *options],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def test_th_serve_runs_both_helpers_beside_the_web_connectivity_one() -> None:
    hhfm, echo = free_port(), free_port()
    helper = _th_serve("--hhfm-port", str(hhfm), "--echo-port", str(echo))
    try:
        assert helper.stderr is not None
        said = read_until(helper.stderr.fileno(), b"tcp-echo helper", 60).decode()
        assert f"netvigil http-return-json-headers helper on 127.0.0.1:{hhfm}\n" in said
        assert f"netvigil tcp-echo helper on 127.0.0.1:{echo}" in said

        async def go() -> tuple[bytes, bytes]:
            return (
                await exchange(echo, b"GET / HTTP/D9S"),
                await exchange(hhfm, b"gEt / HTTP/1.1\r\nhOsT: a.com\r\n\r\n"),
            )

        echoed, answered = asyncio.run(go())
        assert echoed == b"GET / HTTP/D9S"
        assert json.loads(answered.partition(b"\r\n\r\n")[2])["request_headers"] == [
            ["hOsT", "a.com"]
        ]
    finally:
        helper.terminate()
        helper.communicate(timeout=10)
    assert helper.returncode == -signal.SIGTERM  # uvicorn ends, then re-raises the signal


def test_a_busy_echo_port_is_one_line_naming_its_option() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        helper = _th_serve("--echo-port", str(port))
        out, err = helper.communicate(timeout=60)
    assert helper.returncode == 1 and out == b""
    assert err.decode().splitlines() == [
        f"error: 127.0.0.1:{port} is already in use (another server?): stop it or choose "
        "another --echo-port"
    ]


def test_the_observatory_runs_the_echo_helpers_for_as_long_as_it_runs(tmp_path: Path) -> None:
    from netvigil.server import create_app

    sock = listen("127.0.0.1", 0)
    port = sock.getsockname()[1]
    app = create_app(tmp_path, echo_helpers=[functools.partial(serve_tcp_echo, sock)])
    with served(app, free_port()) as loop:
        assert loop.run(exchange(port, b"HXDP / HTTP/1.1\n\r")) == b"HXDP / HTTP/1.1\n\r"
    with pytest.raises(ConnectionRefusedError):  # its lifespan ended: so did the helper
        asyncio.run(exchange(port, b"after"))
