"""Private Tor bridges: their addresses are never written, served or logged.

ts-023 (ooni/spec nettests/ts-023-tor.md, "Privacy considerations"; ooni.md §6): a target
with a non-empty `source` (e.g. "bridgedb") is a *private* bridge, and its address MUST be
scrubbed from the measurement and the logs; `target_address` becomes "[scrubbed]". OONI's
probe does it by passing the target's JSON through its scrubber of every IP endpoint
(probe-cli internal/experiment/tor `maybeSanitize`, `maybeTargetAddress`).

We scrub the private bridge's own addresses, every spelling of them, from the *whole*
measurement (scrub.py's :class:`Scrubber`, which also reads percent- and JSON-escaped forms),
not only from its target: a bridge's address in a public target's trace or in a log line
would publish it just the same. A target id that spells the address (ours are random, OONI's
hashes, but a hostile submission's may not be) is replaced by a randomly salted SHA-256.
This runs where a tor measurement enters: the probe's output (probe/tor.py), the collector's
submissions (observatory/collector.py) and every file the pipeline reads (readers.py
`parse_line`).
"""

from __future__ import annotations

import hashlib
import ipaddress
import secrets
from typing import Any
from urllib.parse import urlsplit

import msgspec

from netvigil.scrub import REPLACEMENT, Scrubber


def _host(address: object) -> str | None:
    """The host of "ip:port", "[v6]:port", "domain:port" or a bare address ("" for none)."""
    if not isinstance(address, str) or not address or REPLACEMENT in address:
        return None
    text = address.strip()
    if text.startswith("["):
        return text[1:].split("]")[0] or None
    if text.count(":") > 1:  # a bare IPv6 address
        return text
    return text.rpartition(":")[0] or text


def _hosts_of(target: dict[str, Any]) -> set[str]:
    hosts = {_host(target.get("target_address"))}
    for connect in target.get("tcp_connect") or ():
        hosts.add(_host(connect.get("ip")) if isinstance(connect, dict) else None)
    for step in [*(target.get("tls_handshakes") or ()), *(target.get("network_events") or ())]:
        hosts.add(_host(step.get("address")) if isinstance(step, dict) else None)
    for request in target.get("requests") or ():
        url = request.get("request", {}).get("url") if isinstance(request, dict) else None
        hosts.add(urlsplit(url).hostname if isinstance(url, str) else None)
    return {host for host in hosts if host}


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.split("%")[0])
    except ValueError:
        return False
    return True


def _mark_private(keys: Any) -> set[str]:
    """Set each private target's `target_address` to "[scrubbed]", rename an id that spells
    its address, and return the hosts (addresses or names) to scrub everywhere."""
    targets = keys.get("targets") if isinstance(keys, dict) else None
    entries = targets.items() if isinstance(targets, dict) else enumerate(targets or ())
    hosts: set[str] = set()
    renamed: dict[Any, str] = {}
    for key, target in list(entries):
        if isinstance(target, dict) and target.get("target_source"):
            found = _hosts_of(target)
            hosts |= found
            target["target_address"] = REPLACEMENT
            if isinstance(key, str) and any(host in key for host in found):
                # Salted at random: an unsalted hash of "ip:port" is undone by trying all
                # 2^48 of them, where OONI's also hashes the bridge's secret fingerprint.
                renamed[key] = hashlib.sha256(secrets.token_bytes(32) + key.encode()).hexdigest()
    if isinstance(targets, dict) and renamed:
        keys["targets"] = {renamed.get(k, k): v for k, v in targets.items()}
    return hosts


def _scrub(data: bytes, hosts: set[str]) -> bytes:
    ips = sorted(host for host in hosts if _is_ip(host))
    if ips:  # `lab`: scrub them even when loopback (a lab's or a test's bridge)
        networks = [ipaddress.ip_network(ip.split("%")[0]) for ip in ips]
        data = Scrubber(ips, lab=networks).json(data)
    for name in sorted((h for h in hosts if not _is_ip(h)), key=len, reverse=True):
        data = data.replace(name.encode(), REPLACEMENT.encode())  # a bridge given by name
    return data


def scrub_tor_keys(keys: Any) -> Any:
    """`tor` test keys (plain JSON values, changed in place) with every private bridge's
    address scrubbed."""
    hosts = _mark_private(keys)
    return msgspec.json.decode(_scrub(msgspec.json.encode(keys), hosts)) if hosts else keys


def scrub_private_bridges(raw: bytes) -> bytes:
    """A measurement's JSON with its private bridges' addresses scrubbed from all of it;
    anything that is not a `tor` measurement with a private target comes back unchanged."""
    if b"target_source" not in raw:
        return raw  # cheap: no tor measurement names a source without this key
    try:
        doc = msgspec.json.decode(raw)
    except msgspec.DecodeError:
        return raw  # the reader reports what is wrong with it
    if not isinstance(doc, dict) or doc.get("test_name") != "tor":
        return raw
    hosts = _mark_private(doc.get("test_keys"))
    if not hosts:
        return raw
    return _scrub(msgspec.json.encode(doc), hosts)


def log_name(address: str, source: str | None) -> str:
    """How a log line may name a target: a private bridge never by its address."""
    return REPLACEMENT if source else address
