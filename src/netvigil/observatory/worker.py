"""A worker process on a pipe, as the pipeline and the detection each own one.

CPU work (analysis, detection) runs in a spawned process of its own, not a thread: a thread
would hold the GIL the collector needs (pipeline.py's bench: a quarter of the collector's
acknowledged submissions). It reads its requests from a pipe, so it ends with the server even
after a kill -9 (a process pool's workers hold both ends of their queue and would not). Both
owners wait for its answers in the event loop and stop it the same way: these two helpers.
"""

from __future__ import annotations

import asyncio
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess

STOP_WAIT = 10.0  # seconds a stopping server gives the worker to finish what it is doing


async def receive(connection: Connection) -> object:
    """The worker's next answer, waiting in the event loop (no thread left blocked on a
    pipe when the task is cancelled)."""
    loop = asyncio.get_running_loop()
    ready: asyncio.Future[None] = loop.create_future()

    def readable() -> None:
        if not ready.done():
            ready.set_result(None)

    loop.add_reader(connection.fileno(), readable)
    try:
        await ready
    finally:
        loop.remove_reader(connection.fileno())
    return connection.recv()


def reap(worker: BaseProcess) -> None:
    """Wait for the worker to finish (it read EOF), then stop it: a long step is cut short,
    and both owners' writes are crash-safe or none."""
    worker.join(STOP_WAIT)
    if worker.is_alive():
        worker.terminate()
        worker.join(5)
