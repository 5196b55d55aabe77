"""The DNS half of OONI's classic keys: `dns_consistency` and `dns_experiment_failure`.

As Web Connectivity v0.5.28 computes them (analysisclassic.go
`analysisClassicDNSConsistency`, minipipeline/analysis.go), over the system resolver's
lookups that ClassicFilter keeps (:mod:`netvigil.analysis.classic`). A lookup is compared
with the control's only when it asked for the URL's own name.
"""

from __future__ import annotations

from collections.abc import Mapping

from netvigil.analysis.model import ObservedControl, ObservedLookup
from netvigil.failures import Failure


def ctrl_dns(
    lookup: ObservedLookup, th: ObservedControl | None
) -> tuple[str | None, frozenset[str] | None]:
    """The control's DNS failure and addresses for this lookup's name (None: not compared)."""
    if th is None or lookup.hostname != th.domain:
        return None, None
    failure = th.dns_failure or ""
    return failure, None if failure else th.dns_addrs


def _addresses_agree(a: frozenset[str], b: frozenset[str], asns: Mapping[str, int]) -> bool:
    if a & b:
        return True
    mine = {asns[ip] for ip in a if asns.get(ip)}
    return bool(mine & {asns[ip] for ip in b if asns.get(ip)})


def _at_depth_0(lookup: ObservedLookup) -> bool:
    return lookup.tagged and lookup.depth == 0


def dns_consistency(
    answered: tuple[ObservedLookup, ...],
    failed: tuple[ObservedLookup, ...],
    th: ObservedControl | None,
    asns: Mapping[str, int],
) -> str | None:
    """analysisClassicDNSConsistency over the depth-0 system-resolver lookups."""
    seen: set[int] = set()
    success: set[int] = set()
    valid: set[int] = set()
    invalid: set[int] = set()
    unexpected: set[int] = set()
    expected: set[int] = set()
    for lookup in answered:
        tx = lookup.transaction_id
        if tx in seen:
            continue  # the A and AAAA queries of one lookup share a transaction
        seen.add(tx)
        if not _at_depth_0(lookup):
            continue
        success.add(tx)
        ctrl_addrs = ctrl_dns(lookup, th)[1]
        if ctrl_addrs is None:
            continue
        agree = _addresses_agree(lookup.addrs, ctrl_addrs, asns)
        (valid if agree else invalid).add(tx)
    for lookup in failed:
        ctrl_failure, ctrl_addrs = ctrl_dns(lookup, th)
        if lookup.engine == "doh" or not _at_depth_0(lookup) or ctrl_failure is None:
            continue
        if lookup.query_type == "AAAA" and lookup.failure == Failure.DNS_NO_ANSWER:
            continue
        tx = lookup.transaction_id
        if lookup.failure and ctrl_failure:
            expected.add(tx)
        elif ctrl_failure:
            continue
        elif (
            lookup.failure == Failure.DNS_NO_ANSWER and ctrl_addrs is not None and (not ctrl_addrs)
        ):
            expected.add(tx)
        elif lookup.failure:
            unexpected.add(tx)
    if not unexpected and not invalid and (valid or expected):
        return "consistent"
    if invalid or unexpected or (success and th is not None and not th.dns_addrs):
        return "inconsistent"
    return None


def dns_experiment_failure(failed: tuple[ObservedLookup, ...]) -> str | None:
    for lookup in failed:
        if lookup.engine == "doh" or not _at_depth_0(lookup):
            continue
        if lookup.query_type == "AAAA" and lookup.failure == Failure.DNS_NO_ANSWER:
            continue
        if lookup.failure:
            return lookup.failure
    return None
