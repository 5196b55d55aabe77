"""Signal (ts-029), as OONI's probe measures it (probe-cli internal/experiment/signal, 0.2.5).

GET each backend over HTTPS with the certificate verified against Signal's pinned CAs (and
the system roots), any HTTP status counting as an answer (`FailOnHTTPError: false`), and
resolve uptime.signal.org, whose result is recorded and ignored. `signal_backend_status`
is "blocked", with the first failure, when any backend fails. The backends are OONI's
choice of ooni/probe#2636; every one can be replaced (`--endpoint backend=URL`, repeated),
and `settings.ca_file` replaces the pinned CAs (the tests pin the lab CA).
"""

from __future__ import annotations

import asyncio
import functools
import ssl
from collections.abc import Mapping
from typing import Literal

from netvigil.probe.messaging import Result, fetch, resolve, urlgetter_keys
from netvigil.probe.nettest import Context, Endpoints, parse_host
from netvigil.probe.signal_ca import SIGNAL_CAS
from netvigil.records.messaging import SignalKeys

BACKENDS = (
    "https://cdsi.signal.org/",
    "https://chat.signal.org/",
    "https://sfu.voip.signal.org/",
    "https://storage.signal.org/",
)
UPTIME = ("uptime.signal.org",)


@functools.cache
def pinned_context(ca_file: str | None) -> ssl.SSLContext:
    """The roots a Signal backend must chain to: the system's plus Signal's CAs, or only
    `ca_file` when one is given."""
    if ca_file is not None:
        context = ssl.create_default_context(cafile=ca_file)
    else:
        context = ssl.create_default_context()
        context.load_verify_locations(cadata=SIGNAL_CAS)
    context.set_alpn_protocols(["http/1.1"])
    return context


class Signal:
    name = "signal"
    version = "0.2.5"
    input: Literal["none", "required", "optional"] = "none"
    endpoint_help: Mapping[str, str] = {
        "backend": "a Signal backend URL to GET over pinned HTTPS (repeatable; default "
        + ", ".join(BACKENDS)
        + ")",
        "uptime": f"the host whose lookup is recorded and ignored (default {UPTIME[0]})",
    }

    def endpoints(self, endpoints: Endpoints) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """(backend URLs, uptime hosts); EndpointError for a key or value it cannot use."""
        endpoints.check(self.endpoint_help)
        backends = endpoints.urls("backend", BACKENDS, schemes=("https",))
        return backends, endpoints.values("uptime", UPTIME, parse_host)

    def check_endpoints(self, endpoints: Endpoints) -> None:
        self.endpoints(endpoints)

    async def measure(self, input: str | None, ctx: Context) -> SignalKeys:
        backends, uptime = self.endpoints(ctx.endpoints)
        context = pinned_context(ctx.settings.ca_file)
        fetched: list[Result] = await asyncio.gather(
            *(fetch(ctx, url, self.name, tls=context) for url in backends)
        )
        await asyncio.gather(*(resolve(ctx, host, self.name) for host in uptime))
        failed = next((r.failure for r in fetched if r.failure), None)
        return SignalKeys(
            **urlgetter_keys(ctx.trace),
            signal_backend_status="blocked" if failed else "ok",
            signal_backend_failure=failed,
        )
