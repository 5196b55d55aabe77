"""Delivering the outbox: signed POSTs, several at once, each under its own deadline.

- Every delivery is signed with its subscription's secret (Standard Webhooks' headers, by
  the reference `standardwebhooks` library) and keeps one `webhook-id` for all its attempts.
- Backoff: 5 s, 30 s, 2 min, 10 min, 30 min, 1 h, 2 h, 4 h, then it gives up (recorded).
- Destinations are checked against private, loopback and link-local ranges at every delivery,
  on the address actually connected to (no SSRF, no DNS rebinding), unless the server was
  started for a lab with `--allow-private-targets`.
- Up to `CONCURRENT` deliveries run at once, each bounded by `post_json`'s deadline, and a
  row being delivered is not picked again, so an endpoint that never answers holds up
  neither the others nor the next round. The database work runs in threads: the event loop
  (serving requests, releasing embargoes) never waits on SQL.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import ssl
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine
from standardwebhooks import Webhook

from netvigil.addresses import is_bogon
from netvigil.incidents import subscribers
from netvigil.incidents.subscribers import Due
from netvigil.net.backend import Backend
from netvigil.net.connect import tls_context
from netvigil.net.posting import post_json

BACKOFF = (5, 30, 120, 600, 1800, 3600, 7200, 14400)  # seconds before attempt 2, 3, ...
DEADLINE = 10.0
CONCURRENT = 8
BATCH = 100


class Deliveries:
    """The outbox's sender for one instance: `once` attempts what is due, `run` keeps at it.

    `now` schedules (what is due, when to retry); `wall` stamps `webhook-timestamp`, which
    receivers compare with their own clock to refuse replays, so it is always real time.
    """

    def __init__(
        self,
        engine: Engine,
        backend: Backend,
        *,
        allow_private: bool = False,
        context: ssl.SSLContext | None = None,
        concurrent: int = CONCURRENT,
        deadline: float = DEADLINE,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.engine, self.backend, self.wall, self.deadline = engine, backend, wall, deadline
        self.context = context or tls_context(None)
        self.allow: Callable[[str], bool] = (
            (lambda a: True) if allow_private else (lambda a: not is_bogon(a))
        )
        self.slots = asyncio.Semaphore(concurrent)
        self.sending: set[int] = set()  # outbox rows being delivered now

    async def once(self, now: dt.datetime) -> int:
        """Attempt every due delivery not already under way, concurrently; how many arrived."""
        due = await asyncio.to_thread(self._due, now)
        fresh = [row for row in due if row.id not in self.sending]
        self.sending.update(row.id for row in fresh)
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(self._deliver(row, now)) for row in fresh]
        return sum(task.result() for task in tasks)

    async def run(self, now: Callable[[], dt.datetime], interval: float) -> None:
        """A round every `interval` seconds, until cancelled; rounds overlap, so a round
        waiting on a slow endpoint does not keep the next one from starting."""
        async with asyncio.TaskGroup() as group:
            while True:
                group.create_task(self.once(now()))
                await asyncio.sleep(interval)

    def _due(self, now: dt.datetime) -> list[Due]:
        with self.engine.connect() as connection:
            return subscribers.due(connection, now, tries=len(BACKOFF), limit=BATCH)

    async def _deliver(self, row: Due, now: dt.datetime) -> bool:
        try:
            async with self.slots:
                sent = dt.datetime.fromtimestamp(int(self.wall()), dt.UTC)
                headers = (
                    ("webhook-id", row.webhook_id),
                    ("webhook-timestamp", str(int(sent.timestamp()))),
                    (
                        "webhook-signature",
                        Webhook(row.secret).sign(row.webhook_id, sent, row.payload),
                    ),
                )
                exchange = await post_json(
                    self.backend,
                    row.url,
                    row.payload.encode(),
                    deadline=self.deadline,
                    ssl_context=self.context,
                    max_body=64 << 10,
                    headers=headers,
                    allow=self.allow,
                )
            ok = exchange.failure is None and 200 <= exchange.status < 300
            attempts = row.attempts + 1
            values: dict[str, Any] = {"attempts": attempts}
            if ok:
                values["delivered_at"] = now
            else:
                values["last_error"] = (exchange.failure or f"HTTP {exchange.status}")[:300]
                if attempts <= len(BACKOFF):
                    values["next_attempt_at"] = now + dt.timedelta(seconds=BACKOFF[attempts - 1])
            await asyncio.to_thread(self._record, row.id, values)
            return ok
        finally:
            self.sending.discard(row.id)

    def _record(self, ident: int, values: dict[str, Any]) -> None:
        with self.engine.begin() as connection:
            subscribers.record_attempt(connection, ident, values)


async def deliver_due(
    engine: Engine,
    backend: Backend,
    now: dt.datetime,
    *,
    allow_private: bool = False,
    context: ssl.SSLContext | None = None,
) -> int:
    """One round of a fresh sender: every due delivery attempted once; how many arrived."""
    sender = Deliveries(engine, backend, allow_private=allow_private, context=context)
    return await sender.once(now)
