"""TLS interception: a certificate the probe refused where the test helper validated one.

OONI's test helper answers only whether its handshake validated (ooni.md §2: `tls_handshake`
{server_name, status, failure}), never the certificate, so "the chain differs from the
control's" is read as: for the same endpoint and server name, the control's chain validated
and the probe's did not. Go probes record the chain they were shown even when validation
fails (df-006 `peer_certificates`); its leaf says who forged it:

- an issuer the probe's trust store does not know (`ssl_unknown_authority`) vouching for the
  site's own name is a forged certificate — the site's real chain validated for the helper;
- a certificate whose names do not cover the site is another site's, or a blockpage's;
- an issuer that names a product (:data:`ISSUERS`) names the interception's vendor.

A certificate for the site's own name from a public CA (expired, an incomplete chain) is
none of these: the finding is not made (e.g. ooni-backend-fastpath/web_connectivity_null2.json,
yooz.ir's own Certum certificate, `ssl_invalid_certificate`). The layer's verdict stays the
transport rules' (`tls.certificate_control_ok`); this adds what the certificate shows.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from cryptography import x509
from cryptography.x509.oid import NameOID

from netvigil.analysis.model import Observed, ObservedEndpoint
from netvigil.analysis.verdicts import Finding, Layer, Witness
from netvigil.failures import Failure, FailureKind, kind_of
from netvigil.records import TLSHandshake, WebConnectivityKeys


@dataclass(frozen=True)
class Issuer:
    who: str
    pattern: re.Pattern[str]  # searched in the issuer's RFC 4514 string
    product: bool  # a product names a vendor; a state CA names who runs the interception
    source: str


ISSUERS: tuple[Issuer, ...] = (
    Issuer(
        "Fortinet FortiGate",
        re.compile(r"\bO=Fortinet\b|FortiGate", re.IGNORECASE),
        True,
        "docs.fortinet.com, config firewall ssl default-certificate: deep inspection signs "
        "with the appliance's Fortinet_CA_SSL",
    ),
    Issuer(
        "pfSense pfBlockerNG",
        re.compile(r"pfBlockerNG", re.IGNORECASE),
        True,
        "ooni/blocking-fingerprints fingerprints_dns.csv ooni.kh_dns_2: issuer "
        "'O=pfBlockerNG DNSBL Self-Signed Certificate'",
    ),
    Issuer(
        "Qaznet Trust Network (Kazakhstan)",
        re.compile(r"Qaznet Trust Network", re.IGNORECASE),
        False,
        "censoredplanet.org/kazakhstan: the state's root CA for carrier-level interception",
    ),
)


@dataclass(frozen=True)
class Leaf:
    issuer: str
    subject: str
    names: tuple[str, ...]  # subjectAltName DNS names, else the subject's CN


def leaf_of(handshake: TLSHandshake) -> Leaf | None:
    """The first certificate the server sent, read; None when none was recorded or it is
    not a certificate."""
    if not handshake.peer_certificates:
        return None
    try:
        cert = x509.load_der_x509_certificate(handshake.peer_certificates[0].to_bytes())
    except ValueError:
        return None
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        names = tuple(san.get_values_for_type(x509.DNSName))
    except (x509.ExtensionNotFound, ValueError):
        names = ()
    if not names:
        names = tuple(
            str(a.value) for a in cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
        )
    return Leaf(cert.issuer.rfc4514_string(), cert.subject.rfc4514_string(), names)


def covers(names: tuple[str, ...], host: str) -> bool:
    """RFC 6125 matching: the name itself, or a `*.` wildcard for exactly one left label."""
    host = host.lower().rstrip(".")
    for name in names:
        name = name.lower().rstrip(".")
        if name == host:
            return True
        if name.startswith("*.") and "." in host and host.split(".", 1)[1] == name[2:]:
            return True
    return False


def forged(leaf: Leaf, host: str, failure: str) -> tuple[list[str], Issuer | None] | None:
    """Why a refused certificate is not the site's (and the issuer it names), or None when
    it is the site's own: its names cover `host` and it failed for another reason than an
    unknown issuer, from an issuer no product of :data:`ISSUERS` is."""
    named = covers(leaf.names, host)
    issuer = next((i for i in ISSUERS if i.pattern.search(leaf.issuer)), None)
    if named and issuer is None and failure != Failure.SSL_UNKNOWN_AUTHORITY:
        return None
    why = [f"issued by {leaf.issuer or '(no issuer)'}"]
    if not named:
        why.append(f"for {', '.join(leaf.names) or 'no name'}, not {host}")
    if issuer is not None:
        why.append(f"{issuer.who} ({issuer.source})")
    return why, issuer


def _handshake(keys: WebConnectivityKeys, obs: ObservedEndpoint) -> tuple[int, TLSHandshake] | None:
    for n, handshake in enumerate(keys.tls_handshakes or ()):
        if obs.transaction_id and handshake.transaction_id == obs.transaction_id:
            return n, handshake
        if not obs.transaction_id and handshake.address == obs.endpoint:
            return n, handshake
    return None


def tls_interception(
    keys: WebConnectivityKeys, seen: Observed
) -> tuple[tuple[Finding, ...], str | None]:
    """The interception findings of one measurement, and the product an issuer names."""
    findings: list[Finding] = []
    vendor: str | None = None
    for obs in seen.endpoints:
        failure = obs.tls_failure or ""
        if kind_of(failure) is not FailureKind.TLS_CERTIFICATE or obs.ctrl_tls_failure != "":
            continue  # not a certificate refused where the control validated the same endpoint
        found = _handshake(keys, obs)
        leaf = leaf_of(found[1]) if found is not None else None
        if found is None or leaf is None:
            continue
        host = obs.tls_server_name or found[1].server_name or seen.domain
        judged = forged(leaf, host, failure)
        if judged is None:
            continue
        why, issuer = judged
        if issuer is not None and issuer.product and vendor is None:
            vendor = issuer.who
        findings.append(
            Finding(
                kind="tls_interception",
                layer=Layer.TLS,
                detail=f"the certificate the probe was shown for {host} was " + "; ".join(why),
                witnesses=(
                    Witness(
                        ref=f"test_keys.tls_handshakes[{found[0]}].peer_certificates[0]",
                        observed=f"issuer: {leaf.issuer}; subject: {leaf.subject}; {failure}",
                        control=f"the test helper validated {obs.endpoint} for {host}",
                    ),
                ),
            )
        )
    return tuple(findings), vendor
