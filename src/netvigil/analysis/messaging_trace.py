"""Following one urlgetter target (a URL, or host:port) through its recorded steps.

The messaging nettests run OONI's urlgetter once per target and append every step to shared
lists (ooni/probe-cli internal/experiment/{signal,telegram,whatsapp,fbmessenger}: `Update`
appends `queries`, `tcp_connect`, `tls_handshakes`, `requests`). To say *where* a target
failed we find its steps again: the lookups of its host, the connects to the addresses they
returned on its port, the handshakes with its name, and its HTTP transaction. Steps that
carry a `transaction_id` (our probe's) are matched by it; OONI's Go probe writes none, so
those are matched by address and name. A layer failed when it has steps and none of them
worked (urlgetter tries the addresses in turn); the target failed at the earliest such layer.
When the steps of the failing layer are missing (an old probe), the failure string's kind
names the layer (df-007: a DNS error, a certificate error, a refused connect).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final
from urllib.parse import urlsplit

from netvigil.addresses import parse_ip
from netvigil.analysis.verdicts import LAYER_ORDER, Layer, Witness
from netvigil.failures import FailureKind, kind_of
from netvigil.records.base import text_of
from netvigil.records.messaging import URLGetterKeys
from netvigil.records.templates import HTTPTransaction

_DNS_KINDS = {
    FailureKind.NXDOMAIN,
    FailureKind.NO_ANSWER,
    FailureKind.DNS_REFUSED,
    FailureKind.DNS_SERVER_ERROR,
    FailureKind.DNS_BOGON,
}
_TLS_KINDS = {FailureKind.TLS_CERTIFICATE, FailureKind.TLS_OTHER}
_TCP_KINDS = {FailureKind.REFUSED, FailureKind.UNREACHABLE}


@dataclass(frozen=True)
class Step:
    """One recorded observation of a target: its layer, where it is, what it says."""

    layer: Layer
    ref: str  # e.g. "test_keys.tcp_connect[3]"
    failure: str | None
    seen: str  # what worked, when it did ("HTTP 404", "connected", "A 1.2.3.4")

    def witness(self, note: str = "") -> Witness:
        observed = self.failure or self.seen
        return Witness(ref=self.ref, observed=f"{observed}{note}")


@dataclass(frozen=True)
class Target:
    name: str
    steps: tuple[Step, ...]

    def at(self, layer: Layer) -> tuple[Step, ...]:
        return tuple(s for s in self.steps if s.layer is layer)

    def failure(self) -> tuple[Layer, tuple[Step, ...]] | None:
        """The earliest layer whose steps all failed, with those steps."""
        for layer in LAYER_ORDER:
            steps = self.at(layer)
            if steps and all(s.failure for s in steps):
                return layer, steps
        return None

    def passed(self, layer: Layer) -> bool:
        return any(not s.failure for s in self.at(layer))

    def answered(self) -> bool:
        """The server sent an HTTP response (any status: OONI's `FailOnHTTPError` is off)."""
        return self.failure() is None and self.passed(Layer.HTTP)


def host_port(url: str) -> tuple[str, int]:
    """Host and port of a URL (`http://149.154.175.50:443/`) or of `host:port`."""
    parts = urlsplit(url if "//" in url else f"//{url}")
    default = 443 if parts.scheme == "https" else 80
    try:
        port = parts.port or default
    except ValueError:
        port = default
    return (parts.hostname or "").lower(), port


def request_host(request: HTTPTransaction) -> str:
    """The host a transaction went to: its URL's, else its `Host` header's (Measurement
    Kit's telegram 0.0.3 wrote no URL; shared/corpus .../telegram_nourl.json)."""
    if request.request.url:
        return host_port(request.request.url)[0]
    headers = request.request.headers or {}
    host = next((text_of(v) for k, v in headers.items() if k.lower() == "host"), "")
    return host_port(host)[0] if host else ""


def _response_seen(request: HTTPTransaction) -> str:
    response = request.response
    if response is None:
        return "no response"
    if response.code:
        return f"HTTP {response.code}"
    return "HTTP response" if response.headers else "no response"


def trace(keys: URLGetterKeys, url: str, index: int | None) -> Target:
    """The steps of the target `url`; `index` is its transaction in `requests`, if any."""
    host, port = host_port(url)
    literal = parse_ip(host) is not None
    request = (keys.requests or [])[index] if index is not None else None
    transaction = request.transaction_id if request is not None else 0
    steps: list[Step] = []
    addresses: set[str] = {host} if literal else set()
    for i, query in enumerate(keys.queries or ()):
        if literal or query.hostname.lower() != host:
            continue
        found = [
            a.ipv4 or a.ipv6 or "" for a in query.answers or () if a.answer_type in ("A", "AAAA")
        ]
        addresses.update(found)
        failure = query.failure or (None if found else "dns_no_answer")
        steps.append(Step(Layer.DNS, f"test_keys.queries[{i}]", failure, " ".join(found)))
    for i, tcp in enumerate(keys.tcp_connect or ()):
        mine = (
            tcp.transaction_id == transaction
            if transaction
            else (tcp.port == port and tcp.ip in addresses)
        )
        if mine:
            failure = None if tcp.status.success else (tcp.status.failure or "connect failed")
            steps.append(Step(Layer.TCP, f"test_keys.tcp_connect[{i}]", failure, "connected"))
    for i, tls in enumerate(keys.tls_handshakes or ()):
        if transaction:
            mine = tls.transaction_id == transaction
        else:
            where = host_port(tls.address) if tls.address else None
            mine = (
                url.startswith("https://")
                and (tls.server_name or "").lower() == host
                and (where is None or (where[0] in addresses and where[1] == port))
            )
        if mine:
            steps.append(
                Step(Layer.TLS, f"test_keys.tls_handshakes[{i}]", tls.failure, "handshake done")
            )
    if request is not None:
        ref = f"test_keys.requests[{index}]"
        layer = Layer.HTTP
        failure = request.failure
        if failure and not any(s.failure for s in steps):
            layer = _layer_of_failure(failure, {s.layer for s in steps})
        steps.append(Step(layer, ref, failure, _response_seen(request)))
    return Target(url, tuple(steps))


def _layer_of_failure(failure: str, recorded: set[Layer]) -> Layer:
    """The layer a transaction's failure belongs to when no step of that layer was kept."""
    kind = kind_of(failure)
    if kind in _DNS_KINDS and Layer.DNS not in recorded:
        return Layer.DNS
    if kind in _TLS_KINDS and Layer.TLS not in recorded:
        return Layer.TLS
    if kind in _TCP_KINDS and Layer.TCP not in recorded:
        return Layer.TCP
    return Layer.HTTP


# The messaging family's techniques: `<layer>_<how>`, spelled as web_connectivity's rules
# spell theirs (web_rules.TECHNIQUES), so `technique=tcp_reset` finds both; plus the answers
# outside Facebook's AS (messaging_facebook.py). Any other failure kind is `<layer>_failure`.
_HOW = ("timeout", "reset", "refused", "eof", "unreachable", "failure")
_DNS_HOW = ("nxdomain", "no_answer", "refused", "servfail", "timeout", "bogon", "failure")
TECHNIQUES: Final = frozenset(
    {
        *(f"dns_{how}" for how in (*_DNS_HOW, "inconsistent")),
        *(f"{layer}_{how}" for layer in ("tcp", "tls", "http") for how in _HOW),
        "tls_mitm_certificate",
    }
)
_SPELLED = {  # a failure kind whose word differs from its value
    FailureKind.DNS_REFUSED: "refused",
    FailureKind.DNS_SERVER_ERROR: "servfail",
    FailureKind.DNS_BOGON: "bogon",
    FailureKind.TLS_CERTIFICATE: "mitm_certificate",
}


def technique(layer: Layer, failure: str | None) -> str:
    """`<layer>_<how>` as the web_connectivity rules name it (tcp_timeout, dns_nxdomain,
    dns_servfail); a kind the layer has no word for is `<layer>_failure`."""
    kind = kind_of(failure)
    name = f"{layer.value}_{_SPELLED.get(kind, kind.value)}"
    return name if name in TECHNIQUES else f"{layer.value}_failure"
