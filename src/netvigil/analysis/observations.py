"""Web observations: one flat record per DNS answer and per endpoint, with its control.

Theory of operation. A web_connectivity measurement is a set of traces (DNS lookups, TCP
connects, TLS handshakes, HTTP round trips) joined by `transaction_id`. Analysis is easier
over flat records: one :class:`Observation` per resolved address of each successful lookup,
one per failed lookup, and one per TCP endpoint carrying the furthest step reached on it
(TCP, then TLS, then HTTP share the endpoint's transaction id). Each record is then
cross-referenced with the test helper's view of the same thing.

This follows the model of OONI's minipipeline (ooni/probe-cli:internal/minipipeline,
observation.go `IngestWebMeasurement`, `IngestControlMessages`) so that the classic verdict
keys come out exactly as OONI's v0.5 code computes them. ``failure`` fields follow its
convention: ``None`` = no data, ``""`` = success, anything else = the df-007 string.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import IntEnum
from typing import Any, NamedTuple

import msgspec

from netvigil.addresses import host_of, is_bogon, join_host_port
from netvigil.analysis.traces import (
    endpoint_tags,
    header_keys,
    header_value,
    is_final_status,
    tag_depth,
    title_of,
    utf8_len,
)
from netvigil.records import (
    ControlHTTPRequest,
    ControlResponse,
    HTTPResponse,
    WebConnectivityKeys,
    answer_addresses,
    bytes_of,
    text_of,
)


class Kind(IntEnum):
    """Observation kinds, ordered by how far a connection got (the order matters)."""

    DNS = 0
    TCP = 1
    TLS = 2
    HTTP = 3


ORIGIN_DNS = "dns"
ORIGIN_TH = "th"


class Observation(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    kind: Kind
    failure: str | None
    transaction_id: int
    depth: int | None = None
    fetch_body: bool | None = None
    # The DNS lookup this observation comes from (for endpoints: the lookup that found the IP).
    dns_transaction_id: int | None = None
    dns_domain: str | None = None
    dns_failure: str | None = None
    dns_query_type: str | None = None
    dns_engine: str | None = None
    dns_addrs: frozenset[str] | None = None
    ip_origin: str | None = None
    ip: str | None = None
    ip_asn: int | None = None
    ip_bogon: bool | None = None
    # The endpoint.
    port: int | None = None
    endpoint: str | None = None
    tcp_failure: str | None = None
    tls_failure: str | None = None
    tls_server_name: str | None = None
    http_url: str | None = None
    http_failure: str | None = None
    http_status: int | None = None
    http_body_length: int | None = None
    http_body_truncated: bool | None = None
    http_header_keys: frozenset[str] | None = None
    http_location: str | None = None
    http_title: str | None = None
    http_final: bool | None = None
    # What the test helper saw.
    ctrl_dns_domain: str | None = None
    ctrl_dns_failure: str | None = None
    ctrl_dns_addrs: frozenset[str] | None = None
    ctrl_tcp_failure: str | None = None
    ctrl_tls_failure: str | None = None
    ctrl_http_failure: str | None = None
    ctrl_http_status: int | None = None
    ctrl_http_body_length: int | None = None
    ctrl_http_header_keys: frozenset[str] | None = None
    ctrl_http_title: str | None = None


class WebObservations(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    dns_failures: tuple[Observation, ...]
    dns_successes: tuple[Observation, ...]
    endpoints: tuple[Observation, ...]
    # The control's expectations: None when there was no control.
    ctrl_dns_addrs: frozenset[str] | None
    ctrl_http_failure: str | None


class _Lookup(NamedTuple):
    """The first successful lookup that returned an address (observation.go knownIPAddresses)."""

    transaction_id: int
    domain: str
    addrs: frozenset[str]


def observe(
    keys: WebConnectivityKeys, asns: Mapping[str, int], *, full: bool = True
) -> WebObservations:
    """Flatten a measurement's traces into observations cross-referenced with the control.

    With ``full=False`` only what the layered verdict reads is built: endpoint observations
    without the HTTP response details (it reads lookups and responses directly), which
    saves most of the work on a hot path.
    """
    request, control = keys.x_control_request, keys.control
    has_control = request is not None and control is not None
    ctrl = control if control is not None and has_control else ControlResponse()
    domain = host_of(request.http_request) if request is not None else ""
    # A missing `dns`/`http_request` in the control reads as Go's zero value: no failure.
    ctrl_dns = ctrl.dns
    ctrl_dns_failure = (ctrl_dns.failure or "") if ctrl_dns is not None else ""
    ctrl_dns_addrs = frozenset((ctrl_dns.addrs or ()) if ctrl_dns is not None else ())
    ctrl_http = ctrl.http_request if ctrl.http_request is not None else ControlHTTPRequest()
    http_ctrl = _control_http_fields(ctrl_http) if has_control and full else {}

    def dns_control(lookup_domain: str) -> dict[str, Any]:
        if not has_control or lookup_domain != domain:
            return {}
        return {
            "ctrl_dns_domain": domain,
            "ctrl_dns_failure": ctrl_dns_failure,
            "ctrl_dns_addrs": None if ctrl_dns_failure else ctrl_dns_addrs,
        }

    failures: list[Observation] = []
    successes: list[Observation] = []
    known: dict[str, _Lookup] = {}
    for query in keys.queries or ():
        addrs = answer_addresses(query.answers)
        if query.failure is None and addrs:
            entry = _Lookup(query.transaction_id, query.hostname, addrs)
            for address in addrs:
                known.setdefault(address, entry)
        if not full:
            continue
        common: dict[str, Any] = {
            "transaction_id": query.transaction_id,
            "depth": tag_depth(query.tags),
            "dns_transaction_id": query.transaction_id,
            "dns_domain": query.hostname,
            "dns_query_type": query.query_type,
            "dns_engine": query.engine,
            **dns_control(query.hostname),
            **http_ctrl,
        }
        if query.failure is not None:
            failures.append(
                Observation(
                    kind=Kind.DNS, failure=query.failure, dns_failure=query.failure, **common
                )
            )
            continue
        successes.extend(
            Observation(
                kind=Kind.DNS,
                failure="",
                dns_failure="",
                dns_addrs=addrs,
                ip_origin=ORIGIN_DNS,
                ip=address,
                ip_asn=asns.get(address),
                ip_bogon=is_bogon(address),
                **common,
            )
            for address in sorted(addrs)
        )

    # Legacy probes write no transaction ids: their steps cannot be joined (see evidence.py).
    tls_by_tx = {t.transaction_id: t for t in keys.tls_handshakes or () if t.transaction_id}
    http_by_tx = {h.transaction_id: h for h in keys.requests or () if h.transaction_id}
    endpoints: dict[int, Observation] = {}
    ctrl_tcp = ctrl.tcp_connect or {} if has_control else {}
    ctrl_tls = ctrl.tls_handshake or {} if has_control else {}
    for position, tcp in enumerate(keys.tcp_connect or ()):
        ip = tcp.ip
        found = known.get(ip)
        origin = ORIGIN_DNS if found is not None else None
        lookup = found.domain if found is not None else None
        c_domain = c_failure = c_addrs = None
        if has_control:
            if not lookup and ip in ctrl_dns_addrs:
                origin = ORIGIN_TH  # only the test helper knew this address
                c_domain, c_failure, c_addrs = domain, ctrl_dns_failure, ctrl_dns_addrs
            elif lookup and lookup == domain:
                c_domain, c_failure = domain, ctrl_dns_failure
                c_addrs = None if ctrl_dns_failure else ctrl_dns_addrs
        endpoint = join_host_port(ip, tcp.port)
        depth, fetch_body = endpoint_tags(tcp.tags)
        tcp_failure = tcp.status.failure or ""
        tcp_ctrl = ctrl_tcp.get(endpoint)
        tls = tls_by_tx.get(tcp.transaction_id)
        tls_failure = server_name = ctrl_tls_failure = None
        if tls is not None:
            tls_failure, server_name = tls.failure or "", tls.server_name or ""
            tls_ctrl = ctrl_tls.get(endpoint)
            if tls_ctrl is not None and (tls_ctrl.server_name or "") == server_name:
                ctrl_tls_failure = tls_ctrl.failure or ""
        http = http_by_tx.get(tcp.transaction_id)
        http_failure = None if http is None else http.failure or ""
        if http_failure is not None:
            kind, failure = Kind.HTTP, http_failure
        elif tls_failure is not None:
            kind, failure = Kind.TLS, tls_failure
        else:
            kind, failure = Kind.TCP, tcp_failure
        # What the layered verdict reads; the classic engine's extra fields follow below.
        obs = Observation(
            kind=kind,
            failure=failure,
            transaction_id=tcp.transaction_id,
            depth=depth,
            fetch_body=fetch_body,
            dns_domain=lookup,
            ip_origin=origin,
            ip=ip,
            port=tcp.port,
            endpoint=endpoint,
            tcp_failure=tcp_failure,
            tls_failure=tls_failure,
            tls_server_name=server_name,
            http_failure=http_failure,
            ctrl_tcp_failure=(tcp_ctrl.failure or "") if tcp_ctrl is not None else None,
            ctrl_tls_failure=ctrl_tls_failure,
        )
        if full:
            details: dict[str, Any] = {
                "dns_transaction_id": found.transaction_id if found is not None else None,
                "dns_failure": "" if found is not None else None,
                "dns_addrs": found.addrs if found is not None else None,
                "ip_asn": asns.get(ip),
                "ip_bogon": is_bogon(ip),
                "http_url": http.request.url if http is not None else None,
                "ctrl_dns_domain": c_domain,
                "ctrl_dns_failure": c_failure,
                "ctrl_dns_addrs": c_addrs,
                **http_ctrl,
            }
            if http is not None and http.failure is None and http.response is not None:
                details.update(_response_fields(http.response))
            obs = msgspec.structs.replace(obs, **details)
        endpoints[tcp.transaction_id or -1 - position] = obs
    return WebObservations(
        dns_failures=tuple(failures),
        dns_successes=tuple(successes),
        endpoints=tuple(endpoints.values()),
        ctrl_dns_addrs=ctrl_dns_addrs if has_control else None,
        ctrl_http_failure=(ctrl_http.failure or "") if has_control else None,
    )


def _control_http_fields(ctrl_http: ControlHTTPRequest) -> dict[str, Any]:
    failure = ctrl_http.failure or ""
    if failure:
        return {"ctrl_http_failure": failure}
    return {
        "ctrl_http_failure": "",
        "ctrl_http_status": ctrl_http.status_code or 0,
        "ctrl_http_body_length": ctrl_http.body_length or 0,
        "ctrl_http_header_keys": header_keys(ctrl_http.headers),
        "ctrl_http_title": ctrl_http.title or "",
    }


def _response_fields(response: HTTPResponse) -> dict[str, Any]:
    body = response.body
    code = response.code or 0
    return {
        "http_status": code,
        "http_body_length": utf8_len(body) if isinstance(body, str) else len(bytes_of(body)),
        "http_body_truncated": bool(response.body_is_truncated),
        "http_header_keys": header_keys(response.headers),
        "http_location": header_value(response.headers, "location"),
        "http_title": title_of(text_of(body)),
        "http_final": is_final_status(code),
    }
