"""Typed, frozen records for OONI's data format (ooni/spec:data-formats).

The envelope is df-000-base; `web_connectivity` test keys are built from the templates
df-001-httpt (`requests`), df-002-dnst (`queries`), df-005-tcpconnect (`tcp_connect`),
df-006-tlshandshake (`tls_handshakes`), df-008-netevents (`network_events`) plus the test
helper's `control` object (ooni.md §2). Values that are not valid UTF-8 are stored as
``{"format": "base64", "data": ...}`` (MaybeBinaryData), modelled by :class:`BinaryData`.

Why the types are this loose: the archive mixes Measurement Kit and Go probes from
test_version 0.0.1 to 0.5.28, and df-000 says consumers MUST tolerate null or missing keys.
Every field therefore has a default, and unions admit the shapes seen in the real corpus
(``shared/corpus/ooni-measurements``). Unknown keys are ignored for web_connectivity; the
envelope keeps ``test_keys`` as raw JSON so other nettests lose nothing (see
:meth:`Measurement.test_keys_object`).
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

import msgspec


class Record(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """Base of every record: immutable, keyword-only, no GC tracking (no cycles)."""


class BinaryData(Record, frozen=True):
    """df-000 MaybeBinaryData: a value that was not valid UTF-8."""

    format: str = "base64"
    data: str = ""

    def to_bytes(self) -> bytes:
        try:
            return base64.b64decode(self.data, validate=False)
        except (binascii.Error, ValueError):
            return b""


MaybeBinary = str | BinaryData
HeaderValue = str | BinaryData | list[MaybeBinary]


def text_of(value: MaybeBinary | list[MaybeBinary] | None) -> str:
    """The text of a maybe-binary value (bytes decoded as UTF-8, errors replaced)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, BinaryData):
        return value.to_bytes().decode("utf-8", errors="replace")
    return text_of(value[0]) if value else ""


def bytes_of(value: MaybeBinary | None) -> bytes:
    """The bytes of a maybe-binary value as the probe received them."""
    if value is None:
        return b""
    if isinstance(value, str):
        return value.encode("utf-8", errors="surrogatepass")
    return value.to_bytes()


# --- df-002 dnst ---------------------------------------------------------------------


class DNSAnswer(Record, frozen=True):
    answer_type: str = ""
    ipv4: str | None = None
    ipv6: str | None = None
    hostname: str | None = None
    ttl: int | None = None
    asn: int | None = None
    as_org_name: str | None = None

    @property
    def address(self) -> str | None:
        """The IP address this answer carries (A or AAAA), if any."""
        if self.answer_type == "A":
            return self.ipv4
        if self.answer_type == "AAAA":
            return self.ipv6
        return None


def answer_addresses(answers: list[DNSAnswer] | None) -> frozenset[str]:
    """The A and AAAA addresses among answers (minipipeline utilsResolvedAddresses)."""
    found = []
    for answer in answers or ():
        kind = answer.answer_type
        if kind == "A" and answer.ipv4:
            found.append(answer.ipv4)
        elif kind == "AAAA" and answer.ipv6:
            found.append(answer.ipv6)
    return frozenset(found)


class DNSQuery(Record, frozen=True):
    answers: list[DNSAnswer] | None = None
    engine: str = ""
    failure: str | None = None
    hostname: str = ""
    query_type: str = ""
    resolver_address: str | None = None
    resolver_hostname: str | None = None
    resolver_port: str | None = None
    raw_response: str | None = None
    rcode: int | None = None
    getaddrinfo_error: int | None = None
    t0: float | None = None
    t: float | None = None
    tags: list[str] | None = None
    transaction_id: int = 0


# --- df-005 tcpconnect ----------------------------------------------------------------


class TCPStatus(Record, frozen=True):
    success: bool | None = None
    failure: str | None = None
    blocked: bool | None = None  # deprecated, Measurement Kit era


class TCPConnect(Record, frozen=True):
    ip: str = ""
    port: int = 0
    status: TCPStatus = TCPStatus()
    t0: float | None = None
    t: float | None = None
    tags: list[str] | None = None
    transaction_id: int = 0


# --- df-006 tlshandshake ---------------------------------------------------------------


class TLSHandshake(Record, frozen=True):
    network: str | None = None
    address: str = ""
    server_name: str | None = None
    outer_server_name: str | None = None
    cipher_suite: str | None = None
    tls_version: str | None = None
    negotiated_protocol: str | None = None
    no_tls_verify: bool | None = None
    peer_certificates: list[BinaryData] | None = None
    failure: str | None = None
    so_error: str | None = None
    t0: float | None = None
    t: float | None = None
    tags: list[str] | None = None
    transaction_id: int = 0


# --- df-001 httpt ----------------------------------------------------------------------


class HTTPRequest(Record, frozen=True):
    url: str = ""
    method: str | None = None
    headers: dict[str, HeaderValue] | None = None
    headers_list: list[list[MaybeBinary]] | None = None
    body: MaybeBinary | None = None
    body_is_truncated: bool | None = None
    x_transport: str | None = None


class HTTPResponse(Record, frozen=True):
    code: int | None = None
    headers: dict[str, HeaderValue] | None = None
    headers_list: list[list[MaybeBinary]] | None = None
    body: MaybeBinary | None = None
    body_is_truncated: bool | None = None


class HTTPTransaction(Record, frozen=True):
    network: str | None = None
    address: str | None = None
    alpn: str | None = None
    failure: str | None = None
    request: HTTPRequest = HTTPRequest()
    response: HTTPResponse | None = None
    t0: float | None = None
    t: float | None = None
    tags: list[str] | None = None
    transaction_id: int = 0


