"""How our servers run (netvigil.serving), tried on the test helper's app over loopback.

Both `netvigil serve` and `netvigil th serve` go through `serve`, so one client that never
finishes its request head (slowloris) is cut off on either, while others are answered.
The head deadline is a parameter; the test shortens it and counts what happened.
"""

from __future__ import annotations

import asyncio
import contextlib

from netvigil.listening import listen
from netvigil.net.fake import FakeNetwork
from netvigil.serving import serve_here
from netvigil.testhelper.app import create_app
from netvigil.testhelper.measure import HelperSettings


async def _slow_head(port: int) -> bytes:
    """A request head that never ends: a header byte every 50 ms, until the server closes."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"GET / HTTP/1.1\r\nHost: th\r\nX-Slow: ")
    try:
        for _ in range(200):  # 10 s at most: the server's deadline in this test is 0.3 s
            writer.write(b"a")
            await writer.drain()
            with contextlib.suppress(TimeoutError):
                return await asyncio.wait_for(reader.read(100), timeout=0.05)
        return b"still open"
    except ConnectionResetError:
        return b""
    finally:
        writer.close()


async def _hello(port: int) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"GET / HTTP/1.1\r\nHost: th\r\nConnection: close\r\n\r\n")
    answer = await reader.read()
    writer.close()
    return answer


def test_a_request_head_that_never_ends_is_cut_off_and_others_are_answered() -> None:
    app = create_app(FakeNetwork(), HelperSettings())
    sock = listen("127.0.0.1", 0)
    port = sock.getsockname()[1]

    async def scenario() -> tuple[list[bytes], bytes]:
        server = asyncio.create_task(serve_here(app, sock, lifespan="off", head_timeout=0.3))
        try:
            slow = [asyncio.create_task(_slow_head(port)) for _ in range(3)]
            hello = await _hello(port)
            return list(await asyncio.gather(*slow)), hello
        finally:
            server.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await server

    slow, hello = asyncio.run(scenario())
    assert slow == [b"", b"", b""]  # closed without an answer, before the loop gave up
    head, _, body = hello.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 ")
    assert b'"Hello OONItarian!"' in body
    assert b"\r\nserver:" not in head.lower()  # no Server header
