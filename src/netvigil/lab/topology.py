"""The lab's three namespaces as a plan: names, addresses, routes and the commands, no IO.

    client 10.77.1.2 ── veth ── 10.77.1.1 censor 10.77.2.1 ── veth ── 10.77.2.2 server
                                  (ip_forward=1)                       + 10.77.2.10-99

The probe runs in `client`, our own servers (resolver, sites, test helper, collector) in
`server`, and `censor` is the only router between them, so every technique of lab/rules.py is
applied where a national censor applies it: on the path, not at either end (ooni.md §1.5,
reliability.md §4.3). Each lab site gets its own address (10.77.2.10-99; the resolver is
10.77.2.53) so that a rule on one site's address touches no other.

The addresses exist only inside the namespaces: no namespace has a link to the root namespace
or a route past the other two, so nothing a test does can leave the lab. Two labs use the same
addresses without meeting, each in its own namespaces.

Every veth is created inside its namespace (`ip -n NS link add ... peer ... netns PEER`), never
in the root namespace and moved: a process killed half-way through `up` can then leave
namespaces (which teardown finds by name), but never a stray interface in the host's own
namespace. Deleting a namespace destroys its veths and their peers (veth(4)), so `down` only
has to delete the namespaces, after killing what runs in them (lab/netns.py).
"""

from __future__ import annotations

import re
from typing import Final

import msgspec

PREFIX: Final = "nvlab-"
# Linux interface names are at most 15 bytes (IFNAMSIZ 16 with the NUL): "nv-" + id + "-cc".
IFNAMSIZ: Final = 15
_ID: Final = re.compile(r"[a-z0-9]{1,8}")
CLIENT_NET: Final = "10.77.1"
SERVER_NET: Final = "10.77.2"
RESOLVER: Final = f"{SERVER_NET}.53"
SITE_ADDRESSES: Final = tuple(f"{SERVER_NET}.{host}" for host in range(10, 100))


class TopologyError(ValueError):
    """A lab id we cannot name namespaces after; the message is one line."""


class Link(msgspec.Struct, frozen=True, kw_only=True):
    """One veth pair: `name` in namespace `namespace`, its peer `peer` in `peer_namespace`."""

    name: str
    namespace: str
    peer: str
    peer_namespace: str


class Plan(msgspec.Struct, frozen=True, kw_only=True):
    """One lab: its namespaces, links and addresses, and the commands that make and unmake it.

    `up` runs in order; `down` deletes the namespaces (lab/netns.py kills their processes
    first). Each command is an argv, run without a shell.
    """

    lab_id: str
    client: str
    censor: str
    server: str
    links: tuple[Link, ...]
    client_address: str
    server_address: str
    site_addresses: tuple[str, ...]
    up: tuple[tuple[str, ...], ...]
    down: tuple[tuple[str, ...], ...]

    @property
    def namespaces(self) -> tuple[str, ...]:
        """Each namespace once, in up order: a flat plan's three roles are one namespace."""
        return tuple(dict.fromkeys((self.client, self.censor, self.server)))


def check_id(lab_id: str) -> str:
    """The id, or a one-line error: 1-8 lowercase letters or digits, so that every name fits."""
    if not _ID.fullmatch(lab_id):
        raise TopologyError(f"lab id must be 1-8 lowercase letters or digits, not {lab_id!r}")
    return lab_id


def prefix_of(lab_id: str) -> str:
    """What every namespace of this lab is named with (and nothing of another lab is)."""
    return f"{PREFIX}{check_id(lab_id)}-"


def _ip(namespace: str, *args: str) -> tuple[str, ...]:
    return ("ip", "-n", namespace, *args)


def _sysctl(namespace: str, setting: str) -> tuple[str, ...]:
    # sysctls under net/ are per namespace: set in `censor`, they leave the host's alone.
    return ("ip", "netns", "exec", namespace, "sysctl", "-qw", setting)


