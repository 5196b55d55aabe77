"""Politeness: at most a few connections to one host at a time, however many URLs run.

A test list often holds several URLs of one site; measuring 32 of them at once would look
like an attack to the site and stand out to anyone watching the network. Each connection
holds one of the host's slots while it is open.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

MAX_PER_HOST = 2


class HostLimiter:
    def __init__(self, per_host: int = MAX_PER_HOST) -> None:
        self.per_host = per_host
        self._slots: dict[str, asyncio.Semaphore] = {}

    @asynccontextmanager
    async def slot(self, host: str) -> AsyncIterator[None]:
        semaphore = self._slots.setdefault(host.lower(), asyncio.Semaphore(self.per_host))
        async with semaphore:
            yield