# --- df-008 netevents -------------------------------------------------------------------


class NetworkEvent(Record, frozen=True):
    operation: str = ""
    address: str | None = None
    proto: str | None = None
    num_bytes: int | None = None
    failure: str | None = None
    t0: float | None = None
    t: float | None = None
    tags: list[str] | None = None
    transaction_id: int = 0


# --- the test helper's control (ooni.md §2, THRequest / THResponse) ----------------------


class ControlTCPConnect(Record, frozen=True):
    status: bool | None = None
    failure: str | None = None


class ControlTLSHandshake(Record, frozen=True):
    server_name: str | None = None
    status: bool | None = None
    failure: str | None = None


class ControlHTTPRequest(Record, frozen=True):
    body_length: int | None = None
    failure: str | None = None
    title: str | None = None
    headers: dict[str, HeaderValue] | None = None
    status_code: int | None = None
    discovered_h3_endpoint: str | None = None


class ControlDNS(Record, frozen=True):
    failure: str | None = None
    addrs: list[str] | None = None


class ControlIPInfo(Record, frozen=True):
    asn: int | None = None
    flags: int | None = None


class ControlResponse(Record, frozen=True):
    tcp_connect: dict[str, ControlTCPConnect] | None = None
    tls_handshake: dict[str, ControlTLSHandshake] | None = None
    quic_handshake: dict[str, ControlTLSHandshake] | None = None
    http_request: ControlHTTPRequest | None = None
    http3_request: ControlHTTPRequest | None = None
    dns: ControlDNS | None = None
    ip_info: dict[str, ControlIPInfo] | None = None


class ControlRequest(Record, frozen=True):
    http_request: str = ""
    http_request_headers: dict[str, list[str]] | None = None
    tcp_connect: list[str] | None = None
    x_quic_enabled: bool | None = None


# --- web_connectivity (ts-017) -----------------------------------------------------------


class SecondaryTrace(Record, frozen=True):
    """`x_doh` / `x_do53`: the traces of extra resolvers, kept apart from the classic ones."""

    queries: list[DNSQuery] | None = None
    network_events: list[NetworkEvent] | None = None
    tcp_connect: list[TCPConnect] | None = None
    tls_handshakes: list[TLSHandshake] | None = None
    requests: list[HTTPTransaction] | None = None


class WebConnectivityKeys(Record, frozen=True):
    # Observations.
    queries: list[DNSQuery] | None = None
    tcp_connect: list[TCPConnect] | None = None
    tls_handshakes: list[TLSHandshake] | None = None
    requests: list[HTTPTransaction] | None = None
    network_events: list[NetworkEvent] | None = None
    x_dns_duplicate_responses: list[DNSQuery] | None = None
    x_doh: SecondaryTrace | None = None
    x_do53: SecondaryTrace | None = None
    client_resolver: str | None = None
    agent: str | None = None
    retries: int | None = None
    # Control.
    x_control_request: ControlRequest | None = None
    control: ControlResponse | None = None
    control_failure: str | None = None
    # Failures summarised by the probe.
    dns_experiment_failure: str | None = None
    http_experiment_failure: str | None = None
    # The probe's own verdict keys (kept, never trusted: verdicts are recomputed).
    dns_consistency: str | None = None
    body_proportion: float | None = None
    body_length_match: bool | None = None
    headers_match: bool | None = None
    status_code_match: bool | None = None
    title_match: bool | None = None
    blocking: str | bool | None = None
    accessible: bool | None = None
    x_blocking_flags: int | None = None
    x_dns_flags: int | None = None
    x_null_null_flags: int | None = None


# --- df-000 envelope ----------------------------------------------------------------------


class Measurement(Record, frozen=True):
    test_name: str = ""
    test_version: str = ""
    input: str | list[str] | None = None
    measurement_start_time: str | None = None
    test_start_time: str | None = None
    test_runtime: float | None = None
    probe_asn: str | None = None
    probe_cc: str | None = None
    probe_network_name: str | None = None
    probe_ip: str | None = None
    resolver_asn: str | None = None
    resolver_ip: str | None = None
    resolver_network_name: str | None = None
    report_id: str | None = None
    software_name: str | None = None
    software_version: str | None = None
    data_format_version: str | None = None
    annotations: dict[str, Any] | None = None
    extensions: dict[str, Any] | None = None
    test_helpers: dict[str, Any] | None = None
    measurement_uid: str | None = None
    test_keys: msgspec.Raw = msgspec.Raw(b"null")

    def test_keys_object(self) -> Any:
        """The test keys as plain JSON values, whatever the nettest (nothing is lost)."""
        return msgspec.json.decode(self.test_keys)

    @property
    def url(self) -> str:
        return self.input if isinstance(self.input, str) else ""


_MEASUREMENT = msgspec.json.Decoder(Measurement)
_WEB_KEYS = msgspec.json.Decoder(WebConnectivityKeys | None)


class MeasurementFormatError(ValueError):
    """The bytes are not a measurement in OONI's data format."""


def decode_measurement(data: bytes | str) -> Measurement:
    """Decode one JSON measurement; raises :class:`MeasurementFormatError`."""
    try:
        return _MEASUREMENT.decode(data)
    except msgspec.DecodeError as exc:
        raise MeasurementFormatError(str(exc)) from None


def web_connectivity_keys(measurement: Measurement) -> WebConnectivityKeys | None:
    """Decode the typed web_connectivity test keys (``None`` when the probe wrote none)."""
    try:
        keys: WebConnectivityKeys | None = _WEB_KEYS.decode(measurement.test_keys)
    except msgspec.DecodeError as exc:
        raise MeasurementFormatError(f"test_keys: {exc}") from None
    return keys
