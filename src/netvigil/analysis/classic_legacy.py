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
from netvigil.analysis.traces import header_keys, title_of
from netvigil.failures import Failure
from netvigil.records import WebConnectivityKeys, bytes_of, text_of

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


def dns_consistency_v04(keys: WebConnectivityKeys, url: str, asns: dict[str, int]) -> str:
    """dnsanalysis.go `DNSAnalysis`."""
    if _is_ip(urlsplit(url).hostname or ""):
        return "consistent"
    control = keys.control.dns if keys.control is not None else None
    control_failure = control.failure if control is not None else None
    control_addrs = set((control.addrs or ()) if control is not None else ())
    if keys.dns_experiment_failure is not None and control_failure is not None:
        if control_failure == Failure.DNS_NAME_ERROR and keys.dns_experiment_failure in _NXDOMAIN:
            return "consistent"
        return "inconsistent"
    probe = {a.address for q in keys.queries or () for a in q.answers or () if a.address}
    mine = {asns[ip] for ip in probe if asns.get(ip)}
    if mine & {asns[ip] for ip in control_addrs if asns.get(ip)}:
        return "consistent"
    return "consistent" if probe & control_addrs else "inconsistent"


def classic_verdict_v04(
    keys: WebConnectivityKeys, url: str, asns: dict[str, int]
) -> ClassicVerdict:
    """summary.go `Summarize` with the HTTP comparison of httpanalysis.go."""
    has_control = keys.control is not None and keys.control_failure is None
    consistency = dns_consistency_v04(keys, url, asns) if has_control else None
    requests = keys.requests or []
    final = requests[0] if requests else None
    ctrl_http = keys.control.http_request if keys.control is not None else None
    proportion: float | None = None
    status_match = headers_match = title_match = None
    if final is not None and final.failure is None and final.response is not None and ctrl_http:
        response = final.response
        probe_len, ctrl_len = len(bytes_of(response.body)), ctrl_http.body_length or 0
        if probe_len > 0 and ctrl_len > 0 and not response.body_is_truncated:
            proportion = body_proportion(probe_len, ctrl_len)
        code, ctrl_code = response.code or 0, ctrl_http.status_code or 0
        if code > 0 and ctrl_code > 0:
            status_match = (
                None if code != ctrl_code and ctrl_code // 100 == 5 else code == ctrl_code
            )
            mine, theirs = header_keys(response.headers), header_keys(ctrl_http.headers)
            same = {k.lower() for k in mine} == {k.lower() for k in theirs}
            headers_match = same or bool(uncommon_headers_shared(mine, theirs))
            title = title_of(text_of(response.body))
            if title:
                title_match = not title_words_differing(title, ctrl_http.title or "")
    length_match = None if proportion is None else proportion > BODY_PROPORTION_FACTOR
    blocking, accessible = _summarize(
        keys, consistency, status_match, length_match, headers_match, title_match
    )
    return ClassicVerdict(
        blocking=False if accessible else blocking,
        accessible=accessible,
        dns_consistency=consistency,
        dns_experiment_failure=keys.dns_experiment_failure,
        http_experiment_failure=final.failure if final is not None else None,
        body_proportion=proportion or 0.0,
        body_length_match=length_match,
        headers_match=headers_match,
        status_code_match=status_match,
        title_match=title_match,
    )


def _summarize(
    keys: WebConnectivityKeys,
    consistency: str | None,
    status_match: bool | None,
    length_match: bool | None,
    headers_match: bool | None,
    title_match: bool | None,
) -> tuple[str | None, bool | None]:
    requests = keys.requests or []
    if requests and requests[0].failure is None and requests[0].request.url.startswith("https://"):
        return None, True
    if keys.control_failure is not None or keys.control is None:
        return None, None
    nxdomain = keys.dns_experiment_failure in _NXDOMAIN
    if nxdomain and consistency == "consistent":
        return None, True  # v0.4 copies Measurement Kit: "the site does not exist"
    if nxdomain and consistency == "inconsistent":
        return "dns", False
    connects = keys.tcp_connect or []
    if connects and not any(c.status.success for c in connects) and consistency is not None:
        return ("tcp_ip" if consistency == "consistent" else "dns"), False
    if keys.control.http_request is None or keys.control.http_request.failure is not None:
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
