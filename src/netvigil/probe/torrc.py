"""The torrc `vanilla_tor` and `torsf` start tor with, from their `--endpoint` values.

The torrc is ours only (`--defaults-torrc` is an empty file: /etc/tor/torrc-defaults adds no
port or bridge). vanilla_tor uses tor's own authorities unless `--endpoint dirauth=HOST:PORT`
names the lab's (with `dirauth_id`, a private network's identities): then tor's fallback
directories are off (`UseDefaultFallbackDirs 0`), and `TestingTorNetwork 1` lets tor dial
authorities all on private or loopback addresses. torsf adds Debian's `snowflake-client` as
the pluggable transport with probe-cli's domain-fronting rendezvous (ptx/snowflake.go: broker,
front domain; its bridge line's 192.0.2.3:1 is a placeholder the transport ignores, the
fingerprint is Tor's Snowflake bridge's). A lab's torsf names its own bridge (`bridge_id`: the
private network's relay its Snowflake server forwards to), and a broker on a private or
loopback address gets `-keep-local-addresses`: such a broker can only pair the client with
proxies on the same machine or network, whose ICE candidates are local addresses the client
otherwise strips from its offer (snowflake client/lib/rendezvous.go).

Every endpoint value of both nettests ends up here, so building the torrc is their check
(`check_endpoints`): a value is refused in one line, naming key and value, and one that could
add a torrc line (a newline, a space) is never written.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from urllib.parse import urlsplit

from netvigil.addresses import is_bogon, join_host_port, parse_ip
from netvigil.probe.nettest import EndpointError, Endpoints, parse_host, parse_host_port, parse_url

_IDENTITY = re.compile(r"([0-9A-Fa-f]{40}):([0-9A-Fa-f]{40})")
_FINGERPRINT = re.compile(r"[0-9A-Fa-f]{40}")
_TORRC_WORD = re.compile(r"[A-Za-z0-9.:,/_?=&%+-]{1,512}")
SNOWFLAKE_BRIDGE_ID = "2B280B23E1107BB62ABFC40DDCC8824814F80A72"  # probe-cli ptx/snowflake.go
BROKER = "https://1098762253.rsc.cdn77.org/"  # probe-cli ptx/snowflake.go, domain_fronting
FRONT = "www.phpmyadmin.net"
ICE = "stun:stun.epygi.com:3478,stun:stun.uls.co.za:3478"  # probe-cli stuninput
# `check_endpoints` builds the torrc (a string: nothing is written) with this placeholder.
CHECK_DATA = Path("DataDirectory")


def _identity(value: str) -> tuple[str, str]:
    found = _IDENTITY.fullmatch(value)
    if found is None:
        raise EndpointError(f"{value!r} is not FINGERPRINT:V3IDENT (40 hex digits each)")
    return found[1].upper(), found[2].upper()


def _identities(endpoints: Endpoints, addresses: list[bytes]) -> list[tuple[str, str]]:
    """(fingerprint, v3ident) per `dirauth`: `dirauth_id`'s, a private network's (the link
    handshake checks the first, the consensus's signatures the second), else derived from the
    address (nothing else is known of them; SHA-1 only names them, as tor's fingerprints do)."""
    given = endpoints.values("dirauth_id", (), _identity)
    if not given:
        sha1 = [(hashlib.sha1(a), hashlib.sha1(b"v3ident " + a)) for a in addresses]
        return [(key.hexdigest().upper(), v3.hexdigest().upper()) for key, v3 in sha1]
    if len(given) != len(addresses):
        raise EndpointError(
            f"--endpoint dirauth_id: {len(given)} given for {len(addresses)} dirauth (one "
            "FINGERPRINT:V3IDENT per dirauth, in order)"
        )
    return list(given)


def _authority(value: str) -> tuple[str, int]:
    host, port = parse_host_port(value)
    if parse_ip(host) is None:  # a DirAuthority line takes an address, never a name
        raise EndpointError(f"{value!r}: tor needs an IP address, not a name")
    return host, port


def authority_lines(endpoints: Endpoints) -> list[str]:
    """DirAuthority lines for `--endpoint dirauth=HOST:PORT` (OR and dir port alike: a client
    fetches directories over the OR port, tor's begindir), a lab's authorities."""
    hosts = endpoints.values("dirauth", (), _authority)
    identities = _identities(endpoints, [join_host_port(h, p).encode() for h, p in hosts])
    return [
        f"DirAuthority lab{n} orport={port} no-v2 v3ident={v3} {host}:{port} {key}"
        for n, ((host, port), (key, v3)) in enumerate(zip(hosts, identities, strict=True))
    ]


def _word(value: str) -> str:
    """A value that goes into the torrc: one word of a plain alphabet (no line, no space)."""
    if not _TORRC_WORD.fullmatch(value):
        raise EndpointError(f"{value!r} is not a plain URL, name or list")
    return value


def _broker(value: str) -> str:
    return parse_url(_word(value))


def _front(value: str) -> str:
    """The domain the broker is reached through, or `none` (no domain fronting)."""
    return value if _word(value) == "none" else parse_host(value)


def _is_stun(item: str) -> bool:
    server = item.removeprefix("stun:")
    try:
        (parse_host_port if ":" in server else parse_host)(server)
    except EndpointError:
        return False
    return server != item


def _ice(value: str) -> str:
    """STUN servers, comma-separated: snowflake-client uses `stun:` ones only, skipping
    others with a warning (snowflake client/lib/snowflake.go parseIceServers), so a list
    with another is a mistake here; the port is optional (RFC 7064: 3478)."""
    if bad := [item for item in _word(value).split(",") if not _is_stun(item)]:
        raise EndpointError(f"{bad[0]!r} in {value!r} is not stun:HOST[:PORT]")
    return value


def _fingerprint(value: str) -> str:
    if not _FINGERPRINT.fullmatch(value):
        raise EndpointError(f"{value!r} is not a FINGERPRINT (40 hex digits)")
    return value.upper()


def _snowflake(transport: str, endpoints: Endpoints) -> list[str]:
    broker = endpoints.values("broker", (BROKER,), _broker)[0]
    front = endpoints.values("front", (FRONT,), _front)[0]
    ice = ",".join(endpoints.values("ice", (ICE,), _ice))  # repeated: one list
    bridge = endpoints.values("bridge_id", (SNOWFLAKE_BRIDGE_ID,), _fingerprint)
    if len(bridge) != 1:
        raise EndpointError(f"--endpoint bridge_id: {len(bridge)} given, one bridge is used")
    args = f"-url {broker} -ice {ice}" + (f" -front {front}" if front != "none" else "")
    host = urlsplit(broker).hostname or ""
    if parse_ip(host) is not None and is_bogon(host):
        args += " -keep-local-addresses"
    return [
        "UseBridges 1",
        f"ClientTransportPlugin snowflake exec {transport} {args}",
        f"Bridge snowflake 192.0.2.3:1 {bridge[0]}",
    ]


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
        lines += _snowflake(transport, endpoints)
    return "\n".join(lines) + "\n"
