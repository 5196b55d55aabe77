"""The evidence the layered verdict reasons over, for modern and legacy measurements alike.

Web Connectivity v0.5 tags every step (`depth=N`, `fetch_body=`, `classic`) and joins the
steps of one connection by `transaction_id`; v0.4 and Measurement Kit probes (0.0.1–0.4.x)
do neither: their `tcp_connect` list is the connectivity check, their `requests` list is
the redirect chain, newest first (df-001), with no link between the two. This module turns
both into the same three lists — lookups, connections, HTTP steps — so that the rules
(`dns_rules`, `transport_rules`, `http_rules`) rarely branch on the probe's version.

Only what the system resolver and the page fetch saw is kept as "the path" (the user's
experience; ts-017's "classic" observations). Connections to addresses only the test helper
found, and connectivity-only checks, are kept aside as `extra_endpoints`: a validated TLS
handshake there vouches for an address (`trust.py`), but they never decide a verdict
(ts-017 E005). UDP and DoH lookups only mark where an address came from.
"""

from __future__ import annotations

from collections.abc import Mapping

import msgspec

from netvigil.addresses import REAL_WORLD, Bogons, host_of
from netvigil.analysis.classic import CLASSIC_ENGINES, classic_endpoints
from netvigil.analysis.observations import Observation, WebObservations
from netvigil.analysis.traces import tag_depth, tag_fetch_body, title_of, utf8_len
from netvigil.records import HTTPTransaction, WebConnectivityKeys, answer_addresses, text_of


class Lookup(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    index: int  # position in `queries`, the witness
    hostname: str
    engine: str
    query_type: str
    depth: int
    failure: str
    addrs: frozenset[str]


class HTTPStep(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    index: int  # position in `requests`
    url: str
    depth: int
    transaction_id: int
    failure: str
    status: int  # 0 when no response arrived
    body: str
    body_length: int
    truncated: bool
    headers: dict[str, str]  # lower-case names, first value
    title: str
    over_tls: bool

    @property
    def final(self) -> bool:
        return not self.failure and self.status // 100 in (2, 4, 5)


class Control(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    domain: str
    dns_failure: str
    dns_addrs: frozenset[str]
    http_failure: str
    http_status: int
    http_body_length: int
    http_title: str
    http_headers: frozenset[str]
    ip_flags: dict[str, int]  # ooni.md §2: 1 probe, 2 TH, 4 bogon, 8 valid for domain


class Evidence(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    url: str
    domain: str
    lookups: tuple[Lookup, ...]
    endpoints: tuple[Observation, ...]
    http: tuple[HTTPStep, ...]  # oldest first
    control: Control | None
    asns: Mapping[str, int]
    extra_endpoints: tuple[Observation, ...]
    legacy: bool
    bogon: Bogons = REAL_WORLD


def is_legacy(keys: WebConnectivityKeys) -> bool:
    for step in (*(keys.queries or ()), *(keys.tcp_connect or ())):
        if tag_depth(step.tags) is not None:
            return False
    return True


def control_of(keys: WebConnectivityKeys, url: str) -> Control | None:
    ctrl = keys.control
    if ctrl is None or keys.control_failure or (ctrl.dns is None and ctrl.http_request is None):
        return None
    request = keys.x_control_request
    domain = host_of(request.http_request if request else url)
    http = ctrl.http_request
    return Control(
        domain=domain,
        dns_failure=(ctrl.dns.failure or "") if ctrl.dns else "",
        dns_addrs=frozenset((ctrl.dns.addrs or ()) if ctrl.dns else ()),
        http_failure=(http.failure or "") if http else "unknown_error",
        http_status=(http.status_code or 0) if http else 0,
        http_body_length=(http.body_length or 0) if http else 0,
        http_title=(http.title or "") if http else "",
        http_headers=frozenset(http.headers or ()) if http else frozenset(),
        ip_flags={ip: info.flags or 0 for ip, info in (ctrl.ip_info or {}).items()},
    )


def _lookups(keys: WebConnectivityKeys, legacy: bool) -> list[Lookup]:
    """The system resolver's lookups (UDP, DoH and DoT ones only corroborate, via endpoints)."""
    path: list[Lookup] = []
    for index, query in enumerate(keys.queries or ()):
        engine = query.engine or "system"
        if engine not in CLASSIC_ENGINES and (not legacy or engine in ("udp", "doh", "dot")):
            continue
        depth = tag_depth(query.tags)
        path.append(
            Lookup(
                index=index,
                hostname=query.hostname,
                engine=engine,
                query_type=query.query_type,
                depth=0 if depth is None else depth,
                failure=query.failure or "",
                addrs=answer_addresses(query.answers),
            )
        )
    return path


def _http_step(index: int, tx: HTTPTransaction, depth: int, tls: bool) -> HTTPStep:
    response = tx.response
    body = text_of(response.body) if response is not None else ""
    raw = (response.headers or {}) if response is not None else {}
    # Most values are plain strings; only base64 and list values need text_of.
    headers = {k.lower(): v if isinstance(v, str) else text_of(v) for k, v in raw.items()}
    status = (response.code or 0) if response is not None else 0
    return HTTPStep(
        index=index,
        url=tx.request.url,
        depth=depth,
        transaction_id=tx.transaction_id,
        failure=tx.failure or "",
        status=status,
        body=body,
        body_length=utf8_len(body),
        truncated=bool(response.body_is_truncated) if response is not None else False,
        headers=headers,
        title=title_of(body),
        over_tls=tls,
    )


def gather(
    keys: WebConnectivityKeys,
    web: WebObservations,
    url: str,
    asns: Mapping[str, int],
    bogon: Bogons = REAL_WORLD,
) -> Evidence:
    """Build the evidence of one measurement from its keys and observations."""
    legacy = is_legacy(keys)
    lookups = _lookups(keys, legacy)
    requests = list(keys.requests or ())
    steps: list[HTTPStep] = []
    if legacy:
        endpoints = tuple(
            msgspec.structs.replace(o, depth=0, fetch_body=True) for o in web.endpoints
        )
        extra_endpoints: tuple[Observation, ...] = ()
        for depth, (index, tx) in enumerate(reversed(list(enumerate(requests)))):
            https = tx.request.url.startswith("https://")
            steps.append(_http_step(index, tx, depth, https))
    else:
        system = frozenset(ip for lookup in lookups if not lookup.failure for ip in lookup.addrs)
        endpoints = classic_endpoints(web.endpoints, system)
        kept = {o.transaction_id for o in endpoints}
        extra_endpoints = tuple(o for o in web.endpoints if o.transaction_id not in kept)
        tls_tx = {o.transaction_id for o in endpoints if o.tls_failure is not None}
        for index, tx in reversed(list(enumerate(requests))):
            if tx.transaction_id not in kept or tag_fetch_body(tx.tags) is False:
                continue
            depth = tag_depth(tx.tags) or 0
            steps.append(_http_step(index, tx, depth, tx.transaction_id in tls_tx))
    domain = host_of(url)
    return Evidence(
        url=url,
        domain=domain,
        lookups=tuple(lookups),
        endpoints=endpoints,
        http=tuple(steps),
        control=control_of(keys, url),
        asns=asns,
        extra_endpoints=extra_endpoints,
        legacy=legacy,
        bogon=bogon,
    )
