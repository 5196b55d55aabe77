"""OONI's classic verdict keys, computed as Web Connectivity v0.5.28's code does.

The keys (`blocking`, `accessible`, `dns_consistency`, `*_match`, `body_proportion`) are
what OONI's Explorer and fastpath read, so we reproduce them bit for bit from the
observations rather than trusting what a probe wrote (ooni.md §1.4). Source:
ooni/probe-cli internal/experiment/webconnectivitylte/analysisclassic.go and
internal/minipipeline/{classic,analysis}.go at 7cb22410c98d.

Steps:
1. keep only what the system resolver saw (`classic_filter`, minipipeline ClassicFilter);
2. sort it so the deepest redirect and the furthest step come first (`linear`);
3. compute DNS consistency (IP or ASN overlap with the control) and the HTTP diff;
4. the first observation that explains the outcome wins (`_blocking_accessible`), then an
   inconsistent DNS turns any non-success into `"dns"` (`setBlockingString/Nil`,
   `setWebsiteDown`).

Our own, richer verdicts are in :mod:`netvigil.analysis.layered`; this module exists for
compatibility and for the 50/50 agreement test on OONI's QA scenarios.
"""

from __future__ import annotations

import msgspec

from netvigil.addresses import only_loopback
from netvigil.analysis.httpdiff import HTTPDiff, compare
from netvigil.analysis.observations import (
    ORIGIN_DNS,
    ORIGIN_TH,
    Kind,
    Observation,
    WebObservations,
)
from netvigil.failures import Failure, is_misconfigured_ipv6

# The system resolver's engines. OONI's v0.5 writes getaddrinfo or golang_net_resolver; our
# probe writes "system" when it resolves through an in-process stub resolver (the lab's
# configuration; see probe/backend.py), the df-002 name older probes used for the same role.
CLASSIC_ENGINES = frozenset(("getaddrinfo", "golang_net_resolver", "system"))


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


def classic_filter(web: WebObservations) -> WebObservations:
    """Keep the system resolver's lookups and the body-fetching endpoints on their addresses."""
    failures = tuple(o for o in web.dns_failures if o.dns_engine in CLASSIC_ENGINES)
    successes = tuple(o for o in web.dns_successes if o.dns_engine in CLASSIC_ENGINES)
    endpoints = classic_endpoints(web.endpoints, frozenset(o.ip or "" for o in successes))
    return msgspec.structs.replace(
        web, dns_failures=failures, dns_successes=successes, endpoints=endpoints
    )


def classic_endpoints(
    endpoints: tuple[Observation, ...], system_addresses: frozenset[str]
) -> tuple[Observation, ...]:
    """The endpoints a v0.4 probe would have measured (minipipeline ClassicFilter)."""
    kept = []
    for obs in endpoints:
        if obs.ip_origin == ORIGIN_TH:
            continue  # ts-017 E005: TH-only addresses stay out of the classic verdict
        if obs.ip_origin == ORIGIN_DNS and obs.ip not in system_addresses:
            continue  # found by another resolver (UDP, DoH)
        if not obs.fetch_body:
            continue  # connectivity-only checks (E001)
        kept.append(obs)
    return tuple(kept)


def linear(web: WebObservations) -> list[Observation]:
    """Deepest redirect first; then HTTP > TLS > TCP > DNS; successes first; newest tx first."""
    items = [*web.dns_failures, *web.dns_successes, *web.endpoints]
    items.sort(key=lambda o: -o.transaction_id)
    items.sort(key=lambda o: o.failure if o.failure is not None else "unknown_failure")
    items.sort(key=lambda o: (-(o.depth if o.depth is not None else -1), -o.kind))
    return items


def _addresses_agree(a: frozenset[str], b: frozenset[str], asns: dict[str, int]) -> bool:
    if a & b:
        return True
    mine = {asns[ip] for ip in a if asns.get(ip)}
    return bool(mine & {asns[ip] for ip in b if asns.get(ip)})


def dns_consistency(web: WebObservations, asns: dict[str, int]) -> str | None:
    """analysisClassicDNSConsistency over the depth-0 system-resolver lookups."""
    seen: set[int | None] = set()
    success: set[int | None] = set()
    valid: set[int | None] = set()
    invalid: set[int | None] = set()
    unexpected: set[int | None] = set()
    expected: set[int | None] = set()
    for obs in web.dns_successes:
        tx = obs.dns_transaction_id
        if tx in seen:
            continue
        seen.add(tx)
        if obs.depth != 0:
            continue
        success.add(tx)
        if obs.ctrl_dns_addrs is None or obs.dns_addrs is None:
            continue
        (valid if _addresses_agree(obs.dns_addrs, obs.ctrl_dns_addrs, asns) else invalid).add(tx)
    for obs in web.dns_failures:
        if obs.dns_engine == "doh" or obs.depth != 0 or obs.ctrl_dns_failure is None:
            continue
        if obs.dns_query_type == "AAAA" and obs.dns_failure == Failure.DNS_NO_ANSWER:
            continue
        if obs.dns_failure and obs.ctrl_dns_failure:
            expected.add(obs.dns_transaction_id)
        elif obs.ctrl_dns_failure:
            continue
        elif (
            obs.dns_failure == Failure.DNS_NO_ANSWER
            and obs.ctrl_dns_addrs is not None
            and (not obs.ctrl_dns_addrs)
        ):
            expected.add(obs.dns_transaction_id)
        elif obs.dns_failure:
            unexpected.add(obs.dns_transaction_id)
    if not unexpected and not invalid and (valid or expected):
        return "consistent"
    if (
        invalid
        or unexpected
        or (success and web.ctrl_dns_addrs is not None and not web.ctrl_dns_addrs)
    ):
        return "inconsistent"
    return None


