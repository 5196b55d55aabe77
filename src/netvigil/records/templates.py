"""Test-template records: df-001 httpt, df-002 dnst, df-005 tcpconnect, df-006
tlshandshake and df-008 netevents (ooni/spec:data-formats; ooni.md §3.2)."""

from __future__ import annotations

from typing import Annotated

import msgspec

from netvigil.records.base import BinaryData, HeaderValue, MaybeBinary, Record

# An AS number is 32 bits (RFC 6793); a larger one is no network, and would not fit a table.
ASNumber = Annotated[int, msgspec.Meta(ge=0, le=2**32 - 1)]

# --- df-002 dnst ---------------------------------------------------------------------


class DNSAnswer(Record, frozen=True):
    answer_type: str = ""
    ipv4: str | None = None
    ipv6: str | None = None
    hostname: str | None = None
    ttl: int | None = None
    asn: ASNumber | None = None
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


class TorInfo(Record, frozen=True):
    """df-001 `request.tor`: whether the request went through Tor (never, for our probe);
    the Twisted probe wrote `false` for the exit it did not use (http_header_field_manipulation)."""

    exit_ip: str | bool | None = None
    exit_name: str | bool | None = None
    is_tor: bool = False


class HTTPRequest(Record, frozen=True):
    url: str = ""
    method: str | None = None
    headers: dict[str, HeaderValue] | None = None
    headers_list: list[list[MaybeBinary]] | None = None
    body: MaybeBinary | None = None
    body_is_truncated: bool | None = None
    tor: TorInfo | None = None
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
