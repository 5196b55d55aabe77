"""Which resolver the system uses: its egress address, learnt as OONI learns it.

OONI resolves `whoami.v4.powerdns.org` with the system resolver before measuring: the
authoritative server answers with the address the query came from, i.e. the recursive
resolver's (ooni.md §1.2; web_connectivity writes it as `client_resolver`, the envelope as
`resolver_ip`/`resolver_asn`). Akamai's `whoami.akamai.net` answers the same way; the name
is a parameter.

The probe's own address must never be written (ooni.md §6), and here it can come back:
a probe that runs its own recursive resolver (a home router doing recursion, unbound on the
same machine) makes the resolver's egress address *be* the probe's. The answer is
therefore passed through the probe's scrubber (netvigil.scrub via the Context's `scrub`):
an address the scrubber would change is the probe's, and nothing is reported. A bogon or
a non-address is no resolver identity either.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import msgspec

from netvigil.addresses import REAL_WORLD, Bogons
from netvigil.net.backend import Backend
from netvigil.net.dns import addresses_of, lookup_system
from netvigil.probe.location import locate
from netvigil.probe.recording import Scrub
from netvigil.records import Envelope, WebConnectivityKeys

AnyEnvelope = TypeVar("AnyEnvelope", bound=Envelope)

# OONI's: the system resolver, its first address (probe-cli internal/enginelocate, "MUST be
# the system resolver", ooni/probe#2360).
WHOAMI = "whoami.v4.powerdns.org"
WHOAMI_AKAMAI = "whoami.akamai.net"


@dataclass(frozen=True)
class ResolverIdentity:
    ip: str
    asn: str = "AS0"  # OONI's "unknown" when no database places it
    network_name: str = ""


def is_probe_address(address: str, scrub: Scrub) -> bool:
    """True when the scrubber would remove `address`: it is (a spelling of) the probe's."""
    return scrub(address.encode("ascii", "replace")) != address.encode("ascii", "replace")


async def learn_resolver(
    backend: Backend,
    scrub: Scrub,
    *,
    name: str = WHOAMI,
    database: Path | None = None,
    bogon: Bogons = REAL_WORLD,
) -> ResolverIdentity | None:
    """The system resolver's identity, or None when it cannot be said without risk."""
    query = await lookup_system(backend, name)
    if query.failure is not None:
        return None
    addresses = addresses_of(query)
    if not addresses:
        return None
    address = addresses[0]
    if bogon(address) or is_probe_address(address, scrub):
        return None
    location, _warning = locate(address, database)
    return ResolverIdentity(
        ip=address, asn=location.probe_asn, network_name=location.probe_network_name
    )


def with_resolver(measurement: AnyEnvelope, identity: ResolverIdentity | None) -> AnyEnvelope:
    """Any nettest's measurement with its envelope's resolver keys filled (left as OONI's
    "unknown" values, "" and AS0, without an identity)."""
    if identity is None:
        return measurement
    return msgspec.structs.replace(
        measurement,
        resolver_ip=identity.ip,
        resolver_asn=identity.asn,
        resolver_network_name=identity.network_name,
    )


def with_client_resolver(
    keys: WebConnectivityKeys, identity: ResolverIdentity | None
) -> WebConnectivityKeys:
    """web_connectivity's `client_resolver` (ts-017): the resolver's address, or "" unknown."""
    return msgspec.structs.replace(keys, client_resolver=identity.ip if identity else "")