def dns_experiment_failure(web: WebObservations) -> str | None:
    for obs in web.dns_failures:
        if obs.dns_engine == "doh" or obs.depth != 0:
            continue
        if obs.dns_query_type == "AAAA" and obs.dns_failure == Failure.DNS_NO_ANSWER:
            continue
        if obs.dns_failure:
            return obs.dns_failure
    return None


def http_diff(web: WebObservations) -> HTTPDiff:
    """The diff of the final response, when there is one and the control fetched the page."""
    final = next((o for o in linear(web) if o.http_final), None)
    if final is None or final.ctrl_http_failure != "":
        return HTTPDiff()
    return compare(
        probe_status=final.http_status or 0,
        probe_body_length=final.http_body_length or 0,
        probe_truncated=final.http_body_truncated is not False,
        probe_headers=final.http_header_keys or frozenset(),
        probe_title=final.http_title or "",
        control_status=final.ctrl_http_status or 0,
        control_body_length=final.ctrl_http_body_length or 0,
        control_headers=final.ctrl_http_header_keys or frozenset(),
        control_title=final.ctrl_http_title or "",
    )


# Outcomes of the walk, before the inconsistent-DNS override.
_OK, _NULL, _DOWN = "ok", "null", "down"


def _outcome(entries: list[Observation], diff: HTTPDiff) -> tuple[str, str | None]:
    """The first entry that explains the result: (outcome or blocking string, http failure)."""
    for e in entries:
        if e.http_final:
            if e.tls_failure == "":
                return _OK, None
            if e.ctrl_http_failure is None:
                return _NULL, None
            return (_OK if not diff.differs else "http-diff"), None
        if not e.failure:
            # Steps 6-7: the probe saw only loopback answers (and so connected nowhere).
            if (
                e.kind == Kind.DNS
                and e.ctrl_dns_failure == ""
                and e.dns_addrs
                and e.ctrl_dns_addrs
                and only_loopback(e.dns_addrs)
            ):
                return (_DOWN if only_loopback(e.ctrl_dns_addrs) else "dns"), None
            continue
        if e.kind == Kind.HTTP:
            if e.ctrl_http_failure is None:
                return _NULL, e.failure
            return (_DOWN if e.ctrl_http_failure else "http-failure"), e.failure
        if e.kind in (Kind.TLS, Kind.TCP):
            control = e.ctrl_tls_failure if e.kind == Kind.TLS else e.ctrl_tcp_failure
            if control is None:
                return (_NULL if e.ctrl_http_failure is None else "http-failure"), e.failure
            if control:
                return _DOWN, e.failure
            return ("http-failure" if e.kind == Kind.TLS else "tcp_ip"), e.failure
        # DNS failure.
        if e.ctrl_dns_failure is None:
            # Step 5.1.1 of the code says "accessible" here; ooni.md §1.4 calls it a quirk.
            return (_OK if e.ctrl_http_failure is None else "dns"), e.failure
        if e.ctrl_dns_failure:
            return _DOWN, e.failure
        if (
            e.failure == Failure.DNS_NO_ANSWER
            and e.ctrl_dns_addrs is not None
            and not e.ctrl_dns_addrs
        ):
            return _DOWN, None
        return "dns", e.failure
    return _NULL, None


def classic_verdict(web: WebObservations, asns: dict[str, int]) -> ClassicVerdict:
    """Compute OONI's classic keys from (unfiltered) observations."""
    web = classic_filter(web)
    consistency = dns_consistency(web, asns)
    diff = http_diff(web)
    entries = [e for e in linear(web) if not _ignored_ipv6(e)]
    outcome, http_failure = _outcome(entries, diff)
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
        dns_experiment_failure=dns_experiment_failure(web),
        http_experiment_failure=http_failure,
        body_proportion=diff.body_proportion or 0.0,
        body_length_match=diff.body_length_match,
        headers_match=diff.headers_match,
        status_code_match=diff.status_code_match,
        title_match=diff.title_match,
    )


def _ignored_ipv6(e: Observation) -> bool:
    # Not in OONI's walk itself, but its metrics skip these (ooni/probe#2284) and a
    # broken-IPv6 probe must not read as TCP blocking; see docs/design/003.
    return e.kind == Kind.TCP and is_misconfigured_ipv6(e.failure, e.ip or "")
