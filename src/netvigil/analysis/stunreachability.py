"""Verdicts of stunreachability (ts-025): does a STUN server answer a Binding request?

OONI's fastpath calls any failure an anomaly (ooni/backend fastpath/core.py
score_stunreachability). Ours says where it stopped and how sure it can be without a
control: a Binding response → ok (UDP, the access layer); the STUN host's name not
resolving → the DNS layer (a bogon answer → blocked; NXDOMAIN or a timeout → insufficient:
the public STUN servers in OONI's lists come and go); silence from one server is weak
evidence — blocked, confidence 0.5, with the counter-evidence said; a refused port (ICMP
port unreachable) → down: nothing listens there.
"""

from __future__ import annotations

from typing import Final

from netvigil.analysis.fingerprints import FingerprintDB
from netvigil.analysis.nettest_verdict import verdict_of
from netvigil.analysis.verdicts import Layer, RuleBook, Verdict, Witness
from netvigil.failures import FailureKind, kind_of
from netvigil.records import AnyMeasurement, decode_keys
from netvigil.records.resolvers import STUNReachabilityKeys

# resolvers.TECHNIQUES's words: a bogon for the STUN host's name, a server that never replied.
TECHNIQUES: Final = frozenset({"dns.bogon", "udp.timeout"})
RULES = RuleBook(
    {
        "stun.binding_ok": (0.0, 0.0, 1.0),
        "stun.dns_bogon": (0.8, 0.1, 0.1),
        "stun.dns_failed": (0.5, 0.5, 0.0),
        "stun.timeout": (0.5, 0.4, 0.1),
        "stun.refused": (0.1, 0.8, 0.1),
        "stun.failed_other": (0.5, 0.5, 0.0),
    },
    techniques=TECHNIQUES,
)
_DNS_KINDS = (
    FailureKind.NXDOMAIN,
    FailureKind.NO_ANSWER,
    FailureKind.DNS_REFUSED,
    FailureKind.DNS_SERVER_ERROR,
)


def analyse_stun(measurement: AnyMeasurement, fingerprints: FingerprintDB) -> Verdict:
    keys = decode_keys(measurement, STUNReachabilityKeys)
    if keys is None:
        return verdict_of(measurement, (), access=Layer.UDP, reason="no test keys")
    seen = Witness(ref="test_keys.failure", observed=f"{keys.endpoint}: {keys.failure or 'ok'}")
    failed_query = next((n for n, q in enumerate(keys.queries or ()) if q.failure), None)
    kind = kind_of(keys.failure)
    if keys.failure is None:
        layer = RULES.verdict(Layer.UDP, "stun.binding_ok", witnesses=(seen,))
    elif kind is FailureKind.DNS_BOGON:
        layer = RULES.verdict(Layer.DNS, "stun.dns_bogon", technique="dns.bogon", witnesses=(seen,))
    elif failed_query is not None or kind in _DNS_KINDS:
        at = Witness(ref=f"test_keys.queries[{failed_query or 0}]", observed=keys.failure)
        layer = RULES.verdict(Layer.DNS, "stun.dns_failed", witnesses=(at,))
    elif kind is FailureKind.TIMEOUT:
        layer = RULES.verdict(
            Layer.UDP,
            "stun.timeout",
            technique="udp.timeout",
            witnesses=(seen,),
            counter_evidence=(
                "one STUN server's silence: public STUN servers often stop "
                "answering, and no control measured this one",
            ),
        )
    elif kind is FailureKind.REFUSED:
        layer = RULES.verdict(Layer.UDP, "stun.refused", witnesses=(seen,))
    else:
        layer = RULES.verdict(Layer.UDP, "stun.failed_other", witnesses=(seen,))
    return verdict_of(
        measurement,
        (layer,),
        access=Layer.UDP,
        reason=f"{keys.endpoint}: {keys.failure} (no control to tell down from blocked)"
        if keys.failure
        else None,
    )
