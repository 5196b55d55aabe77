"""The lab's world, unaware of censorship: the honest resolver and the sites, on their addresses.

What runs in the `server` namespace (docs/design/011-lab.md, "The servers"), built from the
scenario table: the resolver on the table's `[lab] resolver` (10.77.2.53) port 53, UDP and
TCP, answering every published site name, `real_name`s included, with its address; and at
each site's address its TCP ports, port 80 plain HTTP and every other one HTTPS with a
certificate from the lab's TestCA (the probe trusts it through `--ca-file`; ca.pem is
written to the folder). Each server is bound to its exact address, never 0.0.0.0, so a rule
the censor applies to one site's address is the only way to that site (lab/topology.py).

The nettests' own servers: a `tor_relay` serves its `dir_port` as a DirPort and its other
ports as ORPorts (lab/tor_relay.py); a `stun` site a STUN server on its `udp_ports`
(lab/stunserver.py). The apps' servers (`signal`, `telegram_dc`, `whatsapp`, `facebook`) are
sites: their nettests connect or fetch, and any answer over HTTP(S) is what they expect;
a `telegram_dc` speaks plain HTTP on every port, 443 included, as Telegram's do.

The test helper is started beside these by the entry point (cli/lab_serve.py), since lab/
may not import testhelper/ (docs/design/007-layout.md); it gets the certificate from here.
"""

from __future__ import annotations

import datetime as dt
import html
import ssl
from pathlib import Path

import msgspec

from netvigil.lab import tor_relay
from netvigil.lab.ca import Issued, TestCA
from netvigil.lab.dnsserver import Answer, DNSServer, serve_dns
from netvigil.lab.scenario_records import Site, Table
from netvigil.lab.stunserver import STUNServer, serve_stun
from netvigil.lab.tor_relay import ORPort
from netvigil.lab.webserver import Behaviour, Router, WebServer, serve_web, server_tls_context

__all__ = [
    "DNS_PORT",
    "Listening",
    "WorldServers",
    "body_of",
    "certified",
    "start_world",
    "zone_of",
]

DNS_PORT = 53
HTTP_PORT = 80  # every other TCP port of a site speaks HTTPS (443, a relay's ORPort, ...)


class Listening(msgspec.Struct, frozen=True, kw_only=True):
    """What one server listens on, for the "ready" line."""

    name: str
    address: str
    port: int
    protocol: str  # "dns/udp", "dns/tcp", "http", "https", "tls" (an ORPort), "stun/udp"


def zone_of(table: Table) -> dict[str, Answer]:
    """The honest resolver's zone: each published site with an address, by lowercase name
    (lab/dnsserver.py matches names lowercased; anything else is NXDOMAIN)."""
    return {
        name.lower(): Answer(addresses=(site.address,))
        for name, site in table.sites.items()
        if site.published and site.address is not None
    }


def certified(table: Table) -> list[str]:
    """The names and addresses the sites' certificate is valid for: the published sites'
    only. A CA issues for a name whose owner it can reach through the DNS, so a name that
    exists nowhere has no valid certificate; were the ghost site's (the censor's own page)
    valid, the probe's and the control's validated TLS on its address would vouch for the
    forged answer (analysis/trust.py) and hide the ghost blocking."""
    published = [(n, s.address) for n, s in sorted(table.sites.items()) if s.published]
    return [n for n, a in published if a is not None] + sorted(
        {a for _, a in published if a is not None}
    )


def body_of(name: str, site: Site) -> bytes:
    """The site's page, padded to `site.bytes` (the table's size: a blockpage must differ
    from it in OONI's body-length test; a large file must outlast a throttled fetch)."""
    if site.service == "large_file":
        return b"x" * site.bytes
    title = html.escape(site.title or name)
    page = f"<html><head><title>{title}</title></head><body><h1>{title}</h1>"
    tail = "</body></html>"
    filler = "x" * max(0, site.bytes - len(page.encode()) - len(tail))
    return (page + filler + tail).encode()


def _always(page: Behaviour) -> Router:
    """A site's router: the site serves its page whatever it is asked (the censor, not the
    site, is what differs between scenarios)."""

    def route(_host: str, _path: str, _client: str) -> Behaviour:
        return page

    return route


