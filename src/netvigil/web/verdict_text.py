"""A verdict in plain language: what the probe saw, and what we conclude from it.

The blockpage a DNS answer matched is named from the fingerprints (the bundled OONI list,
as the pipeline reads it), and OONI's own verdicts get sentences of their own (`ooni`),
saying whose they are.

Each sentence is an English message id with named parameters (`Sentence`), translated when
the page is rendered (`{{ _(s.text, **s.params) }}` in measurement.html), so a translator
sees whole sentences, never fragments glued together. `N_` only marks a string for
extraction (pybabel's default keywords include it); nothing is translated here.

The words follow the techniques the rules name (analysis/dns_rules.py, transport_rules.py,
http_rules.py): a technique says *how* the access failed, the rule *why* we call it so, and
the outcome is never stronger than the rule's (an "ok" needs the page reached; no control,
no verdict). The other nettests' techniques and findings have their words in
web/nettest_words.py (issue 13); a messaging app's are said with the app's name.
"""

from __future__ import annotations

import functools
import re

import msgspec

from netvigil.analysis.fingerprints import FingerprintDB, confirms
from netvigil.analysis.verdicts import Finding, Verdict
from netvigil.observatory.ooni_verdicts import Verdict as OONIVerdict
from netvigil.records import AnyMeasurement, answer_addresses, web_connectivity_keys
from netvigil.web.nettest_words import APP_HOW, APPS, FINDINGS, NETTEST_HOW, canonical

_QUERY = re.compile(r"test_keys\.queries\[(\d+)\]")


def N_(text: str) -> str:
    """Marks `text` for the catalogue; it is translated where it is shown."""
    return text


class Sentence(msgspec.Struct, frozen=True):
    text: str
    params: dict[str, str] = {}


_FAILURES = ("timeout", "reset", "refused", "eof", "unreachable", "failure")
HOW: dict[str, str] = {
    "dns_blockpage_ip": N_("DNS returned an address of a known blockpage"),
    "dns_nxdomain": N_("DNS said the name does not exist, while the test helper resolved it"),
    "dns_no_answer": N_("DNS gave no address for the name"),
    "dns_refused": N_("The DNS resolver refused to answer"),
    "dns_servfail": N_("The DNS resolver answered with a server error"),
    "dns_timeout": N_("The DNS lookup timed out"),
    "dns_failure": N_("The DNS lookup failed"),
    "dns_bogon": N_("DNS returned a private (bogon) address the test helper did not see"),
    "dns_loopback": N_("DNS returned a loopback address the test helper did not see"),
    "dns_injection": N_("DNS returned an address that is not valid for the site"),
    "tcp_timeout": N_("Connecting to the site's address timed out"),
    "tcp_reset": N_("The connection to the site's address was reset"),
    "tcp_refused": N_("The connection to the site's address was refused"),
    "tcp_eof": N_("The connection to the site's address was closed at once"),
    "tcp_unreachable": N_("The site's address was unreachable"),
    "tcp_failure": N_("Connecting to the site's address failed"),
    "tls_timeout": N_("The TLS handshake timed out"),
    "tls_reset": N_("The TLS handshake was reset"),
    "tls_refused": N_("The TLS handshake was refused"),
    "tls_eof": N_("The connection was closed during the TLS handshake"),
    "tls_unreachable": N_("The site became unreachable during the TLS handshake"),
    "tls_failure": N_("The TLS handshake failed"),
    "tls_mitm_certificate": N_("The TLS certificate was not the one the test helper saw"),
    "http_timeout": N_("The web request timed out"),
    "http_reset": N_("The web request was reset"),
    "http_refused": N_("The web request was refused"),
    "http_eof": N_("The connection was closed during the web request"),
    "http_unreachable": N_("The site became unreachable during the web request"),
    "http_failure": N_("The web request failed"),
    "http_diff": N_("The page fetched differs from the one the test helper fetched"),
    "http_redirect_bogon": N_("The site's answer redirected to a private address"),
    "throttling": N_("The download was far slower than the test helper's (throttled)"),
    "server_challenge": N_("The site answered with its own bot challenge, not a censor's page"),
    **NETTEST_HOW,  # the other nettests' (issue 13)
}
BLOCKPAGE = N_("The page fetched is a known blockpage (fingerprint %(fingerprint)s)")
DNS_BLOCKPAGE = N_("DNS returned an address of a known blockpage (fingerprint %(fingerprint)s)")
UNKNOWN = N_("The probe saw %(technique)s")


def how(
    technique: str | None, fingerprints: tuple[str, ...] = (), test: str = ""
) -> Sentence | None:
    """What the probe saw, in words; None when the rule names no technique. `test` (the
    nettest's name) picks a messaging app's own words over web_connectivity's."""
    if technique is None:
        return None
    if technique.startswith("http_blockpage:"):
        return Sentence(BLOCKPAGE, {"fingerprint": technique.partition(":")[2]})
    if technique == "dns_blockpage_ip" and fingerprints:
        return Sentence(DNS_BLOCKPAGE, {"fingerprint": ", ".join(fingerprints)})
    app = APPS.get(test)
    if app is not None and (said := APP_HOW.get(canonical(technique, APP_HOW))):
        return Sentence(said, {"app": app})
    text = HOW.get(canonical(technique, HOW))
    if text:
        return Sentence(text)
    return Sentence(UNKNOWN, {"technique": technique})


