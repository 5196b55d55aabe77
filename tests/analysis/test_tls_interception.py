"""TLS interception: what a refused certificate shows where the test helper validated.

The measurement is OONI's netem QA scenario badSSLWithUnknownAuthorityWithConsistentDNS
(a probe refusing untrusted-root.badssl.com's certificate, the control refusing it too),
edited so the control validated the same endpoint and the probe's handshake carries a
certificate made here with the issuer under test; the "site's own certificate" case is the
real one recorded in ooni-backend-fastpath/web_connectivity_null2.json (yooz.ir, Certum).
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from netvigil.analysis.fingerprints import FingerprintDB
from netvigil.analysis.layered import analyze
from netvigil.analysis.tls_interception import covers, forged, leaf_of
from netvigil.analysis.verdicts import Outcome, Verdict
from netvigil.records import BinaryData, TLSHandshake, decode_measurement
from tests.corpus import MEASUREMENTS, QA

SITE = "untrusted-root.badssl.com"
ENDPOINT = "104.154.89.105:443"
KEY = ec.generate_private_key(ec.SECP256R1())


def certificate(issuer: str, names: list[str]) -> str:
    """A DER leaf, base64, issued by `issuer` (an RFC 4514 name: O=..., CN=...)."""
    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])]))
        .issuer_name(x509.Name.from_rfc4514_string(issuer))
        .public_key(KEY.public_key())
        .serial_number(1)
        .not_valid_before(start)
        .not_valid_after(start + dt.timedelta(days=90))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), False)
        .sign(KEY, hashes.SHA256())
    )
    return base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode()


def measured(cert: str | None, failure: str = "ssl_unknown_authority", ok: bool = True) -> Verdict:
    data: dict[str, Any] = json.loads(
        (QA / "badSSLWithUnknownAuthorityWithConsistentDNS.json").read_text()
    )
    keys = data["test_keys"]
    (handshake,) = keys["tls_handshakes"]
    assert (handshake["address"], handshake["server_name"]) == (ENDPOINT, SITE)
    handshake["failure"] = failure
    if cert is not None:
        handshake["peer_certificates"] = [{"format": "base64", "data": cert}]
    if ok:  # the control validated the same endpoint for the same name
        keys["control"]["tls_handshake"][ENDPOINT] = {
            "server_name": SITE,
            "status": True,
            "failure": None,
        }
    return analyze(decode_measurement(json.dumps(data).encode()), FingerprintDB.load())


def test_a_forged_certificate_from_a_fortigate_names_fortinet() -> None:
    issuer = "CN=FortiGate CA,O=Fortinet,C=US"
    verdict = measured(certificate(issuer, [SITE]))
    assert (verdict.outcome, verdict.rule, verdict.vendor) == (
        Outcome.BLOCKED,
        "tls.certificate_control_ok",  # the layer's verdict is the transport rules'
        "Fortinet FortiGate",
    )
    (finding,) = [f for f in verdict.findings if f.kind == "tls_interception"]
    (witness,) = finding.witnesses
    assert witness.ref == "test_keys.tls_handshakes[0].peer_certificates[0]"
    assert witness.observed == f"issuer: {issuer}; subject: CN={SITE}; ssl_unknown_authority"
    assert witness.control == f"the test helper validated {ENDPOINT} for {SITE}"


def test_a_certificate_for_another_name_is_interception_without_a_vendor() -> None:
    verdict = measured(certificate("CN=Blockpage CA", ["blocked.example"]), "ssl_invalid_hostname")
    (finding,) = [f for f in verdict.findings if f.kind == "tls_interception"]
    assert f"for blocked.example, not {SITE}" in finding.detail
    assert verdict.vendor is None


def test_a_state_ca_is_named_but_is_no_vendor() -> None:
    verdict = measured(certificate("CN=Qaznet Trust Network", [SITE]))
    (finding,) = [f for f in verdict.findings if f.kind == "tls_interception"]
    assert "Qaznet Trust Network (Kazakhstan)" in finding.detail
    assert verdict.vendor is None


def test_no_finding_where_the_control_failed_too_or_no_certificate_was_recorded() -> None:
    fortigate = certificate("CN=FortiGate CA,O=Fortinet", [SITE])
    assert [f.kind for f in measured(fortigate, ok=False).findings] == []
    assert [f.kind for f in measured(None).findings] == []  # as OONI's QA probe recorded it


def test_the_sites_own_expired_certificate_is_not_interception() -> None:
    data = json.loads(
        (MEASUREMENTS / "ooni-backend-fastpath" / "web_connectivity_null2.json").read_text()
    )
    (recorded,) = data["test_keys"]["tls_handshakes"]
    handshake = TLSHandshake(
        peer_certificates=[BinaryData(**recorded["peer_certificates"][0])],
        server_name=recorded["server_name"],
    )
    leaf = leaf_of(handshake)
    assert leaf is not None and leaf.names == ("*.yooz.ir", "yooz.ir")
    assert "Certum" in leaf.issuer
    assert forged(leaf, "yooz.ir", "ssl_invalid_certificate") is None
    # The same certificate shown for another site is not that site's.
    judged = forged(leaf, SITE, "ssl_invalid_hostname")
    assert judged is not None and judged[1] is None


def test_names_cover_a_host_as_rfc6125_says() -> None:
    assert covers(("*.yooz.ir",), "www.yooz.ir")
    assert covers(("Example.ORG.",), "example.org")
    assert not covers(("*.yooz.ir",), "yooz.ir")
    assert not covers(("*.yooz.ir",), "a.b.yooz.ir")


def test_a_recorded_certificate_that_does_not_parse_shows_nothing() -> None:
    garbage = TLSHandshake(peer_certificates=[BinaryData(data="bm90IGEgY2VydA==")])
    assert leaf_of(garbage) is None
    assert [f.kind for f in measured("bm90IGEgY2VydA==").findings] == []
