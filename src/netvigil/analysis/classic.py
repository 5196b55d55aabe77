"""OONI's classic verdict keys, computed as Web Connectivity v0.5.28's code does.

The keys (`blocking`, `accessible`, `dns_consistency`, `*_match`, `body_proportion`) are
what OONI's Explorer and fastpath read, so we reproduce them bit for bit from the
observations rather than trusting what a probe wrote (ooni.md §1.4). Source:
ooni/probe-cli internal/experiment/webconnectivitylte/analysisclassic.go and
internal/minipipeline/{classic,analysis}.go at 7cb22410c98d.

It reads the one model of the measurement (:mod:`netvigil.analysis.model`) the way the
minipipeline reads its observation table: the test helper's view of a lookup is the
control's when the names agree (observation.go `IngestControlMessages`).

Steps:
1. keep only what the system resolver saw (`_classic_filter`, minipipeline ClassicFilter);
2. sort it so the deepest redirect and the furthest step come first (`_linear`);
3. compute DNS consistency (IP or ASN overlap with the control) and the HTTP diff;
4. the first observation that explains the outcome wins (`_outcome`), then an
   inconsistent DNS turns any non-success into `"dns"` (`setBlockingString/Nil`,
   `setWebsiteDown`).

Our own, richer verdicts are in :mod:`netvigil.analysis.layered`; this module exists for
compatibility and for the 50/50 agreement test on OONI's QA scenarios.
"""

from __future__ import annotations

from collections.abc import Mapping

import msgspec

from netvigil.addresses import only_loopback
from netvigil.analysis.classic_dns import ctrl_dns, dns_consistency, dns_experiment_failure
from netvigil.analysis.httpdiff import HTTPDiff, compare
from netvigil.analysis.model import (
    CLASSIC_ENGINES,
    Kind,
    Observed,
    ObservedControl,
    ObservedEndpoint,
    ObservedHTTP,
    ObservedLookup,
    classic_endpoints,
)
from netvigil.failures import Failure, is_misconfigured_ipv6


