"""Decoding a measurement's test keys into the model of :mod:`netvigil.analysis.model`.

One pass over each list of the test keys; the joins by `transaction_id` follow OONI's
minipipeline (observation.go `IngestWebMeasurement`, `IngestControlMessages`), so that the
classic keys come out exactly as OONI's v0.5 code computes them. Then the path (the system
resolver's lookups, the endpoints on their addresses, the page fetch) is picked out.
"""

from __future__ import annotations

from collections.abc import Sequence

import msgspec

from netvigil.addresses import REAL_WORLD, Bogons, host_of, join_host_port
from netvigil.analysis.model import (
    ORIGIN_DNS,
    ORIGIN_TH,
    Kind,
    Observed,
    ObservedControl,
    ObservedEndpoint,
    ObservedHTTP,
    ObservedLookup,
    classic_endpoints,
    system_lookups,
)
from netvigil.analysis.traces import ASNTable, endpoint_tags, tag_depth, title_of, utf8_len
from netvigil.records import (
    HTTPTransaction,
    TLSHandshake,
    WebConnectivityKeys,
    answer_addresses,
    bytes_of,
    text_of,
)


def observe_control(keys: WebConnectivityKeys, url: str) -> ObservedControl | None:
    """The test helper's answer, when it gave one the verdicts can compare with."""
    return _answer(keys, url) if _usable(keys) else None


def _usable(keys: WebConnectivityKeys) -> bool:
    ctrl = keys.control
    if ctrl is None or keys.control_failure:
        return False
    return ctrl.dns is not None or ctrl.http_request is not None


def _answer(keys: WebConnectivityKeys, url: str) -> ObservedControl | None:
    ctrl = keys.control
    if ctrl is None:
        return None
    request = keys.x_control_request
    http, dns = ctrl.http_request, ctrl.dns
    return ObservedControl(
        domain=host_of(request.http_request if request else url),
        dns_failure=dns.failure if dns else None,
        dns_addrs=frozenset((dns.addrs or ()) if dns else ()),
        http_answered=http is not None,
        http_failure=http.failure if http else None,
        http_status=(http.status_code or 0) if http else 0,
        http_body_length=(http.body_length or 0) if http else 0,
        http_title=(http.title or "") if http else "",
        http_headers=frozenset(http.headers or ()) if http else frozenset(),
        ip_flags={ip: info.flags or 0 for ip, info in (ctrl.ip_info or {}).items()},
    )


def observe(keys: WebConnectivityKeys, url: str, bogon: Bogons = REAL_WORLD) -> Observed:
    """The model of one measurement (`url` is its input; `bogon` says which addresses are)."""
    lookups = _lookups(keys)
    # No lookup or connect carries a `depth=` tag: a v0.4 or Measurement Kit probe.
    legacy = not any(lookup.tagged for lookup in lookups) and all(
        tag_depth(tcp.tags) is None for tcp in keys.tcp_connect or ()
    )
    answer = _answer(keys, url)
    # OONI's code compares an endpoint with any answer to a recorded request (has_control).
    th_answer = answer if keys.x_control_request is not None else None
    # Legacy probes write no transaction ids: their steps cannot be joined.
    tls_by_tx = {t.transaction_id: t for t in keys.tls_handshakes or () if t.transaction_id}
    requests = _requests(keys.requests or (), legacy, tls_by_tx)
    endpoints = _endpoints(keys, lookups, requests, th_answer, tls_by_tx)
    path = system_lookups(lookups, legacy)
    if legacy:
        on_path = tuple(msgspec.structs.replace(o, depth=0, fetch_body=True) for o in endpoints)
        extra: tuple[ObservedEndpoint, ...] = ()
        steps = tuple(reversed(requests))
    else:
        system = frozenset(ip for lookup in path if not lookup.failure for ip in lookup.addrs)
        on_path = classic_endpoints(endpoints, system)
        kept = {o.transaction_id for o in on_path}
        extra = tuple(o for o in endpoints if o.transaction_id not in kept)
        steps = tuple(
            step
            for step in reversed(requests)
            if step.transaction_id in kept and step.fetch_body is not False
        )
    return Observed(
        url=url,
        domain=host_of(url),
        legacy=legacy,
        all_lookups=lookups,
        all_endpoints=endpoints,
        requests=requests,
        lookups=path,
        endpoints=on_path,
        extra_endpoints=extra,
        http=steps,
        control=answer if _usable(keys) else None,  # what observe_control gives
        answer=answer,
        control_requested=keys.x_control_request is not None,
        control_failure=keys.control_failure,
        dns_experiment_failure=keys.dns_experiment_failure,
        asns=ASNTable(keys),
        bogon=bogon,
    )


