"""Which addresses can be trusted to belong to the site (ooni.md §9, key idea 2).

A TCP or TLS failure on an address the censor's resolver made up says nothing about
TCP or TLS: it is a consequence of the DNS answer (OONI's new pipeline masks it as
`dns_untrusted`). An address is trusted when another vantage vouches for it:

- the control's resolver returned it, or the control validated a TLS handshake on it
  (`ip_info` flag 8, ooni.md §2);
- the probe itself completed a TLS handshake with certificate validation on it;
- it is in the same AS as an address the control returned (CDN rotation, ooni.md §1.5);
- it came from a lookup made while following redirects (no control exists for those),
  or from no lookup at all (an IP in the URL), and is not a bogon.
"""

from __future__ import annotations

from netvigil.analysis.model import Observed

VALID_FOR_DOMAIN = 8  # ip_info flag: the TH's TLS handshake on this address succeeded
SAME_AS = "same AS as the control's addresses"  # the weakest reason: CDNs share ASes


def tls_validated(seen: Observed) -> frozenset[str]:
    """Addresses on which the probe completed a verified TLS handshake for the URL's host."""
    return frozenset(
        o.ip
        for o in (*seen.endpoints, *seen.extra_endpoints)
        if o.ip and o.tls_failure == "" and o.tls_server_name in (None, "", seen.domain)
    )


def control_asns(seen: Observed) -> frozenset[int]:
    if seen.control is None:
        return frozenset()
    return frozenset(seen.asns[ip] for ip in seen.control.dns_addrs if seen.asns.get(ip))


def vouched(seen: Observed, ip: str, validated: frozenset[str], asns: frozenset[int]) -> str | None:
    """Why `ip` is the site's own address, or None when nothing vouches for it."""
    ctrl = seen.control
    if ip in validated:
        return "probe TLS handshake validated"
    if ctrl is None:
        return None
    if ip in ctrl.dns_addrs:
        return "returned by the control's resolver"
    if ctrl.ip_flags.get(ip, 0) & VALID_FOR_DOMAIN:
        return "control validated TLS on it"
    if seen.asns.get(ip) in asns:
        return SAME_AS
    return None


def untrusted(seen: Observed) -> frozenset[str]:
    """Depth-0 system-resolver answers that nothing vouches for (only with a control)."""
    if seen.control is None:
        return frozenset()
    validated, asns = tls_validated(seen), control_asns(seen)
    answers = {ip for lookup in seen.lookups if lookup.depth == 0 for ip in lookup.addrs}
    return frozenset(
        ip for ip in answers if seen.bogon(ip) or vouched(seen, ip, validated, asns) is None
    )
