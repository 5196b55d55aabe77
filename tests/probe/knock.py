"""A nettest for the tests of the generic runner and the command line: TCP knocks on loopback.

`Knock` is a real implementation of the `Nettest` protocol (probe/nettest.py), as small as
one can be: it connects to each `knock` endpoint through the context's backend and records
the df-005 connects in its trace, as every nettest's steps are recorded. Its input kind and
name are parameters, so one class stands for a nettest that takes none, one that requires
input and one where it is optional. An input "hang" waits on an event nobody sets (bounded
by the runner's deadline), so a run cut short by --max-runtime can be shown.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from netvigil.net.connect import connect_tcp
from netvigil.probe.nettest import Context, Endpoints
from netvigil.probe.recording import tags
from netvigil.records import Record, TCPConnect


class KnockKeys(Record, frozen=True):
    input: str | None = None
    tcp_connect: list[TCPConnect] | None = None


@dataclass
class Knock:
    name: str = "knock_test"
    input: Literal["none", "required", "optional"] = "none"
    version: str = "0.1.0"
    endpoint_help: Mapping[str, str] = field(
        default_factory=lambda: {"knock": "HOST:PORT to connect to (default 127.0.0.1:9)"}
    )
    running: int = 0  # measurements under way now, and the most seen at once
    most: int = 0
    never: asyncio.Event | None = None

    def knocks(self, endpoints: Endpoints) -> tuple[tuple[str, int], ...]:
        endpoints.check(self.endpoint_help)
        return endpoints.host_ports("knock", ("127.0.0.1:9",))

    def check_endpoints(self, endpoints: Endpoints) -> None:
        self.knocks(endpoints)

    async def measure(self, input: str | None, ctx: Context) -> Record:
        self.running += 1
        self.most = max(self.most, self.running)
        try:
            await asyncio.sleep(0)  # let the other measurements of the run start
            if input == "hang":
                self.never = self.never or asyncio.Event()
                await self.never.wait()
            for host, port in self.knocks(ctx.endpoints):
                connection, record = await connect_tcp(
                    ctx.backend, host, port, timeout=ctx.settings.connect_timeout
                )
                if connection is not None:
                    connection.close()
                ctx.trace.record(record, ctx.trace.endpoint_transaction(), tags(depth=0))
            return KnockKeys(input=input, tcp_connect=list(ctx.trace.tcp_connect))
        finally:
            self.running -= 1
