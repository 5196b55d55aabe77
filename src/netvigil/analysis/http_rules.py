"""The HTTP layer: what happened to the request, and was the page the site's?

OONI's new pipeline does not score HTTP at all (ooni.md §9); its classic keys call every
difference "http-diff" and every failure "http-failure". We separate:

- a blockpage, recognised by a fingerprint (confirmed when its country fits);
- a legitimate CDN/WAF page (an `fp`-scope fingerprint, or a Cloudflare-style challenge
  answered with 403/429/503): a server-side challenge is not censorship (ooni/probe#2661,
  #2528), so it is named `server_challenge` and scored ok;
- a reset, EOF or timeout while the control fetched the page;
- throttling: the response started (a status code arrived) and the body then stalled
  (the netem `throttling*` scenarios; ooni.md §3.2 on network events);
- a server's own broken redirect or redirect loop: the site is down for everyone.

Fingerprints are matched on every cleartext response of the redirect chain, not only the
last: a censor's 302 to its blockpage (`Location: http://lamanlabuh.aduankonten.id`, ID) is
itself the artefact, whatever the page it leads to looks like. Each row is matched where its
`location_found` says (the body, or one header).

The final response is compared with the control's with OONI's own diff
(:mod:`netvigil.analysis.httpdiff`), with one correction: two pages that both lack a title
(or share no word of one) do not show a title match. Over validated TLS the page is
trusted, as OONI does.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import msgspec

from netvigil.addresses import parse_ip
from netvigil.analysis.fingerprints import FingerprintDB, FingerprintMatch, confirms
from netvigil.analysis.httpdiff import HTTPDiff, compare, titles_share_a_word
from netvigil.analysis.model import Observed, ObservedHTTP
from netvigil.analysis.verdicts import Finding, Layer, LayerVerdict, Witness
from netvigil.analysis.web_rules import layer_verdict
from netvigil.failures import FailureKind, is_unknown, kind_of

# Legacy probes report these as the HTTP failure; they belong to the DNS or TLS layer.
_OTHER_LAYERS = frozenset(
    (
        FailureKind.TLS_CERTIFICATE,
        FailureKind.TLS_OTHER,
        FailureKind.NXDOMAIN,
        FailureKind.NO_ANSWER,
        FailureKind.DNS_REFUSED,
        FailureKind.DNS_SERVER_ERROR,
        FailureKind.DNS_BOGON,
    )
)
_CHALLENGE_STATUS = frozenset((403, 429, 503))
_CHALLENGE_MARKERS = ("cf-chl", "cf_chl", "challenge-platform", "captcha", "Just a moment")


def _witness(step: ObservedHTTP, seen: Observed) -> Witness:
    observed = step.failure or f"HTTP {step.status}, {step.body_length} bytes, title {step.title!r}"
    control = None
    if seen.control is not None:
        ctrl = seen.control
        control = ctrl.page_failure or (
            f"HTTP {ctrl.http_status}, {ctrl.http_body_length} bytes, title {ctrl.http_title!r}"
        )
    return Witness(
        ref=f"test_keys.requests[{step.index}] {step.url}", observed=observed, control=control
    )


def diff_of(step: ObservedHTTP, seen: Observed) -> HTTPDiff | None:
    ctrl = seen.control
    if ctrl is None or ctrl.page_failure:
        return None
    diff = compare(
        probe_status=step.status,
        probe_body_length=step.body_length,
        probe_truncated=step.truncated,
        probe_headers=frozenset(step.headers),
        probe_title=step.title,
        control_status=ctrl.http_status,
        control_body_length=ctrl.http_body_length,
        control_headers=ctrl.http_headers,
        control_title=ctrl.http_title,
    )
    if diff.title_match and not titles_share_a_word(step.title, ctrl.http_title):
        # OONI's rule calls two untitled pages a title match (no long word differs); an
        # untitled 158-byte page against an untitled 1.5 KB control does not show one.
        diff = msgspec.structs.replace(diff, title_match=None)
    return diff


def _fingerprint_witness(step: ObservedHTTP, match: FingerprintMatch) -> Witness:
    where = "body" if match.location == "body" else f"headers.{match.location[7:]}"
    shown = match.witness if len(match.witness) <= 200 else match.witness[:200] + "..."
    return Witness(
        ref=f"test_keys.requests[{step.index}].response.{where}",
        observed=f"fingerprint {match.fingerprint.name} ({match.fingerprint.scope}): {shown!r}",
    )


def _chain_blockpage(
    seen: Observed, fingerprints: FingerprintDB, probe_cc: str, final: ObservedHTTP
) -> tuple[LayerVerdict | None, list[Finding]]:
    """A confirming blockpage fingerprint on a cleartext response other than the final page.

    Redirects (also the last one of a chain cut short) and a response whose body stalled are
    matched here; a final page is matched by :func:`http_layer`, which also weighs CDN pages.
    """
    findings: list[Finding] = []
    for step in seen.http:
        if (step is final and step.final) or step.over_tls or not step.status:
            continue
        # Most of these are redirects without a body: no pattern is empty, so skip the scan.
        for match in fingerprints.match_http(step.body or None, step.headers):
            if match.fingerprint.scope == "fp":
                continue
            if confirms(match.fingerprint, probe_cc):
                return _blockpage(step, seen, match), findings
            findings.append(
                Finding(
                    kind="http_fingerprint_unconfirmed",
                    layer=Layer.HTTP,
                    detail=f"{match.location} of the HTTP {step.status} response from "
                    f"{step.url} matches {match.fingerprint.name} ({match.fingerprint.scope}, "
                    f"{','.join(match.fingerprint.expected_countries) or 'no country'})",
                    witnesses=(_witness(step, seen), _fingerprint_witness(step, match)),
                )
            )
    return None, findings


def _blockpage(step: ObservedHTTP, seen: Observed, match: FingerprintMatch) -> LayerVerdict:
    return layer_verdict(
        Layer.HTTP,
        "http.blockpage_fingerprint",
        technique=f"http_blockpage:{match.fingerprint.name}",
        confirmed=True,
        witnesses=(_witness(step, seen), _fingerprint_witness(step, match)),
    )


def _challenge(step: ObservedHTTP, legit: list[FingerprintMatch]) -> bool:
    if step.status not in _CHALLENGE_STATUS:
        return False
    cdn = "cf-ray" in step.headers or step.headers.get("server", "").lower() == "cloudflare"
    return bool(legit) or (cdn and any(marker in step.body for marker in _CHALLENGE_MARKERS))


def _failure_verdict(
    step: ObservedHTTP, seen: Observed, witness: tuple[Witness, ...]
) -> LayerVerdict:
    kind = kind_of(step.failure)
    if seen.control is None:
        return layer_verdict(Layer.HTTP, "http.failure_no_control", witnesses=witness)
    if seen.control.page_failure:
        return layer_verdict(Layer.HTTP, "http.failure_control_also_failing", witnesses=witness)
    if step.status and kind is FailureKind.TIMEOUT:
        return layer_verdict(
            Layer.HTTP, "http.throttled", technique="throttling", witnesses=witness
        )
    target = urlsplit(step.headers.get("location", "")).hostname or ""
    if step.status // 100 == 3 and parse_ip(target) is not None and seen.bogon(target):
        # A redirect to a private address: a captive portal or an ISP blockpage
        # (e.g. Check Point UserCheck in web_connectivity_b64_hdr.json, AU).
        return layer_verdict(
            Layer.HTTP, "http.redirect_to_bogon", technique="http_redirect_bogon", witnesses=witness
        )
    if step.status // 100 == 3 and (kind is FailureKind.HTTP_PROTOCOL or is_unknown(step.failure)):
        # The server itself answered with a redirect the client cannot follow.
        return layer_verdict(Layer.HTTP, "http.server_protocol_error", witnesses=witness)
    names = {
        FailureKind.RESET: "http_reset",
        FailureKind.EOF: "http_eof",
        FailureKind.TIMEOUT: "http_timeout",
    }
    technique = names.get(kind, "http_failure")
    return layer_verdict(
        Layer.HTTP, "http.failure_control_ok", technique=technique, witnesses=witness
    )


def http_layer(
    seen: Observed,
    fingerprints: FingerprintDB,
    probe_cc: str,
    untrusted: frozenset[str],
    ips: dict[int, str],
    diff: HTTPDiff | None,
) -> tuple[LayerVerdict, list[Finding]]:
    """The HTTP layer's verdict over the deepest request.

    `ips` maps transaction ids to addresses; `diff` is that request's comparison with the
    control (:func:`diff_of`), None without a usable control.
    """
    if not seen.http:
        return layer_verdict(Layer.HTTP, "http.no_data"), []
    step = max(seen.http, key=lambda s: s.depth)
    witness = (_witness(step, seen),)
    # A blockpage anywhere on the way decides, whatever happened after it.
    chained, findings = _chain_blockpage(seen, fingerprints, probe_cc, step)
    if chained is not None:
        return chained, findings
    if step.failure:
        if kind_of(step.failure) in _OTHER_LAYERS:
            return layer_verdict(Layer.HTTP, "http.no_data"), findings  # DNS's or TLS's matter
        return _failure_verdict(step, seen, witness), findings
    if not step.final:
        return layer_verdict(Layer.HTTP, "http.no_data", witnesses=witness), findings
    # Over validated TLS a blockpage cannot be injected; only a CDN challenge needs the
    # fingerprints there, and those come with a challenge status code.
    needs_match = not step.over_tls or step.status in _CHALLENGE_STATUS
    matches = fingerprints.match_http(step.body, step.headers) if needs_match else ()
    legit = [m for m in matches if m.fingerprint.scope == "fp"]
    blockpages = [m for m in matches if m.fingerprint.scope != "fp"]
    for match in blockpages:
        if not step.over_tls and confirms(match.fingerprint, probe_cc):
            return _blockpage(step, seen, match), findings
    if seen.control is None:
        # No control, no verdict: only a fingerprint (above) stands without one.
        return layer_verdict(Layer.HTTP, "http.final_no_control", witnesses=witness), findings
    if _challenge(step, legit):
        names = ", ".join(m.fingerprint.name for m in legit) or "CDN challenge markers"
        findings.append(
            Finding(
                kind="server_challenge",
                layer=Layer.HTTP,
                detail=f"HTTP {step.status} challenge page from the site's CDN ({names}): "
                "the server, not the network, refused the request",
                witnesses=witness,
            )
        )
        return layer_verdict(
            Layer.HTTP, "http.server_challenge", technique="server_challenge", witnesses=witness
        ), findings
    if step.over_tls:
        return layer_verdict(Layer.HTTP, "http.final_over_tls", witnesses=witness), findings
    if ips.get(step.transaction_id) in untrusted:
        return layer_verdict(Layer.HTTP, "http.no_data", witnesses=witness), findings
    if diff is None:  # the control's own fetch failed: nothing to compare with
        return layer_verdict(Layer.HTTP, "http.final_control_failed", witnesses=witness), findings
    if not diff.differs:
        return layer_verdict(Layer.HTTP, "http.matches_control", witnesses=witness), findings
    technique = f"http_blockpage:{blockpages[0].fingerprint.name}" if blockpages else "http_diff"
    counter = tuple(f"fingerprint {m.fingerprint.name} ({m.fingerprint.scope})" for m in legit)
    return layer_verdict(
        Layer.HTTP, "http.diff", technique=technique, witnesses=witness, counter_evidence=counter
    ), findings
