"""Telegram (ts-020), as OONI's probe measures it (probe-cli internal/experiment/telegram, 0.3.1).

POST to every data centre access point over plain HTTP, on port 80 and on 443 ("the DCs do
not support access on port 443 using TLS", telegram.go), and GET https://web.telegram.org/.
`telegram_tcp_blocking` stays true until an access point gets past the connect,
`telegram_http_blocking` until one answers; `telegram_web_status` is "blocked", with its
failure, when the web fetch fails. OONI's six DC addresses are the default; every access
point (`--endpoint dc=IP:PORT`, repeated) and the web URL (`web=URL`) can be replaced.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Literal

from netvigil.addresses import join_host_port
from netvigil.failures import FailedOperation
from netvigil.net.connect import tls_context
from netvigil.probe.messaging import Result, fetch, urlgetter_keys
from netvigil.probe.nettest import Context, Endpoints
from netvigil.records.messaging import TelegramKeys

# telegram.go DatacenterIPAddrs, each measured on port 80 and on port 443.
DATACENTRES = (
    "149.154.175.50",
    "149.154.167.51",
    "149.154.175.100",
    "149.154.167.91",
    "149.154.171.5",
    "95.161.76.100",
)
ACCESS_POINTS = tuple(f"{ip}:{port}" for ip in DATACENTRES for port in (80, 443))
WEB = ("https://web.telegram.org/",)


def access_point_url(ip: str, port: int) -> str:
    """`http://ip/` on port 80, `http://ip:443/` otherwise (OONI's spelling)."""
    return f"http://{join_host_port(ip, port) if port != 80 else ip}/"


class Telegram:
    name = "telegram"
    version = "0.3.1"
    input: Literal["none", "required", "optional"] = "none"
    endpoint_help: Mapping[str, str] = {
        "dc": "a data centre access point IP:PORT, POSTed to over HTTP (repeatable; default "
        "OONI's six DCs on ports 80 and 443)",
        "web": f"the Telegram Web URL to GET (default {WEB[0]})",
    }

    def endpoints(
        self, endpoints: Endpoints
    ) -> tuple[tuple[tuple[str, int], ...], tuple[str, ...]]:
        """(access points, web URLs); EndpointError for a key or value it cannot use."""
        endpoints.check(self.endpoint_help)
        return endpoints.host_ports("dc", ACCESS_POINTS), endpoints.urls("web", WEB)

    def check_endpoints(self, endpoints: Endpoints) -> None:
        self.endpoints(endpoints)

    async def measure(self, input: str | None, ctx: Context) -> TelegramKeys:
        points, web = self.endpoints(ctx.endpoints)
        context = tls_context(ctx.settings.ca_file)
        dcs: list[Result] = await asyncio.gather(
            *(
                fetch(ctx, access_point_url(ip, port), self.name, method="POST")
                for ip, port in points
            )
        )
        pages: list[Result] = await asyncio.gather(
            *(fetch(ctx, url, self.name, tls=context) for url in web)
        )
        answered = any(r.failure is None for r in dcs)
        past_connect = any(r.failed_operation != FailedOperation.CONNECT for r in dcs)
        web_failure = next((r.failure for r in pages if r.failure), None)
        return TelegramKeys(
            **urlgetter_keys(ctx.trace),
            telegram_http_blocking=not answered,
            telegram_tcp_blocking=not (answered or past_connect),
            telegram_web_failure=web_failure,
            telegram_web_status="blocked" if web_failure else "ok",
        )