def finding(kind: str) -> Sentence | None:
    """A finding's kind in words (its detail stays the analyser's); None when unknown."""
    text = FINDINGS.get(kind)
    return Sentence(text) if text else None


def findings(found: tuple[Finding, ...]) -> list[dict[str, object]]:
    """The findings as the measurement page lists them: the kind in words, then the kind,
    the layer and the analyser's detail."""
    return [
        {
            "kind": f.kind,
            "layer": f.layer.value.upper(),
            "words": finding(f.kind),
            "detail": f.detail,
        }
        for f in found
    ]


@functools.cache
def fingerprints() -> FingerprintDB:
    return FingerprintDB.load()


def dns_fingerprints(measurement: AnyMeasurement, verdict: Verdict) -> tuple[str, ...]:
    """The blockpage fingerprints the DNS layer's witnessed answers matched (and confirm)."""
    keys = web_connectivity_keys(measurement)
    queries = (keys.queries if keys is not None else None) or []
    cc = (measurement.probe_cc or "ZZ").upper()
    names: dict[str, None] = {}
    for layer in verdict.layers:
        for witness in layer.witnesses if layer.technique == "dns_blockpage_ip" else ():
            found = _QUERY.fullmatch(witness.ref)
            if found is None or int(found.group(1)) >= len(queries):
                continue
            for ip in sorted(answer_addresses(queries[int(found.group(1))].answers)):
                for match in fingerprints().match_dns(ip):
                    if confirms(match.fingerprint, cc):
                        names[match.fingerprint.name] = None
    return tuple(names)


def _score(value: float) -> str:
    return f"{value:.2f}"


def conclusion(
    outcome: str,
    *,
    layer: str | None,
    rule: str | None,
    confidence: float,
    reason: str | None = None,
    test: str = "",
) -> Sentence:
    """What we conclude: the outcome, where, by which rule and how sure."""
    where = {"layer": (layer or "").upper(), "rule": rule or "—", "confidence": _score(confidence)}
    if outcome == "blocked":
        text = N_("Blocked at the %(layer)s layer: rule %(rule)s, confidence %(confidence)s.")
        return Sentence(text, where)
    if outcome == "tampered":
        text = N_(
            "Tampered with: traffic was altered in transit at the %(layer)s layer, not "
            "refused (rule %(rule)s, confidence %(confidence)s)."
        )
        return Sentence(text, where)
    if outcome == "down":
        text = N_(
            "Down, not blocked: the site failed for the test helper too, at the %(layer)s "
            "layer (rule %(rule)s, confidence %(confidence)s)."
        )
        return Sentence(text, where)
    if outcome == "ok":
        if test and test != "web_connectivity":
            text = N_(
                "Works: the probe reached the service (rule %(rule)s, confidence %(confidence)s)."
            )
            return Sentence(text, where)
        text = N_(
            "Accessible: the probe reached the page (rule %(rule)s, confidence %(confidence)s)."
        )
        return Sentence(text, where)
    if outcome == "insufficient":
        why = {"reason": reason or "no layer has evidence for an outcome"}
        if rule:  # the layer whose rule says why nothing can be said (layered.py)
            text = N_("No verdict: the evidence is insufficient (%(reason)s; rule %(rule)s).")
            return Sentence(text, {**why, "rule": rule})
        return Sentence(N_("No verdict: the evidence is insufficient (%(reason)s)."), why)
    if outcome == "unanalysed":
        text = N_(
            "Not analysed: netvigil has no layered analysis of the %(test)s test yet; the "
            "measurement is kept as it was made."
        )
        return Sentence(text, {"test": test})
    text = N_("This measurement could not be analysed: %(reason)s.")
    return Sentence(text, {"reason": reason or "unknown error"})


def summary(
    outcome: str,
    *,
    layer: str | None,
    technique: str | None,
    rule: str | None,
    confidence: float,
    reason: str | None = None,
    test: str = "",
    fingerprints: tuple[str, ...] = (),
) -> list[Sentence]:
    """The verdict in one or two sentences: what was seen (for blocked, tampered, down and
    ok), then what it means."""
    seen = outcome in ("blocked", "tampered", "down", "ok")
    said = how(technique, fingerprints, test) if seen else None
    last = conclusion(
        outcome, layer=layer, rule=rule, confidence=confidence, reason=reason, test=test
    )
    return [said, last] if said is not None else [last]


def ooni(row: OONIVerdict) -> Sentence:
    """OONI's fastpath verdict of a measurement (observatory/ooni_verdicts.py), in its own
    words: OONI's `msm_failure`, `confirmed`, `anomaly` and `blocking_type`, never ours."""
    kind = {"blocking_type": row.blocking_type or "—"}
    if row.msm_failure:
        return Sentence(N_("OONI's fastpath could not score this measurement (a failure)."))
    if row.confirmed:
        text = N_(
            "OONI's fastpath: confirmed blocked (a known blockpage), blocking type "
            "%(blocking_type)s."
        )
        return Sentence(text, kind)
    if row.anomaly:
        text = N_("OONI's fastpath: an anomaly, not confirmed, blocking type %(blocking_type)s.")
        return Sentence(text, kind)
    return Sentence(N_("OONI's fastpath: no anomaly."))
