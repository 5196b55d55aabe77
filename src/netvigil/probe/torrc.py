"""The torrc of a `vanilla_tor` (ts-016) or `torsf` (ts-030) bootstrap: ours only.

`--defaults-torrc` is an empty file (/etc/tor/torrc-defaults adds no port or bridge), and this
torrc is all tor reads. vanilla_tor uses tor's own authorities unless `--endpoint
dirauth=HOST:PORT` names the lab's (with `dirauth_id`, a private network's identities): then
tor's fallback directories are off (`UseDefaultFallbackDirs 0`), and `TestingTorNetwork 1`
lets tor dial authorities all on private or loopback addresses. torsf adds Debian's
`snowflake-client` as the pluggable transport with probe-cli's domain-fronting rendezvous
(ptx/snowflake.go: broker, front domain; its bridge line's 192.0.2.3:1 is a placeholder the
transport ignores). Every value an endpoint puts in the file is one plain word, so no option
can add a line of its own.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from netvigil.addresses import is_bogon, join_host_port, parse_ip
from netvigil.probe.nettest import EndpointError, Endpoints

_IDENTITY = re.compile(r"([0-9A-Fa-f]{40}):([0-9A-Fa-f]{40})")
_TORRC_WORD = re.compile(r"[A-Za-z0-9.:,/_?=&%+-]{1,512}")
SNOWFLAKE_BRIDGE = "snowflake 192.0.2.3:1 2B280B23E1107BB62ABFC40DDCC8824814F80A72"
BROKER = "https://1098762253.rsc.cdn77.org/"  # probe-cli ptx/snowflake.go, domain_fronting
FRONT = "www.phpmyadmin.net"
ICE = "stun:stun.epygi.com:3478,stun:stun.uls.co.za:3478"  # probe-cli stuninput


def _identities(endpoints: Endpoints, addresses: list[bytes]) -> list[tuple[str, str]]:
    """(fingerprint, v3ident) per `dirauth`: `dirauth_id`'s, a private network's (the link
    handshake checks the first, the consensus's signatures the second), else derived from the
    address (nothing else is known of them; SHA-1 only names them, as tor's fingerprints do)."""
    given = endpoints.get("dirauth_id", ())
    if not given:
        sha1 = [(hashlib.sha1(a), hashlib.sha1(b"v3ident " + a)) for a in addresses]
        return [(key.hexdigest().upper(), v3.hexdigest().upper()) for key, v3 in sha1]
    found = [m for v in given if (m := _IDENTITY.fullmatch(v))]
    if len(found) != len(given) or len(given) != len(addresses):
        raise EndpointError(f"--endpoint dirauth_id: not FINGERPRINT:V3IDENT per dirauth {given}")
    return [(m[1].upper(), m[2].upper()) for m in found]


def authority_lines(endpoints: Endpoints) -> list[str]:
    """DirAuthority lines for `--endpoint dirauth=HOST:PORT` (OR and dir port alike: a client
    fetches directories over the OR port, tor's begindir), a lab's authorities."""
    hosts = endpoints.host_ports("dirauth", ())
    if bad := [f"{h}:{p}" for h, p in hosts if parse_ip(h) is None]:
        raise EndpointError(f"--endpoint dirauth={bad[0]}: tor needs an IP address")
    identities = _identities(endpoints, [join_host_port(h, p).encode() for h, p in hosts])
    return [
        f"DirAuthority lab{n} orport={port} no-v2 v3ident={v3} {host}:{port} {key}"
        for n, ((host, port), (key, v3)) in enumerate(zip(hosts, identities, strict=True))
    ]


def _safe(key: str, value: str) -> str:
    """A value that goes into the torrc: one word of a plain alphabet (no line, no space)."""
    if not _TORRC_WORD.fullmatch(value):
        raise EndpointError(f"--endpoint {key}={value!r}: not a plain URL, name or list")
    return value


def torrc(data: Path, endpoints: Endpoints, transport: str | None) -> str:
    lines = [
        f"DataDirectory {data}",
        "SocksPort 127.0.0.1:auto",  # a client with no port does not bootstrap
        "Log notice stdout",
        "ClientOnly 1",
        "AvoidDiskWrites 1",
    ]
    authorities = authority_lines(endpoints)
    if authorities:
        lines += [*authorities, "UseDefaultFallbackDirs 0"]
        if all(is_bogon(h) for h, _ in endpoints.host_ports("dirauth", ())):
            lines.append("TestingTorNetwork 1")
    if transport is None:
        lines.append("UseBridges 0")
    else:
        broker = _safe("broker", endpoints.urls("broker", (BROKER,))[0])
        front = _safe("front", endpoints.get("front", (FRONT,))[0])
        ice = _safe("ice", endpoints.get("ice", (ICE,))[0])
        args = f"-url {broker} -ice {ice}" + (f" -front {front}" if front != "none" else "")
        lines += [
            "UseBridges 1",
            f"ClientTransportPlugin snowflake exec {transport} {args}",
            f"Bridge {SNOWFLAKE_BRIDGE}",
        ]
    return "\n".join(lines) + "\n"
