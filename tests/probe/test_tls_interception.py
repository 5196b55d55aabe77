"""Our probe finds TLS interception, and names the product, end to end on loopback.

A transparent proxy between the probe and the site presents, for the site's own names, a
certificate issued by a CA named like a FortiGate's (analysis/tls_interception.py ISSUERS);
the test helper reaches the real site, whose certificate validates. The probe refuses the
forged chain and, since net/tls_chain.py, records it (df-006 `peer_certificates`), so the
verdict can say whose CA forged it: before, only Go probes' data could.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from cryptography import x509

from netvigil.addresses import Bogons
from netvigil.analysis.fingerprints import FingerprintDB
from netvigil.analysis.layered import analyze_web
from netvigil.analysis.verdicts import Outcome
from netvigil.records import WebMeasurement
from tests.probe.scenarios import PAGE, SITE_ZONE, measure_in
from tests.probe.world import world

LAB = Bogons.with_lab(["127.0.0.0/8"])


async def intercepted(folder: Path, interceptor: str | None) -> WebMeasurement:
    async with world(
        folder, honest_zone=SITE_ZONE, probe_zone=SITE_ZONE, site=PAGE, interceptor=interceptor
    ) as w:
        return await measure_in(w, f"https://www.example.com:{w.https.port}/", (w.helper_url,))


def test_a_fortigate_intercepting_tls_is_found_and_named(tmp_path: Path) -> None:
    measurement = asyncio.run(intercepted(tmp_path, "FortiGate CA"))
    keys = measurement.test_keys
    assert keys is not None
    (handshake,) = keys.tls_handshakes or []
    assert handshake.failure == "ssl_unknown_authority"
    (leaf,) = handshake.peer_certificates or []
    issuer = x509.load_der_x509_certificate(leaf.to_bytes()).issuer.rfc4514_string()
    assert issuer == "CN=FortiGate CA"  # the forged chain, as the proxy sent it
    # The helper validated the site's real certificate.
    assert keys.control is not None and keys.control.tls_handshake is not None
    (control,) = keys.control.tls_handshake.values()
    assert (control.status, control.failure) == (True, None)
    verdict = analyze_web(measurement, keys, FingerprintDB.load(), LAB)
    assert (verdict.outcome, verdict.vendor) == (Outcome.BLOCKED, "Fortinet FortiGate")
    (finding,) = [f for f in verdict.findings if f.kind == "tls_interception"]
    assert [w.ref for w in finding.witnesses] == [
        "test_keys.tls_handshakes[0].peer_certificates[0]"
    ]


def test_without_the_proxy_the_same_site_is_ok_and_its_chain_is_recorded(tmp_path: Path) -> None:
    measurement = asyncio.run(intercepted(tmp_path, None))
    keys = measurement.test_keys
    assert keys is not None
    (handshake,) = keys.tls_handshakes or []
    assert handshake.failure is None and len(handshake.peer_certificates or []) == 1
    verdict = analyze_web(measurement, keys, FingerprintDB.load(), LAB)
    assert verdict.outcome is Outcome.OK
    assert not [f for f in verdict.findings if f.kind == "tls_interception"]
