"""IP address facts the analysis needs: bogons, loopback, endpoint spelling.

The bogon list is the one OONI's probe and test helper use (ooni/probe-cli:
internal/netxlite/bogon.go; ooni.md §1.4): RFC 1918, CGNAT, loopback, link-local,
TEST-NETs, benchmarking, multicast, reserved, and the IPv6 equivalents including the
6to4 and Teredo encodings of IPv4 bogons. A string that is not an IP address counts as
a bogon, as in OONI's `IsBogon`, because it cannot be a valid answer to an A/AAAA query.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import urlsplit

_BOGONS_V4 = tuple(
    ipaddress.IPv4Network(cidr)
    for cidr in (
        "0.0.0.0/8",
        "10.0.0.0/8",
        "100.64.0.0/10",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "172.16.0.0/12",
        "192.0.0.0/24",
        "192.0.2.0/24",
        "192.168.0.0/16",
        "198.18.0.0/15",
        "198.51.100.0/24",
        "203.0.113.0/24",
        "224.0.0.0/4",
        "240.0.0.0/4",
        "255.255.255.255/32",
    )
)

_BOGONS_V6 = tuple(
    ipaddress.IPv6Network(cidr)
    for cidr in (
        "::/128",
        "::1/128",
        "::ffff:0:0/96",
        "::/96",
        "100::/64",
        "2001:10::/28",
        "2001:db8::/32",
        "fc00::/7",
        "fe80::/10",
        "fec0::/10",
        "ff00::/8",
        # 6to4 encodings of the IPv4 bogons.
        "2002::/24",
        "2002:a00::/24",
        "2002:7f00::/24",
        "2002:a9fe::/32",
        "2002:ac10::/28",
        "2002:c000::/40",
        "2002:c000:200::/40",
        "2002:c0a8::/32",
        "2002:c612::/31",
        "2002:c633:6400::/40",
        "2002:cb00:7100::/40",
        "2002:e000::/20",
        "2002:f000::/20",
        "2002:ffff:ffff::/48",
        # Teredo encodings of the IPv4 bogons.
        "2001::/40",
        "2001:0:a00::/40",
        "2001:0:7f00::/40",
        "2001:0:a9fe::/48",
        "2001:0:ac10::/44",
        "2001:0:c000::/56",
        "2001:0:c000:200::/56",
        "2001:0:c0a8::/48",
        "2001:0:c612::/47",
        "2001:0:c633:6400::/56",
        "2001:0:cb00:7100::/56",
        "2001:0:e000::/36",
        "2001:0:f000::/36",
        "2001:0:ffff:ffff::/64",
    )
)


@lru_cache(maxsize=4096)
def host_of(url: str) -> str:
    """The host of a URL, lower-cased, without brackets ("" when there is none)."""
    try:
        return urlsplit(url).hostname or ""
    except ValueError:
        return ""


def parse_ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


@lru_cache(maxsize=65536)
def is_bogon(text: str) -> bool:
    """True for addresses that cannot be a public server's (and for non-addresses)."""
    ip = parse_ip(text)
    if ip is None:
        return True
    if ip.is_loopback or ip.is_link_local:
        return True
    if isinstance(ip, ipaddress.IPv4Address):
        return any(ip in net for net in _BOGONS_V4)
    return any(ip in net for net in _BOGONS_V6)


@lru_cache(maxsize=65536)
def is_loopback(text: str) -> bool:
    ip = parse_ip(text)
    return ip is not None and ip.is_loopback


def is_ipv6(text: str) -> bool:
    return ":" in text and parse_ip(text) is not None


def join_host_port(host: str, port: int | str) -> str:
    """`ip:port`, with IPv6 addresses in brackets (Go's net.JoinHostPort)."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def only_loopback(addresses: frozenset[str]) -> bool:
    """True when there is at least one address and every parseable one is loopback.

    webconnectivitylte/analysisclassic.go `analysisContainsOnlyLoopbackAddrs`.
    """
    count = 0
    for address in addresses:
        if parse_ip(address) is None:
            continue
        if not is_loopback(address):
            return False
        count += 1
    return count > 0


@dataclass(frozen=True)
class Bogons:
    """`is_bogon`, except for the networks a lab declares public.

    A lab on loopback or in private namespaces plays the public Internet with addresses
    that are bogons by definition; the analysis of its measurements must be told which of
    those stand for public hosts (`--lab-network`), or every site would look like a DNS
    sinkhole. Real measurements are analysed with no lab networks.
    """

    lab_networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()

    @classmethod
    def with_lab(cls, networks: Iterable[str]) -> Bogons:
        return cls(tuple(ipaddress.ip_network(n, strict=False) for n in networks))

    def __call__(self, text: str) -> bool:
        if not is_bogon(text):
            return False
        if not self.lab_networks:
            return True
        ip = parse_ip(text)
        return ip is None or not any(
            ip.version == net.version and ip in net for net in self.lab_networks
        )


# The real Internet: no lab networks.
REAL_WORLD = Bogons()