def plan(lab_id: str) -> Plan:
    """The lab named `lab_id`: namespaces nvlab-<id>-client, -censor and -server."""
    prefix = prefix_of(lab_id)
    client, censor, server = (f"{prefix}{role}" for role in ("client", "censor", "server"))
    short = f"nv-{lab_id}-"
    to_client = Link(name=f"{short}c", namespace=client, peer=f"{short}cc", peer_namespace=censor)
    to_server = Link(name=f"{short}s", namespace=server, peer=f"{short}cs", peer_namespace=censor)
    links = (to_client, to_server)
    assert all(len(n) <= IFNAMSIZ for link in links for n in (link.name, link.peer))
    up: list[tuple[str, ...]] = [("ip", "netns", "add", ns) for ns in (client, censor, server)]
    up += [_ip(ns, "link", "set", "lo", "up") for ns in (client, censor, server)]
    for link in links:
        veth = ("type", "veth", "peer", "name", link.peer, "netns", link.peer_namespace)
        up.append(_ip(link.namespace, "link", "add", link.name, *veth))
    client_address, server_address = f"{CLIENT_NET}.2", f"{SERVER_NET}.2"
    up += [
        _ip(client, "addr", "add", f"{client_address}/24", "dev", to_client.name),
        _ip(censor, "addr", "add", f"{CLIENT_NET}.1/24", "dev", to_client.peer),
        _ip(censor, "addr", "add", f"{SERVER_NET}.1/24", "dev", to_server.peer),
        _ip(server, "addr", "add", f"{server_address}/24", "dev", to_server.name),
    ]
    up += [_ip(server, "addr", "add", f"{a}/24", "dev", to_server.name) for a in SITE_ADDRESSES]
    for link in links:
        up.append(_ip(link.namespace, "link", "set", link.name, "up"))
        up.append(_ip(link.peer_namespace, "link", "set", link.peer, "up"))
    # Each end's only way off its subnet is the censor: there is no other route to take.
    up.append(_ip(client, "route", "add", "default", "via", f"{CLIENT_NET}.1"))
    up.append(_ip(server, "route", "add", "default", "via", f"{SERVER_NET}.1"))
    up.append(_sysctl(censor, "net.ipv4.ip_forward=1"))
    down = tuple(("ip", "netns", "delete", ns) for ns in (client, censor, server))
    return Plan(
        lab_id=lab_id,
        client=client,
        censor=censor,
        server=server,
        links=links,
        client_address=client_address,
        server_address=server_address,
        site_addresses=SITE_ADDRESSES,
        up=tuple(up),
        down=down,
    )


def flat_plan(lab_id: str) -> Plan:
    """The lab's addresses with no censor and no veth: one namespace, nvlab-<id>-flat.

    The loopback baseline of bench/lab_bench.py: the client's, the server's and every site's
    address (the resolver's among them) are /32s on `lo`, so the world and the probe run
    unchanged and talk over loopback. Its client, censor and server are that one namespace,
    and `censor` is there only to fill the role: nothing forwards and no rule is applied, so
    what the lab costs more than this is its veths and the censor's forwarding. Like the lab,
    it has no link to the root namespace.
    """
    flat = f"{prefix_of(lab_id)}flat"
    client_address, server_address = f"{CLIENT_NET}.2", f"{SERVER_NET}.2"
    up: list[tuple[str, ...]] = [("ip", "netns", "add", flat), _ip(flat, "link", "set", "lo", "up")]
    up += [
        _ip(flat, "addr", "add", f"{a}/32", "dev", "lo")
        for a in (client_address, server_address, *SITE_ADDRESSES)
    ]
    return Plan(
        lab_id=lab_id,
        client=flat,
        censor=flat,
        server=flat,
        links=(),
        client_address=client_address,
        server_address=server_address,
        site_addresses=SITE_ADDRESSES,
        up=tuple(up),
        down=(("ip", "netns", "delete", flat),),
    )


def is_lab_namespace(name: str, lab_id: str | None = None) -> bool:
    """True for a namespace a lab made (any lab, or the one named `lab_id`)."""
    return name.startswith(PREFIX if lab_id is None else prefix_of(lab_id))