class ClassicVerdict(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    blocking: str | bool | None
    accessible: bool | None
    dns_consistency: str | None
    dns_experiment_failure: str | None
    http_experiment_failure: str | None
    body_proportion: float
    body_length_match: bool | None
    headers_match: bool | None
    status_code_match: bool | None
    title_match: bool | None


Entry = ObservedLookup | ObservedEndpoint


class _Classic(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """What ClassicFilter keeps, and the control as the classic code reads it."""

    failed: tuple[ObservedLookup, ...]
    answered: tuple[ObservedLookup, ...]  # successful lookups that returned an address
    endpoints: tuple[ObservedEndpoint, ...]
    requests: tuple[ObservedHTTP, ...]
    th: ObservedControl | None
    ctrl_http_failure: str | None  # None: no control; "" (also without `http_request`): fetched
    asns: Mapping[str, int]


def _classic_filter(seen: Observed) -> _Classic:
    """Keep the system resolver's lookups and the body-fetching endpoints on their addresses."""
    lookups = [o for o in seen.all_lookups if o.engine in CLASSIC_ENGINES]
    answered = tuple(o for o in lookups if o.failure is None and o.addrs)
    system = frozenset(ip for o in answered for ip in o.addrs)
    # OONI's code compares with any answer to the request the probe recorded (has_control).
    th = seen.answer if seen.control_requested else None
    return _Classic(
        failed=tuple(o for o in lookups if o.failure is not None),
        answered=answered,
        endpoints=classic_endpoints(seen.all_endpoints, system),
        requests=seen.requests,
        th=th,
        ctrl_http_failure=None if th is None else th.http_failure or "",
        asns=seen.asns,
    )


def _final(e: ObservedEndpoint, requests: tuple[ObservedHTTP, ...]) -> ObservedHTTP | None:
    """The endpoint's response when it ends the redirect chain (minipipeline/utils.go)."""
    if e.request is None:
        return None
    http = requests[e.request]
    if http.failure is not None or not http.responded or http.status // 100 not in (2, 4, 5):
        return None
    return http


def _linear(c: _Classic) -> list[Entry]:
    """Deepest redirect first; then HTTP > TLS > TCP > DNS; successes first; newest tx first.

    The minipipeline has one DNS observation per address; here a lookup is one entry. Its
    addresses would share every sort key and sit side by side, and the walk reads only what
    they share, so the first of them decides as the lookup does.
    """
    items: list[Entry] = [*c.failed, *c.answered, *c.endpoints]
    items.sort(key=lambda o: -o.transaction_id)
    items.sort(key=lambda o: o.failure or "")
    items.sort(key=lambda o: (-_depth(o), -_kind(o)))
    return items


def _kind(o: Entry) -> Kind:
    return o.kind if isinstance(o, ObservedEndpoint) else Kind.DNS


def _depth(o: Entry) -> int:
    """The `depth=` tag; an untagged step ranks below depth 0."""
    if isinstance(o, ObservedEndpoint):
        return o.depth if o.depth is not None else -1
    return o.depth if o.tagged else -1


def _http_diff(c: _Classic, entries: list[Entry]) -> HTTPDiff:
    """The diff of the final response, when there is one and the control fetched the page."""
    final = next(
        (
            http
            for e in entries
            if isinstance(e, ObservedEndpoint)
            for http in (_final(e, c.requests),)
            if http is not None
        ),
        None,
    )
    if final is None or c.th is None or c.ctrl_http_failure != "":
        return HTTPDiff()
    return compare(
        probe_status=final.status,
        probe_body_length=final.wire_length,
        probe_truncated=final.truncated,
        probe_headers=final.header_names,
        probe_title=final.title,
        control_status=c.th.http_status,
        control_body_length=c.th.http_body_length,
        control_headers=c.th.http_headers,
        control_title=c.th.http_title,
    )


# Outcomes of the walk, before the inconsistent-DNS override.
_OK, _NULL, _DOWN = "ok", "null", "down"


def _outcome(c: _Classic, entries: list[Entry], diff: HTTPDiff) -> tuple[str, str | None]:
    """The first entry that explains the result: (outcome or blocking string, http failure)."""
    ctrl_http = c.ctrl_http_failure
    for e in entries:
        if isinstance(e, ObservedLookup):
            found = _dns_outcome(e, c)
            if found is not None:
                return found
            continue
        if _final(e, c.requests) is not None:
            if e.tls_failure == "":
                return _OK, None
            if ctrl_http is None:
                return _NULL, None
            return (_OK if not diff.differs else "http-diff"), None
        if not e.failure:
            continue
        if e.kind == Kind.HTTP:
            if ctrl_http is None:
                return _NULL, e.failure
            return (_DOWN if ctrl_http else "http-failure"), e.failure
        control = e.ctrl_tls_failure if e.kind == Kind.TLS else e.ctrl_tcp_failure
        if control is None:
            return (_NULL if ctrl_http is None else "http-failure"), e.failure
        if control:
            return _DOWN, e.failure
        return ("http-failure" if e.kind == Kind.TLS else "tcp_ip"), e.failure
    return _NULL, None


def _dns_outcome(e: ObservedLookup, c: _Classic) -> tuple[str, str | None] | None:
    ctrl_failure, ctrl_addrs = ctrl_dns(e, c.th)
    if e.failure is None:
        # Steps 6-7: the probe saw only loopback answers (and so connected nowhere).
        if ctrl_failure == "" and ctrl_addrs and only_loopback(e.addrs):
            return (_DOWN if only_loopback(ctrl_addrs) else "dns"), None
        return None
    if not e.failure:
        return None  # a failure written as "": the minipipeline reads it as no failure
    if ctrl_failure is None:
        # Step 5.1.1 of the code says "accessible" here; ooni.md §1.4 calls it a quirk.
        return (_OK if c.ctrl_http_failure is None else "dns"), e.failure
    if ctrl_failure:
        return _DOWN, e.failure
    if e.failure == Failure.DNS_NO_ANSWER and ctrl_addrs is not None and not ctrl_addrs:
        return _DOWN, None
    return "dns", e.failure


def classic_verdict(seen: Observed) -> ClassicVerdict:
    """Compute OONI's classic keys from the model of a measurement."""
    c = _classic_filter(seen)
    consistency = dns_consistency(c.answered, c.failed, c.th, c.asns)
    ordered = _linear(c)
    diff = _http_diff(c, ordered)
    entries = [e for e in ordered if not _ignored_ipv6(e)]
    outcome, http_failure = _outcome(c, entries, diff)
    inconsistent = consistency == "inconsistent"
    blocking: str | bool | None
    if outcome == _OK:
        blocking, accessible = False, True
    elif inconsistent:
        blocking, accessible = "dns", False
    elif outcome == _NULL:
        blocking, accessible = None, None
    elif outcome == _DOWN:
        blocking, accessible = False, False
    else:
        blocking, accessible = outcome, False
    return ClassicVerdict(
        blocking=blocking,
        accessible=accessible,
        dns_consistency=consistency,
        dns_experiment_failure=dns_experiment_failure(c.failed),
        http_experiment_failure=http_failure,
        body_proportion=diff.body_proportion or 0.0,
        body_length_match=diff.body_length_match,
        headers_match=diff.headers_match,
        status_code_match=diff.status_code_match,
        title_match=diff.title_match,
    )


def _ignored_ipv6(e: Entry) -> bool:
    # Not in OONI's walk itself, but its metrics skip these (ooni/probe#2284) and a
    # broken-IPv6 probe must not read as TCP blocking; see docs/design/003.
    return (
        isinstance(e, ObservedEndpoint)
        and e.kind == Kind.TCP
        and is_misconfigured_ipv6(e.failure, e.ip)
    )
