"""What every nettest but web_connectivity is to the probe: a name, a version, endpoints.

A :class:`Nettest` measures one input (or none) and returns its test keys, the records the
steps produced (probe/recording.py's :class:`Trace`) in the shape of its ts-0xx spec; the
runner wraps them in the df-000 envelope (report.py `nettest_envelope`). A network failure
is data — a failure string of net/errors.py's vocabulary in the keys — never an exception;
only bugs raise.

Endpoints: every server a nettest contacts has OONI's real address as its default and can
be replaced with `--endpoint KEY=VALUE` (the tests and the lab host their own: no test
sends a packet anywhere but loopback). Values are kept as written and parsed by the nettest
that reads them (:meth:`Endpoints.values` with the nettest's parser: HOST:PORT, a URL, a
fingerprint, a word), so a value that does not parse is refused with a one-line
:class:`EndpointError` naming key and value. A nettest reads its endpoints through one
method that both `measure` and `check_endpoints` call: `probe run` checks every value before
anything is measured, and the check cannot disagree with the run.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal, Protocol, TypeVar
from urllib.parse import urlsplit

from netvigil.addresses import parse_ip
from netvigil.net.backend import Backend
from netvigil.probe.recording import Scrub, Trace, no_scrub
from netvigil.records import Record

_KEY = re.compile(r"[a-z][a-z0-9_.-]{0,39}")
_HOST = re.compile(r"(?=.{1,253}$)[A-Za-z0-9_]([A-Za-z0-9_-]{0,62})(\.[A-Za-z0-9_-]{1,63})*\.?")
MAX_ENDPOINTS = 256  # a list longer than any nettest's is a mistake, not a configuration
T = TypeVar("T")


class EndpointError(ValueError):
    """An --endpoint value that does not parse (the message is one line and names it)."""


def parse_host_port(value: str) -> tuple[str, int]:
    """HOST:PORT or [IPv6]:PORT; raises EndpointError."""
    host, sep, port = value.rpartition(":")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
        valid = parse_ip(host) is not None
    else:
        valid = bool(_HOST.fullmatch(host)) or parse_ip(host) is not None
    if not sep or not valid or not port.isdigit() or not 0 < int(port) < 65536:
        raise EndpointError(f"{value!r} is not HOST:PORT (e.g. 127.0.0.1:8443)")
    return host, int(port)


def parse_host(value: str) -> str:
    """A host name or an IP address (no port); raises EndpointError."""
    if not _HOST.fullmatch(value) and parse_ip(value) is None:
        raise EndpointError(f"{value!r} is not a host name or address")
    return value


def parse_url(value: str, schemes: Iterable[str] = ("http", "https")) -> str:
    """An absolute URL with one of `schemes` and a host; raises EndpointError."""
    allowed = tuple(schemes)
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError on a port that is not a number
    except ValueError:
        parts = None
    if parts is None or parts.scheme not in allowed or not parts.hostname:
        raise EndpointError(f"{value!r} is not a {'/'.join(allowed)} URL")
    return value


class Endpoints:
    """The endpoints given on the command line, by key; defaults come from each nettest."""

    def __init__(self, given: Mapping[str, tuple[str, ...]] | None = None) -> None:
        self._given = dict(given or {})

    @classmethod
    def parse(cls, items: Iterable[str]) -> Endpoints:
        """`KEY=VALUE` items (a key may repeat: its values form a list, in order)."""
        given: dict[str, list[str]] = {}
        for n, item in enumerate(items):
            key, sep, value = item.partition("=")
            key, value = key.strip(), value.strip()
            if not sep or not _KEY.fullmatch(key) or not value:
                raise EndpointError(f"--endpoint {item!r} is not KEY=VALUE (e.g. dc=127.0.0.1:443)")
            if n >= MAX_ENDPOINTS:
                raise EndpointError(f"more than {MAX_ENDPOINTS} --endpoint values")
            given.setdefault(key, []).append(value)
        return cls({key: tuple(values) for key, values in given.items()})

    def keys(self) -> frozenset[str]:
        return frozenset(self._given)

    def get(self, key: str, default: tuple[str, ...]) -> tuple[str, ...]:
        return self._given.get(key, default)

    def values(
        self, key: str, default: tuple[str, ...], parse: Callable[[str], T]
    ) -> tuple[T, ...]:
        """Every value of `key` (or the default) through `parse`; a value it refuses is an
        EndpointError naming the key and the value."""
        try:
            return tuple(parse(value) for value in self.get(key, default))
        except EndpointError as exc:
            raise EndpointError(f"--endpoint {key}: {exc}") from None

    def host_ports(self, key: str, default: tuple[str, ...]) -> tuple[tuple[str, int], ...]:
        return self.values(key, default, parse_host_port)

    def urls(
        self, key: str, default: tuple[str, ...], schemes: Iterable[str] = ("http", "https")
    ) -> tuple[str, ...]:
        allowed = tuple(schemes)
        return self.values(key, default, lambda value: parse_url(value, allowed))

    def only(self, keys: Iterable[str]) -> Endpoints:
        """The values of `keys` alone: what one nettest of a run of several is given."""
        wanted = frozenset(keys)
        return Endpoints({k: v for k, v in self._given.items() if k in wanted})

    def check(self, accepted: Iterable[str]) -> None:
        """Refuse keys the nettest does not take (a typo would otherwise measure the default)."""
        known = frozenset(accepted)
        unknown = sorted(self.keys() - known)
        if unknown:
            takes = ", ".join(sorted(known)) or "none"
            raise EndpointError(
                f"--endpoint key {unknown[0]!r} is not one this test takes ({takes})"
            )


@dataclass(frozen=True)
class Settings:
    """What every nettest may read besides its endpoints (timeouts in seconds)."""

    connect_timeout: float = 10.0
    tls_timeout: float = 10.0
    http_timeout: float = 15.0
    dns_timeout: float = 4.0
    # The roots TLS handshakes are verified against (None: the system's, or a nettest's own
    # pinned CA such as Signal's); tests pass the lab CA.
    ca_file: str | None = None
    tor_binary: str | None = None  # None: `tor` on PATH


@dataclass(frozen=True)
class Context:
    backend: Backend
    trace: Trace
    endpoints: Endpoints = field(default_factory=Endpoints)
    settings: Settings = field(default_factory=Settings)
    scrub: Scrub = no_scrub
    clock: Callable[[], float] = time.monotonic
    now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC)


class Nettest(Protocol):
    name: str  # OONI's test_name
    version: str  # the ts-0xx version whose keys we write
    input: Literal["none", "required", "optional"]
    endpoint_help: Mapping[str, str]  # key -> what it is and its default

    def check_endpoints(self, endpoints: Endpoints) -> None:
        """Refuse, before any measurement, a key this nettest does not take or a value it
        could not use (EndpointError, one line naming key and value)."""
        ...

    async def measure(self, input: str | None, ctx: Context) -> Record:
        """The test keys of one measurement (failures are data, not exceptions)."""
        ...