class WorldServers:
    """The running resolver and sites; :meth:`close` stops all of them."""

    def __init__(self, ca: TestCA, leaf: Issued) -> None:
        self.ca = ca
        self.leaf = leaf  # one certificate for every site name and address, the helper's too
        self.resolver: DNSServer | None = None
        self.web: dict[tuple[str, int], WebServer] = {}
        self.or_ports: dict[tuple[str, int], ORPort] = {}
        self.stun: dict[tuple[str, int], STUNServer] = {}
        self.listening: list[Listening] = []

    async def close(self) -> None:
        if self.resolver is not None:
            self.resolver.close()
        for stun in self.stun.values():
            stun.close()
        servers = [w.server for w in self.web.values()] + [r.server for r in self.or_ports.values()]
        for server in servers:
            if server is not None:
                # Not wait_closed(): from Python 3.12 it waits for every open connection,
                # and a probe's kept-alive one must not hold the exit; asyncio.run cancels
                # the handlers left when the loop ends.
                server.close()


async def start_world(
    table: Table, folder: Path, *, now: dt.datetime, skip: frozenset[str] = frozenset()
) -> WorldServers:
    """Start the resolver and every site with an address and ports, but those named in
    `skip` (the test helper's site, which the caller serves); OSError if an address is not
    this namespace's (the servers already started are closed first)."""
    folder.mkdir(parents=True, exist_ok=True)
    ca = TestCA(folder, now=now)
    world = WorldServers(ca, ca.issue(*certified(table)))
    tls = server_tls_context(str(world.leaf.cert_file), str(world.leaf.key_file))
    relay_tls: ssl.SSLContext | None = None
    try:
        resolver = table.lab.resolver
        world.resolver = await serve_dns(zone_of(table), resolver, DNS_PORT, tcp=True)
        for protocol in ("dns/udp", "dns/tcp"):
            world.listening.append(
                Listening(name="resolver", address=resolver, port=DNS_PORT, protocol=protocol)
            )
        for name, site in sorted(table.sites.items()):
            if site.address is None or name in skip:
                continue
            if site.service == "tor_relay":
                relay_tls = relay_tls or tor_relay.relay_tls(folder, now=now)
                await _relay(world, name, site, site.address, relay_tls, now)
            elif site.service == "stun":
                for port in site.udp_ports:
                    world.stun[(site.address, port)] = await serve_stun(site.address, port)
                    world.listening.append(_listening(name, site.address, port, "stun/udp"))
            else:
                await _site(world, name, site, site.address, tls)
    except BaseException:
        await world.close()
        raise
    return world


def _listening(name: str, address: str, port: int, protocol: str) -> Listening:
    return Listening(name=name, address=address, port=port, protocol=protocol)


async def _site(
    world: WorldServers, name: str, site: Site, address: str, tls: ssl.SSLContext
) -> None:
    page = Behaviour(body=body_of(name, site))
    for port in site.ports:
        # A Telegram data centre answers plain HTTP on 443 too, where the nettest POSTs
        # ("the DCs do not support access on port 443 using TLS", probe/telegram.py).
        secure = port != HTTP_PORT and site.service != "telegram_dc"
        web = await serve_web(_always(page), address, port, tls=tls if secure else None)
        world.web[(address, port)] = web
        world.listening.append(_listening(name, address, port, "https" if secure else "http"))


async def _relay(
    world: WorldServers,
    name: str,
    site: Site,
    address: str,
    tls: ssl.SSLContext,
    now: dt.datetime,
) -> None:
    """A Tor relay: its `dir_port` plain HTTP with the consensus, every other port an ORPort."""
    or_ports = [port for port in site.ports if port != site.dir_port]
    for port in or_ports:
        world.or_ports[(address, port)] = await tor_relay.serve_or_port(tls, address, port)
        world.listening.append(_listening(name, address, port, "tls"))
    if site.dir_port is not None:
        nickname = name.split(".", 1)[0]
        document = tor_relay.consensus(
            nickname, address, site.dir_port, or_ports[0] if or_ports else 0, now
        )
        web = await serve_web(tor_relay.dir_router(document), address, site.dir_port)
        world.web[(address, site.dir_port)] = web
        world.listening.append(_listening(name, address, site.dir_port, "http"))
