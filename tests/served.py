"""An app or coroutine run on loopback by an event loop in a background thread.

The tests of heartbeats and of the probe daemons talk to a real server over loopback TCP
(through `netvigil.serving`, as `netvigil serve` runs), while the test's own code stays
synchronous. `Background.run` hands a coroutine to the loop and waits for its result;
closing cancels everything the loop still runs, then stops it.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import threading
from collections.abc import Coroutine, Iterator
from typing import Any, TypeVar

from starlette.types import ASGIApp

from netvigil import serving
from netvigil.listening import listen

T = TypeVar("T")
GIVE_UP = 60.0  # seconds: only ends a hung step


class Background:
    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, work: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(work, self.loop).result(GIVE_UP)

    def start(self, work: Coroutine[Any, Any, Any]) -> concurrent.futures.Future[Any]:
        return asyncio.run_coroutine_threadsafe(work, self.loop)

    def close(self) -> None:
        async def cancel_all() -> None:
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        self.run(cancel_all())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(GIVE_UP)
        self.loop.close()


@contextlib.contextmanager
def background() -> Iterator[Background]:
    loop = Background()
    try:
        yield loop
    finally:
        loop.close()


@contextlib.contextmanager
def served(app: ASGIApp, port: int, host: str = "127.0.0.1") -> Iterator[Background]:
    """`app` listening on host:port (bound before this returns) until the block ends, run
    as `netvigil serve` runs it; then shut down as Ctrl-C does (the lifespan's work ends)."""
    sock = listen(host, port)
    server = serving._server(app, "on", serving.HEAD_TIMEOUT)
    with background() as loop:
        running = loop.start(server.serve(sockets=[sock]))
        try:
            yield loop
        finally:
            server.should_exit = True
            running.result(GIVE_UP)