def _lookups(keys: WebConnectivityKeys) -> tuple[ObservedLookup, ...]:
    return tuple(
        ObservedLookup(
            index=index,
            transaction_id=query.transaction_id,
            hostname=query.hostname,
            engine=query.engine,
            query_type=query.query_type,
            depth=depth or 0,
            tagged=depth is not None,
            failure=query.failure,
            addrs=answer_addresses(query.answers),
        )
        for index, query in enumerate(keys.queries or ())
        for depth in (tag_depth(query.tags),)
    )


def _requests(
    requests: Sequence[HTTPTransaction], legacy: bool, tls_by_tx: dict[int, TLSHandshake]
) -> tuple[ObservedHTTP, ...]:
    last = len(requests) - 1
    found = []
    for index, tx in enumerate(requests):
        depth, fetch_body = endpoint_tags(tx.tags)
        if legacy:  # the redirect chain, newest first; TLS shows only in the URL's scheme
            tls = tx.request.url.startswith("https://")
            found.append(_http(index, tx, last - index, fetch_body, tls))
        else:
            found.append(_http(index, tx, depth or 0, fetch_body, tx.transaction_id in tls_by_tx))
    return tuple(found)


def _http(
    index: int, tx: HTTPTransaction, depth: int, fetch_body: bool | None, tls: bool
) -> ObservedHTTP:
    response = tx.response
    raw = response.body if response is not None else None
    body = text_of(raw)
    names = (response.headers or {}) if response is not None else {}
    body_length = utf8_len(body)
    return ObservedHTTP(
        index=index,
        url=tx.request.url,
        depth=depth,
        transaction_id=tx.transaction_id,
        fetch_body=fetch_body,
        over_tls=tls,
        failure=tx.failure,
        responded=response is not None,
        status=(response.code or 0) if response is not None else 0,
        body=body,
        body_length=body_length,
        wire_length=body_length if isinstance(raw, str) else len(bytes_of(raw)),
        truncated=bool(response.body_is_truncated) if response is not None else False,
        # Most values are plain strings; only base64 and list values need text_of.
        headers={k.lower(): v if isinstance(v, str) else text_of(v) for k, v in names.items()},
        header_names=frozenset(names),
        title=title_of(body),
    )


def _endpoints(
    keys: WebConnectivityKeys,
    lookups: tuple[ObservedLookup, ...],
    requests: tuple[ObservedHTTP, ...],
    th_answer: ObservedControl | None,
    tls_by_tx: dict[int, TLSHandshake],
) -> tuple[ObservedEndpoint, ...]:
    # The first successful lookup that returned an address (observation.go knownIPAddresses).
    known: dict[str, ObservedLookup] = {}
    for lookup in lookups:
        if lookup.failure is None:
            for address in lookup.addrs:
                known.setdefault(address, lookup)
    ctrl = keys.control if th_answer is not None else None
    ctrl_tcp = (ctrl.tcp_connect or {}) if ctrl is not None else {}
    ctrl_tls = (ctrl.tls_handshake or {}) if ctrl is not None else {}
    http_by_tx = {h.transaction_id: h.index for h in requests if h.transaction_id}
    endpoints: dict[int, ObservedEndpoint] = {}
    for position, tcp in enumerate(keys.tcp_connect or ()):
        ip = tcp.ip
        found = known.get(ip)
        origin = ORIGIN_DNS if found is not None else None
        lookup_domain = found.hostname if found is not None else ""
        if th_answer is not None and not lookup_domain and ip in th_answer.dns_addrs:
            origin = ORIGIN_TH  # only the test helper knew this address
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
        request = http_by_tx.get(tcp.transaction_id)
        http_failure = None if request is None else requests[request].failure or ""
        if http_failure is not None:
            kind, failure = Kind.HTTP, http_failure
        elif tls_failure is not None:
            kind, failure = Kind.TLS, tls_failure
        else:
            kind, failure = Kind.TCP, tcp_failure
        endpoints[tcp.transaction_id or -1 - position] = ObservedEndpoint(
            kind=kind,
            failure=failure,
            transaction_id=tcp.transaction_id,
            depth=depth,
            fetch_body=fetch_body,
            origin=origin,
            ip=ip,
            endpoint=endpoint,
            connected=bool(tcp.status.success),
            tcp_failure=tcp_failure,
            tls_failure=tls_failure,
            tls_server_name=server_name,
            http_failure=http_failure,
            request=request,
            ctrl_tcp_failure=(tcp_ctrl.failure or "") if tcp_ctrl is not None else None,
            ctrl_tls_failure=ctrl_tls_failure,
        )
    return tuple(endpoints.values())
