"""WhatsApp (ts-018), as OONI's probe measures it (probe-cli internal/experiment/whatsapp, 0.11.0).

Connect to e1–e16.whatsapp.net on ports 443 and 5222, GET the registration service
(https://v.whatsapp.net/v2/register) and WhatsApp Web (https://web.whatsapp.com/; any HTTP
status counts, whatsapp.go: "we don't care about the HTTP response code").
`whatsapp_endpoints_status` is "ok" once any endpoint connects; a host whose connects all
failed is listed in `whatsapp_endpoints_blocked`; registration and web are "blocked" on any
failure. Every endpoint (`--endpoint endpoint=HOST:PORT`, repeated), the registration URL
(`registration=URL`) and the web URL (`web=URL`) can be replaced.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Mapping
from typing import Literal

from netvigil.failures import FailedOperation
from netvigil.net.connect import tls_context
from netvigil.probe.messaging import Result, connect, fetch, resolve, urlgetter_keys
from netvigil.probe.nettest import Context, Endpoints
from netvigil.records.messaging import WhatsAppKeys

ENDPOINTS = tuple(f"e{n}.whatsapp.net:{port}" for n in range(1, 17) for port in (443, 5222))
REGISTRATION = ("https://v.whatsapp.net/v2/register",)
WEB = ("https://web.whatsapp.com/",)


async def tcp_target(ctx: Context, host: str, port: int, tag: str) -> Result:
    """urlgetter's `tcpconnect://host:port`: resolve, then connect to the addresses in turn."""
    addresses, failure = await resolve(ctx, host, tag)
    if failure is not None:
        return Result(failure, FailedOperation.RESOLVE)
    connection, result = await connect(ctx, addresses, port, tag, ctx.trace.endpoint_transaction())
    if connection is not None:
        connection.close()
    return result


class WhatsApp:
    name = "whatsapp"
    version = "0.11.0"
    input: Literal["none", "required", "optional"] = "none"
    endpoint_help: Mapping[str, str] = {
        "endpoint": "a chat endpoint HOST:PORT to connect to (repeatable; default "
        "e1..e16.whatsapp.net on 443 and 5222)",
        "registration": f"the registration service URL (default {REGISTRATION[0]})",
        "web": f"the WhatsApp Web URL (default {WEB[0]})",
    }

    def endpoints(
        self, given: Endpoints
    ) -> tuple[tuple[tuple[str, int], ...], tuple[str, ...], tuple[str, ...]]:
        """(chat endpoints, registration URLs, web URLs); EndpointError for a key or value
        it cannot use."""
        given.check(self.endpoint_help)
        return (
            given.host_ports("endpoint", ENDPOINTS),
            given.urls("registration", REGISTRATION),
            given.urls("web", WEB),
        )

    def check_endpoints(self, endpoints: Endpoints) -> None:
        self.endpoints(endpoints)

    async def measure(self, input: str | None, ctx: Context) -> WhatsAppKeys:
        endpoints, registration, web = self.endpoints(ctx.endpoints)
        context = tls_context(ctx.settings.ca_file)
        connects: list[Result] = await asyncio.gather(
            *(tcp_target(ctx, host, port, self.name) for host, port in endpoints)
        )
        fetched: list[Result] = await asyncio.gather(
            *(fetch(ctx, url, self.name, tls=context) for url in (*registration, *web))
        )
        failures = Counter(
            host for (host, _), r in zip(endpoints, connects, strict=True) if r.failure
        )
        ports = Counter(host for host, _ in endpoints)
        registered = next((r.failure for r in fetched[: len(registration)] if r.failure), None)
        web_failure = next((r.failure for r in fetched[len(registration) :] if r.failure), None)
        return WhatsAppKeys(
            **urlgetter_keys(ctx.trace),
            registration_server_failure=registered,
            registration_server_status="blocked" if registered else "ok",
            whatsapp_endpoints_blocked=sorted(h for h, n in failures.items() if n >= ports[h]),
            whatsapp_endpoints_dns_inconsistent=[],
            whatsapp_endpoints_status="ok"
            if any(r.failure is None for r in connects)
            else "blocked",
            whatsapp_web_failure=web_failure,
            whatsapp_web_status="blocked" if web_failure else "ok",
        )
