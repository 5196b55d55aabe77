"""dnscheck (ts-028): does this DNS service — Do53 over UDP or TCP, DoT, DoH — work here?

Steps, as OONI's probe takes them (probe-cli internal/experiment/dnscheck/dnscheck.go):

1. the input is a resolver URL: `udp://HOST:PORT`, `tcp://HOST:PORT`, `dot://HOST:PORT`
   or `https://HOST/PATH` (DoH); default ports 53, 53, 853 and 443;
2. *bootstrap*: when HOST is a name, resolve it with the system resolver (recorded under
   `bootstrap`, its failure in `bootstrap_failure`); an address input has no bootstrap;
3. *lookups*: for every address found, resolve `domain` (default `example.org`) through
   the resolver at that address, each under the resolver URL with the address in place of
   the name (`dot://8.8.4.4:853`), SNI and Host still the input's name.

Bogon bootstrap answers are never contacted (OONI: BogonIsError): an injected 10.x answer
must not make the probe send packets into a private network. A lab plays the public
Internet on loopback: it passes its networks as `bogon` (addresses.Bogons).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import urlsplit, urlunsplit

from netvigil.addresses import REAL_WORLD, Bogons, join_host_port, parse_ip
from netvigil.failures import Failure
from netvigil.net.dns import addresses_of, lookup_system
from netvigil.probe.lookups import Limits, Resolver, Steps, lookup
from netvigil.probe.nettest import Context, EndpointError, Endpoints, parse_host
from netvigil.records import Record
from netvigil.records.resolvers import (
    DNSCHECK,
    DNSCHECK_VERSION,
    DNSCheckKeys,
    URLGetterResult,
)

DEFAULT_DOMAIN = "example.org"  # dnscheck.go defaultDomain
# Measured when no input is given (OONI's dnscheck requires an input; its test lists name
# resolvers like this one, as the fastpath rows of ooni-backend-fastpath-rows-1081.sql show).
DEFAULT_RESOLVER = "https://dns.google/dns-query"
_ENGINES = {"udp": ("udp", 53), "tcp": ("tcp", 53), "dot": ("dot", 853), "https": ("doh", 443)}


@dataclass(frozen=True)
class ResolverURL:
    scheme: str
    host: str  # a name or an address, without brackets
    port: int
    explicit_port: bool
    path: str
    query: str

    @property
    def host_header(self) -> str:
        return join_host_port(self.host, self.port) if self.explicit_port else _bracket(self.host)

    @property
    def engine(self) -> str:
        return _ENGINES[self.scheme][0]

    def with_address(self, ip: str) -> str:
        """The lookup's key: the URL with `ip` for the host (dnscheck.go makeResolverURL)."""
        host = self.host if parse_ip(self.host) is not None else ip
        netloc = join_host_port(host, self.port) if self.explicit_port else _bracket(host)
        return urlunsplit((self.scheme, netloc, self.path, self.query, ""))


def _bracket(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def parse_resolver(value: str) -> ResolverURL:
    """A resolver URL; raises EndpointError (one line) when it is not one."""
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError:
        raise EndpointError(f"{value!r} is not a resolver URL (bad port)") from None
    if parts.scheme not in _ENGINES or not parts.hostname:
        raise EndpointError(
            f"{value!r} is not a resolver URL (udp://, tcp://, dot://HOST:PORT or https://HOST/PATH)"
        )
    return ResolverURL(
        scheme=parts.scheme,
        host=parts.hostname,
        port=port or _ENGINES[parts.scheme][1],
        explicit_port=port is not None,
        path=parts.path,
        query=parts.query,
    )


@dataclass
class DNSCheck:
    name: str = DNSCHECK
    version: str = DNSCHECK_VERSION
    input: Literal["none", "required", "optional"] = "optional"
    endpoint_help: Mapping[str, str] = field(
        default_factory=lambda: {
            "resolver": f"the resolver URL to test when no input is given ({DEFAULT_RESOLVER})",
            "domain": f"the name to resolve through it ({DEFAULT_DOMAIN})",
        }
    )
    bogon: Bogons = REAL_WORLD

    def endpoints(self, endpoints: Endpoints) -> tuple[ResolverURL, str]:
        """(the resolver measured without input, the domain); EndpointError for a key or
        value it cannot use."""
        endpoints.check(self.endpoint_help)
        resolver = endpoints.values("resolver", (DEFAULT_RESOLVER,), parse_resolver)[0]
        return resolver, endpoints.values("domain", (DEFAULT_DOMAIN,), parse_host)[0]

    def check_endpoints(self, endpoints: Endpoints) -> None:
        self.endpoints(endpoints)

    async def measure(self, input: str | None, ctx: Context) -> Record:
        default, domain = self.endpoints(ctx.endpoints)
        target = parse_resolver(input) if input else default
        settings = ctx.settings
        limits = Limits(
            connect=settings.connect_timeout,
            tls=settings.tls_timeout,
            round_trip=settings.http_timeout,
            ca_file=settings.ca_file,
        )
        bootstrap: URLGetterResult | None = None
        bootstrap_failure: str | None = None
        addresses = [target.host]
        if parse_ip(target.host) is None:
            query = await lookup_system(ctx.backend, target.host, clock=ctx.trace.now)
            addresses = addresses_of(query)
            bootstrap_failure = query.failure
            if bootstrap_failure is None and any(self.bogon(a) for a in addresses):
                bootstrap_failure = Failure.DNS_BOGON  # OONI's bootstrap: BogonIsError
                addresses = []
            bootstrap = URLGetterResult(
                failure=bootstrap_failure,
                failed_operation="resolve" if bootstrap_failure else None,
                queries=[query],
            )
        lookups: dict[str, URLGetterResult] = {}
        for ip in dict.fromkeys(addresses):  # in the order the resolver gave them
            resolver = Resolver(
                engine=target.engine,
                ip=ip,
                port=target.port,
                server_name=target.host,
                url=target.with_address(ip),
                host_header=target.host_header,
            )
            lookups[resolver.url] = await lookup(
                ctx.backend,
                resolver,
                domain,
                limits,
                Steps(now=ctx.trace.now),
                is_bogon=self.bogon,
                scrub=ctx.scrub,
            )
        return DNSCheckKeys(
            domain=domain,
            bootstrap=bootstrap,
            bootstrap_failure=bootstrap_failure,
            lookups=lookups,
            x_default_addrs="",
            x_residual=False,
        )
