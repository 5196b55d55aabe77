"""A guard in the test process: no socket of ours reaches past loopback.

The rule (DEVELOPERS.md, non-negotiable 3) is that tests send nothing anywhere but loopback
and the namespaces a test creates; in issue 13 one test run broke it (a Tor test measured the
real directory authorities, docs/design/010-nettests.md "Traffic"). Review and per-test
asserts catch such a bug after the fact; this refuses it as it happens. Every IPv4/IPv6
`connect`, `connect_ex`, `sendto` and `sendmsg` of this process, and every name lookup, is
checked: loopback and unspecified addresses and numeric or `localhost` names pass; anything
else raises :class:`NetworkEscape`, which is not an OSError, so no code under test can take it
for a network failure and turn it into data. Subprocesses are not covered: the ones that
could reach out (tor, snowflake) run in a network namespace the test creates.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable
from typing import Any

__all__ = ["NetworkEscape", "install"]

_INET = (socket.AF_INET, socket.AF_INET6)


class NetworkEscape(AssertionError):
    """A test tried to send to an address that is not loopback."""


def _local_host(host: object) -> bool:
    if host is None:
        return True
    if isinstance(host, bytes):
        host = host.decode("ascii", "replace")
    text = str(host).split("%", 1)[0]  # an IPv6 zone
    if text.lower() in ("localhost", "") or text.lower().endswith(".localhost"):
        return True
    try:
        ip = ipaddress.ip_address(text)
    except ValueError:
        return False  # a name: resolving it would ask the system's resolver
    mapped = ip.ipv4_mapped if isinstance(ip, ipaddress.IPv6Address) else None
    return (mapped or ip).is_loopback or (mapped or ip).is_unspecified


def _check(family: int, address: Any) -> None:
    if family in _INET and isinstance(address, tuple) and not _local_host(address[0]):
        raise NetworkEscape(f"a test sent to {address[0]!r}, which is not loopback")


def _guard_address(method: Callable[..., Any], position: int) -> Callable[..., Any]:
    def guarded(self: socket.socket, *args: Any) -> Any:
        if len(args) > position:
            _check(self.family, args[position])
        return method(self, *args)

    return guarded


def install() -> None:
    """Guard this process's sockets and name lookups (idempotent)."""
    if getattr(socket.socket.connect, "_netguard", False):
        return
    for name, position in (("connect", 0), ("connect_ex", 0), ("sendto", 1)):
        guarded = _guard_address(getattr(socket.socket, name), position)
        guarded._netguard = True  # type: ignore[attr-defined]
        setattr(socket.socket, name, guarded)
    real_sendmsg = socket.socket.sendmsg

    def sendmsg(self: socket.socket, buffers: Any, *rest: Any) -> int:
        if len(rest) >= 3:
            _check(self.family, rest[2])
        return real_sendmsg(self, buffers, *rest)

    socket.socket.sendmsg = sendmsg  # type: ignore[method-assign,assignment]
    real_getaddrinfo = socket.getaddrinfo

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if not _local_host(host):
            raise NetworkEscape(f"a test looked up {host!r} in the system's resolver")
        return real_getaddrinfo(host, *args, **kwargs)

    socket.getaddrinfo = getaddrinfo
