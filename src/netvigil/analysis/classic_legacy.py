"""OONI's classic keys for pre-0.5 measurements, as Web Connectivity v0.4 computed them.

Measurements older than v0.5 carry no `depth`/`fetch_body` tags and no transaction ids,
so the v0.5 engine (:mod:`netvigil.analysis.classic`) cannot read them. Their keys were
computed by v0.4's `Summarize` (ooni/probe-cli internal/experiment/webconnectivity:
summary.go, dnsanalysis.go, httpanalysis.go; ooni.md §1.4 "v0.4"), reproduced here so that
`analyze --classic` means the same thing on every measurement in the archive. Measurement
Kit (0.0.1–0.3.x) followed the same rules, which v0.4 was written to copy.
"""

from __future__ import annotations

from ipaddress import ip_address
from urllib.parse import urlsplit

from netvigil.analysis.classic import ClassicVerdict
from netvigil.analysis.httpdiff import (
    BODY_PROPORTION_FACTOR,
    body_proportion,
    title_words_differing,
    uncommon_headers_shared,
)
from netvigil.analysis.model import Observed
from netvigil.failures import Failure

_NXDOMAIN = (Failure.DNS_NXDOMAIN, Failure.ANDROID_DNS_CACHE_NO_DATA)
# Failures v0.4 maps to "http-failure" (summary.go); NXDOMAIN maps to "dns".
_HTTP_FAILURES = frozenset(
    (
        Failure.CONNECTION_REFUSED,
        Failure.CONNECTION_RESET,
        Failure.EOF,
        Failure.GENERIC_TIMEOUT,
        Failure.SSL_INVALID_HOSTNAME,
        Failure.SSL_INVALID_CERTIFICATE,
        Failure.SSL_UNKNOWN_AUTHORITY,
    )
)


def _is_ip(host: str) -> bool:
    try:
        ip_address(host)
    except ValueError:
        return False
    return True


def dns_consistency_v04(seen: Observed) -> str:
    """dnsanalysis.go `DNSAnalysis`."""
    if _is_ip(urlsplit(seen.url).hostname or ""):
        return "consistent"
    answer, asns = seen.answer, seen.asns
    control_failure = answer.dns_failure if answer is not None else None
    control_addrs = answer.dns_addrs if answer is not None else frozenset()
    if seen.dns_experiment_failure is not None and control_failure is not None:
        if control_failure == Failure.DNS_NAME_ERROR and seen.dns_experiment_failure in _NXDOMAIN:
            return "consistent"
        return "inconsistent"
    probe = frozenset(ip for lookup in seen.all_lookups for ip in lookup.addrs)
    mine = {asns[ip] for ip in probe if asns.get(ip)}
    if mine & {asns[ip] for ip in control_addrs if asns.get(ip)}:
        return "consistent"
    return "consistent" if probe & control_addrs else "inconsistent"


def classic_verdict_v04(seen: Observed) -> ClassicVerdict:
    """summary.go `Summarize` with the HTTP comparison of httpanalysis.go."""
    has_control = seen.answer is not None and seen.control_failure is None
    consistency = dns_consistency_v04(seen) if has_control else None
    final = seen.requests[0] if seen.requests else None  # the chain is newest first
    ctrl = seen.answer if seen.answer is not None and seen.answer.http_answered else None
    proportion: float | None = None
    status_match = headers_match = title_match = None
    if final is not None and final.failure is None and final.responded and ctrl is not None:
        probe_len, ctrl_len = final.wire_length, ctrl.http_body_length
        if probe_len > 0 and ctrl_len > 0 and not final.truncated:
            proportion = body_proportion(probe_len, ctrl_len)
        code, ctrl_code = final.status, ctrl.http_status
        if code > 0 and ctrl_code > 0:
            status_match = (
                None if code != ctrl_code and ctrl_code // 100 == 5 else code == ctrl_code
            )
            mine, theirs = final.header_names, ctrl.http_headers
            same = {k.lower() for k in mine} == {k.lower() for k in theirs}
            headers_match = same or bool(uncommon_headers_shared(mine, theirs))
            if final.title:
                title_match = not title_words_differing(final.title, ctrl.http_title)
    length_match = None if proportion is None else proportion > BODY_PROPORTION_FACTOR
    blocking, accessible = _summarize(
        seen, consistency, status_match, length_match, headers_match, title_match
    )
    return ClassicVerdict(
        blocking=False if accessible else blocking,
        accessible=accessible,
        dns_consistency=consistency,
        dns_experiment_failure=seen.dns_experiment_failure,
        http_experiment_failure=final.failure if final is not None else None,
        body_proportion=proportion or 0.0,
        body_length_match=length_match,
        headers_match=headers_match,
        status_code_match=status_match,
        title_match=title_match,
    )


def _summarize(
    seen: Observed,
    consistency: str | None,
    status_match: bool | None,
    length_match: bool | None,
    headers_match: bool | None,
    title_match: bool | None,
) -> tuple[str | None, bool | None]:
    requests = seen.requests
    if requests and requests[0].failure is None and requests[0].url.startswith("https://"):
        return None, True
    if seen.control_failure is not None or seen.answer is None:
        return None, None
    nxdomain = seen.dns_experiment_failure in _NXDOMAIN
    if nxdomain and consistency == "consistent":
        return None, True  # v0.4 copies Measurement Kit: "the site does not exist"
    if nxdomain and consistency == "inconsistent":
        return "dns", False
    # Legacy probes write no transaction ids, so each connect is an endpoint of its own.
    connects = seen.all_endpoints
    if connects and not any(c.connected for c in connects) and consistency is not None:
        return ("tcp_ip" if consistency == "consistent" else "dns"), False
    if not seen.answer.http_answered or seen.answer.http_failure is not None:
        return None, None
    if not requests:
        return None, None
    failure = requests[0].failure
    if failure is not None:
        reason = (
            "dns"
            if failure == Failure.DNS_NXDOMAIN
            else ("http-failure" if failure in _HTTP_FAILURES else None)
        )
        if reason is not None and len(requests) == 1 and consistency == "inconsistent":
            reason = "dns"
        return reason, (False if reason is not None else None)
    if status_match and (length_match or headers_match or title_match):
        return None, True
    return ("dns" if consistency == "inconsistent" else "http-diff"), False
