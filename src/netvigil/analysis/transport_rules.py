"""The TCP and TLS layers: did connections to the site's own addresses get through?

Per endpoint, as OONI's new pipeline does (ooni.md §9: `connect_ok`, `failure_ctrl_ok`,
`failure_ctrl_also_failing`, `ipv6_broken_probe`, `dns_untrusted`), then aggregated over
the deepest redirect the probe reached: one working endpoint there means the layer let the
page through, and the failures become counter-evidence. A certificate error where the
control validated the same endpoint is a middlebox certificate, an artefact that confirms
(ooni.md §9 key idea 5). Legacy probes record TLS errors only as the HTTP failure of an
https:// URL, so those are read from the HTTP steps.
"""

from __future__ import annotations

from collections.abc import Callable

from netvigil.analysis.model import Observed, ObservedEndpoint
from netvigil.analysis.verdicts import Layer, LayerVerdict, Outcome, Witness
from netvigil.analysis.web_rules import RULES, layer_verdict, rule_confidence, rule_outcome
from netvigil.failures import FailureKind, is_misconfigured_ipv6, kind_of

_KIND_NAME = {
    FailureKind.TIMEOUT: "timeout",
    FailureKind.RESET: "reset",
    FailureKind.REFUSED: "refused",
    FailureKind.EOF: "eof",
    FailureKind.UNREACHABLE: "unreachable",
}


def _technique(layer: Layer, failure: str) -> str:
    return f"{layer.value}_{_KIND_NAME.get(kind_of(failure), 'failure')}"


def _witness(obs: ObservedEndpoint, layer: Layer) -> Witness:
    observed: str | None
    if layer is Layer.TCP:
        ref, observed, control = "tcp_connect", obs.tcp_failure, obs.ctrl_tcp_failure
    else:
        ref, observed, control = "tls_handshakes", obs.tls_failure, obs.ctrl_tls_failure
    shown = None if control is None else (control or "success")
    return Witness(
        ref=f"test_keys.{ref}[transaction_id={obs.transaction_id}] {obs.endpoint}",
        observed=observed or "success",
        control=shown,
    )


def _page_ok(seen: Observed) -> bool:
    return seen.control is not None and not seen.control.page_failure


def _tcp_rule(seen: Observed, obs: ObservedEndpoint) -> tuple[str, str | None]:
    failure = obs.tcp_failure or ""
    if not failure:
        return "tcp.connect_ok", None
    technique = _technique(Layer.TCP, failure)
    if obs.ctrl_tcp_failure is not None:
        return (
            ("tcp.failure_control_also_failing", None)
            if obs.ctrl_tcp_failure
            else ("tcp.failure_control_ok", technique)
        )
    if _page_ok(seen):
        return "tcp.failure_after_redirect_page_ok", technique
    return "tcp.failure_no_control", technique


def _tls_rule(seen: Observed, obs: ObservedEndpoint) -> tuple[str, str | None]:
    failure = obs.tls_failure or ""
    if not failure:
        return "tls.handshake_ok", None
    kind = kind_of(failure)
    technique = (
        "tls_mitm_certificate"
        if kind is FailureKind.TLS_CERTIFICATE
        else _technique(Layer.TLS, failure)
    )
    if obs.ctrl_tls_failure is not None:
        if obs.ctrl_tls_failure:
            return "tls.failure_control_also_failing", None
        if kind is FailureKind.TLS_CERTIFICATE:
            return "tls.certificate_control_ok", technique
        if kind is FailureKind.RESET:
            return "tls.failure_control_ok_reset", technique
        return "tls.failure_control_ok_other", technique
    if _page_ok(seen):
        return "tls.failure_after_redirect_page_ok", technique
    return "tls.failure_no_control", technique


def _aggregate(
    layer: Layer,
    seen: Observed,
    endpoints: list[ObservedEndpoint],
    rule_of: Callable[[Observed, ObservedEndpoint], tuple[str, str | None]],
) -> LayerVerdict:
    if not endpoints:
        return layer_verdict(layer, f"{layer.value}.no_data")
    deepest = max(o.depth or 0 for o in endpoints)
    judged = [(obs, *rule_of(seen, obs)) for obs in endpoints if (obs.depth or 0) == deepest]
    working = [(obs, rule) for obs, rule, _ in judged if rule_outcome(rule) is Outcome.OK]
    if working:
        failures = tuple(
            f"{w.ref}: {w.observed}"
            for obs, rule, _ in judged
            if rule_outcome(rule) is not Outcome.OK
            for w in (_witness(obs, layer),)
        )
        return layer_verdict(
            layer,
            working[0][1],
            witnesses=tuple(_witness(obs, layer) for obs, _ in working),
            counter_evidence=failures,
        )
    # No endpoint got through: the most blocked-looking one speaks for the layer.
    obs, rule, technique = max(judged, key=lambda j: (RULES[j[1]][0], rule_confidence(j[1])))
    return layer_verdict(
        layer,
        rule,
        technique=technique,
        confirmed=rule == "tls.certificate_control_ok",
        witnesses=(_witness(obs, layer),),
    )


def transport_layers(
    seen: Observed, untrusted: frozenset[str]
) -> tuple[LayerVerdict, LayerVerdict]:
    """The TCP and TLS verdicts, ignoring addresses nothing vouches for and broken IPv6."""
    usable = [
        o
        for o in seen.endpoints
        if o.ip not in untrusted and not is_misconfigured_ipv6(o.tcp_failure, o.ip or "")
    ]
    tcp = _aggregate(Layer.TCP, seen, usable, _tcp_rule)
    connected = [o for o in usable if o.tcp_failure == "" and o.tls_failure is not None]
    if seen.legacy:
        return tcp, _legacy_tls(seen)
    return tcp, _aggregate(Layer.TLS, seen, connected, _tls_rule)


def _legacy_tls(seen: Observed) -> LayerVerdict:
    https = [step for step in seen.http if step.over_tls]
    if not https:
        return layer_verdict(Layer.TLS, "tls.no_data")
    last = https[-1]
    kind = kind_of(last.failure)
    witness = (
        Witness(ref=f"test_keys.requests[{last.index}]", observed=last.failure or "success"),
    )
    if last.status or not last.failure:
        return layer_verdict(Layer.TLS, "tls.handshake_ok", witnesses=witness)
    if kind not in (FailureKind.TLS_CERTIFICATE, FailureKind.TLS_OTHER, FailureKind.RESET):
        return layer_verdict(Layer.TLS, "tls.no_data")
    if seen.control is None:
        return layer_verdict(Layer.TLS, "tls.failure_no_control", witnesses=witness)
    if seen.control.page_failure:
        return layer_verdict(Layer.TLS, "tls.failure_control_also_failing", witnesses=witness)
    if kind is FailureKind.TLS_CERTIFICATE:
        return layer_verdict(
            Layer.TLS,
            "tls.certificate_control_ok",
            technique="tls_mitm_certificate",
            # Not confirmed: legacy probes record neither the certificate nor which
            # connection of the redirect chain failed, so there is no artefact to show.
            confirmed=False,
            witnesses=witness,
        )
    rule = (
        "tls.failure_control_ok_reset"
        if kind is FailureKind.RESET
        else "tls.failure_control_ok_other"
    )
    return layer_verdict(
        Layer.TLS, rule, technique=_technique(Layer.TLS, last.failure), witnesses=witness
    )
