"""Which resolver the system uses: its egress address, learnt as OONI learns it.

OONI resolves `whoami.v4.powerdns.org` with the system resolver before measuring: the
authoritative server answers with the address the query came from, i.e. the recursive
resolver's (ooni.md §1.2; web_connectivity writes it as `client_resolver`, the envelope as
`resolver_ip`/`resolver_asn`). Akamai's `whoami.akamai.net` answers the same way; the name
is a parameter.

The probe's own address must never be written (ooni.md §6), and here it can come back:
a probe that runs its own recursive resolver (a home router doing recursion, unbound on the
same machine) makes the resolver's egress address *be* the probe's. The answer is
therefore passed through the probe's scrubber (netvigil.scrub): an address the scrubber
would change is the probe's, and nothing is reported. A probe that does not know its own
address cannot make that check, so it does not ask at all (no query, nothing written): OONI
too looks the resolver up only after the probe's own address is known (probe-cli
internal/enginelocate/geolocate.go `Task.Run` returns before the resolver lookup when the
probe IP lookup fails). A bogon (a resolver on the probe's machine or LAN, a sinkhole) or a
non-address is no resolver identity either.

Once per run, through the run's own backend (the system resolver, or the lab's stub), with
a deadline: a resolver that does not answer leaves the keys unknown and the run goes on
(geolocate.go ignores the resolver lookup's failure "intentionally"). Unknown is "" and AS0:
OONI writes a placeholder address, 127.0.0.2 (model.DefaultResolverIP), where we write
no address that is not one.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TypeVar

import msgspec

from netvigil.addresses import REAL_WORLD, Bogons
from netvigil.net.backend import Backend
from netvigil.net.dns import addresses_of, lookup_system
from netvigil.probe.location import locate
from netvigil.probe.recording import Scrub
from netvigil.records import Envelope, WebConnectivityKeys
from netvigil.scrub import Scrubber

AnyEnvelope = TypeVar("AnyEnvelope", bound=Envelope)

# OONI's: the system resolver, its first address (probe-cli internal/enginelocate, "MUST be
# the system resolver", ooni/probe#2360).
WHOAMI = "whoami.v4.powerdns.org"
WHOAMI_AKAMAI = "whoami.akamai.net"
# One lookup's worth (the system resolver's own retries included): a resolver that has not
# answered by then will not, and the run must not wait on it.
WHOAMI_DEADLINE = 10.0


class ResolverIdentity(msgspec.Struct, frozen=True, kw_only=True):
    ip: str
    asn: str = "AS0"  # OONI's "unknown" when no database places it
    network_name: str = ""


def is_probe_address(address: str, scrub: Scrub) -> bool:
    """True when the scrubber would remove `address`: it is (a spelling of) the probe's."""
    return scrub(address.encode("ascii", "replace")) != address.encode("ascii", "replace")


async def learn_resolver(
    backend: Backend,
    scrubber: Scrubber,
    *,
    name: str = WHOAMI,
    database: Path | None = None,
    bogon: Bogons = REAL_WORLD,
    deadline: float = WHOAMI_DEADLINE,
) -> ResolverIdentity | None:
    """The system resolver's identity, or None when it cannot be said without risk.

    Nothing is asked when `scrubber` knows no address of the probe's (see above)."""
    if not scrubber.addresses:
        return None
    try:
        async with asyncio.timeout(deadline):
            query = await lookup_system(backend, name)
    except TimeoutError:
        return None
    if query.failure is not None:
        return None
    addresses = addresses_of(query)
    if not addresses:
        return None
    address = addresses[0]
    if bogon(address) or is_probe_address(address, scrubber.data):
        return None
    location, _warning = locate(address, database)
    return ResolverIdentity(
        ip=address, asn=location.probe_asn, network_name=location.probe_network_name
    )


def with_resolver(measurement: AnyEnvelope, identity: ResolverIdentity | None) -> AnyEnvelope:
    """Any nettest's measurement with its envelope's resolver keys filled (left unknown,
    "" and AS0, without an identity)."""
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
