"""Middleboxes: did what reached the echo helper differ from what the probe sent?

http_header_field_manipulation (ts-006) sends a request whose header names have a random
capitalisation to a helper that answers, in JSON, the request line and headers exactly as
they reached it; http_invalid_request_line (ts-007) sends invalid request lines to a TCP
echo. What came back is compared with what was sent: a difference is traffic altered in
transit (outcome "tampered"), named change by change with sent and received side by side;
an intact echo is "ok"; no answer from the helper is "insufficient" — the helper may be
down, and without a control nothing says which.

OONI's fastpath (ooni/backend fastpath/core.py `score_measurement_hhfm`,
`score_http_invalid_request_line`) flags an anomaly when the echoed headers, less
`Connection: close`, differ from those sent, when the body is missing or not JSON, and when
any sent line differs from the one received; a measurement with no request or no response
scores accuracy 0. We follow it, with two differences said where they apply: a
request line whose capitalisation changed counts (fastpath compares headers only), and an
echo that brought nothing back for every method shows no helper at all (insufficient,
where fastpath says anomaly).
"""

from __future__ import annotations

from collections.abc import Callable

import msgspec

from netvigil.analysis.fingerprints import FingerprintDB
from netvigil.analysis.hhfm_echo import Change, changes, request_line_of, sent_headers
from netvigil.analysis.middlebox_products import (
    Identified,
    identify,
    looks_like_a_response,
    response_parts,
)
from netvigil.analysis.nettest_verdict import verdict_of
from netvigil.analysis.verdicts import Finding, Layer, LayerVerdict, RuleBook, Verdict, Witness
from netvigil.records import AnyMeasurement, bytes_of, text_of
from netvigil.records.envelope import decode_keys
from netvigil.records.middlebox import EchoAnswer, EchoTransaction, HHFMKeys, HIRLKeys

RULES = RuleBook(
    {
        # http_header_field_manipulation
        "hhfm.no_request": (0.0, 0.0, 0.0),  # the probe recorded no request (fastpath: accuracy 0)
        "hhfm.helper_unreachable": (0.0, 0.0, 0.0),  # no response: helper down, or cut off
        # The helper always answers 200 (oonib SimpleHTTPChannel); another status came from
        # something else on the path, or from a broken front of the helper.
        "hhfm.unexpected_status": (0.6, 0.4, 0.0),
        "hhfm.not_echo": (0.9, 0.05, 0.05),  # an answer, but not the helper's JSON echo
        "hhfm.echo_changed": (0.95, 0.0, 0.05),
        "hhfm.echo_intact": (0.0, 0.0, 1.0),
        # http_invalid_request_line
        "hirl.no_echo": (0.0, 0.0, 0.0),
        "hirl.echo_differs": (0.9, 0.05, 0.05),
        # Nothing came back for some lines while others were echoed: the helper was there.
        "hirl.echo_missing": (0.7, 0.3, 0.0),
        "hirl.echo_intact": (0.0, 0.0, 1.0),
    },
    tampering=frozenset(
        {
            "hhfm.unexpected_status",
            "hhfm.not_echo",
            "hhfm.echo_changed",
            "hirl.echo_differs",
            "hirl.echo_missing",
        }
    ),
)

_HEADER_REWRITE = "middlebox.header_rewrite"
_LINE_REWRITE = "middlebox.request_line_rewrite"
_PROXY = "middlebox.transparent_proxy"
_SHOWN = 200  # characters of a received text a witness shows


def _short(text: str) -> str:
    return text if len(text) <= _SHOWN else f"{text[:_SHOWN]}… ({len(text)} characters)"


def _product_finding(found: Identified, ref: str) -> Finding:
    return Finding(
        kind="middlebox_product",
        layer=Layer.HTTP,
        detail=f"{found.vendor}, named by {found.where} ({found.source})",
        witnesses=(Witness(ref=ref, observed=found.matched),),
    )


# --- http_header_field_manipulation ------------------------------------------------------


def _hhfm_layer(
    keys: HHFMKeys | None,
) -> tuple[LayerVerdict, str | None, Identified | None, str]:
    """The HTTP verdict, the reason when insufficient, a product and where it showed."""
    requests = (keys.requests if keys is not None else None) or []
    if not requests:
        return (
            RULES.verdict(Layer.HTTP, "hhfm.no_request"),
            ("the probe recorded no request to the echo helper"),
            None,
            "",
        )
    tx = requests[0]
    ref = "test_keys.requests[0]"
    if tx.response is None:
        failure = tx.failure or (keys.failure if keys else None) or "no response recorded"
        witness = Witness(ref=f"{ref}.failure", observed=failure)
        if failure == "http_request_failed":  # probe-cli: a status other than 200
            return (
                RULES.verdict(
                    Layer.HTTP, "hhfm.unexpected_status", technique=_PROXY, witnesses=(witness,)
                ),
                None,
                None,
                "",
            )
        verdict = RULES.verdict(Layer.HTTP, "hhfm.helper_unreachable", witnesses=(witness,))
        return verdict, f"the echo helper did not answer ({failure})", None, ""
    return _hhfm_compare(tx, keys, ref)


def _hhfm_compare(
    tx: EchoTransaction, keys: HHFMKeys | None, ref: str
) -> tuple[LayerVerdict, str | None, Identified | None, str]:
    assert tx.response is not None
    body = text_of(tx.response.body)
    answered = [(name, text_of(value)) for name, value in (tx.response.headers or {}).items()]
    code = tx.response.code
    answer = _echo(body)
    if answer is None or answer.headers_dict is None:
        shown = _short(body) if body else f"no body (HTTP {code})"
        witness = Witness(
            ref=f"{ref}.response.body", observed=shown, control="the helper's JSON echo"
        )
        found = identify(answered, [body])
        verdict = RULES.verdict(Layer.HTTP, "hhfm.not_echo", technique=_PROXY, witnesses=(witness,))
        return verdict, None, found, f"{ref}.response"
    found_changes = changes(sent_headers(tx.request), answer)
    expected = request_line_of(tx.request)
    if answer.request_line is not None and answer.request_line != expected:
        found_changes.append(
            Change(f"{ref}.request.method", "request line", answer.request_line, expected)
        )
    if not found_changes:
        witness = Witness(
            ref=f"{ref}.response.body",
            observed=f"echoed intact: {expected!r} and {len(sent_headers(tx.request))} headers",
            control=expected,
        )
        counter = _probe_disagrees(keys)
        verdict = RULES.verdict(
            Layer.HTTP, "hhfm.echo_intact", witnesses=(witness,), counter_evidence=counter
        )
        return verdict, None, None, ""
    headers_changed = any(c.what != "request line" for c in found_changes)
    witnesses = tuple(
        Witness(ref=c.ref, observed=f"{c.what}: {c.received}", control=c.sent)
        for c in found_changes
    )
    echoed = [c.header for c in found_changes if c.header is not None]
    verdict = RULES.verdict(
        Layer.HTTP,
        "hhfm.echo_changed",
        technique=_HEADER_REWRITE if headers_changed else _LINE_REWRITE,
        witnesses=witnesses,
    )
    return verdict, None, identify(echoed + answered), f"{ref}.response.body"


def _echo(body: str) -> EchoAnswer | None:
    try:
        return msgspec.json.decode(body, type=EchoAnswer)
    except msgspec.DecodeError:
        return None


def _probe_disagrees(keys: HHFMKeys | None) -> tuple[str, ...]:
    said = keys.tampering if keys is not None else None
    if said is None:
        return ()
    flags = [name for name, value in msgspec.structs.asdict(said).items() if value is True]
    if not flags:
        return ()
    return (f"the probe's own tampering flags {flags} (recomputed from the echo: intact)",)


def analyse_hhfm(measurement: AnyMeasurement, fingerprints: FingerprintDB) -> Verdict:
    keys = decode_keys(measurement, HHFMKeys)
    layer, reason, found, where = _hhfm_layer(keys)
    findings = (_product_finding(found, where),) if found is not None else ()
    return verdict_of(
        measurement,
        (layer,),
        findings,
        access=Layer.HTTP,
        reason=reason,
        vendor=found.vendor if found is not None else None,
    )


# --- http_invalid_request_line -----------------------------------------------------------


def _hirl_layer(keys: HIRLKeys | None) -> tuple[LayerVerdict, Identified | None, str]:
    sent = (keys.sent if keys is not None else None) or []
    received = (keys.received if keys is not None else None) or []
    intact: list[Witness] = []
    differ: list[tuple[int, Witness, str]] = []
    for n, (line, echo) in enumerate(zip(sent, received, strict=False)):
        wanted, got = bytes_of(line), bytes_of(echo)
        if not wanted:
            continue  # not sent (the connect failed): no evidence either way
        text = text_of(echo)
        witness = Witness(
            ref=f"test_keys.received[{n}]",
            observed=_short(text) if got else "nothing came back",
            control=_short(text_of(line)),
        )
        if got == wanted:
            intact.append(witness)
        else:
            differ.append((n, witness, text))
    answered = [(n, w, text) for n, w, text in differ if text]
    if answered:
        proxy = any(looks_like_a_response(text) for _, _, text in answered)
        found, where = _named_in(answered)
        verdict = RULES.verdict(
            Layer.HTTP,
            "hirl.echo_differs",
            technique=_PROXY if proxy else _LINE_REWRITE,
            witnesses=tuple(w for _, w, _ in differ),
            counter_evidence=tuple(f"{w.ref}: echoed intact" for w in intact),
        )
        return verdict, found, where
    if differ and intact:
        verdict = RULES.verdict(
            Layer.HTTP,
            "hirl.echo_missing",
            technique=_PROXY,
            witnesses=tuple(w for _, w, _ in differ),
            counter_evidence=tuple(f"{w.ref}: echoed intact" for w in intact),
        )
        return verdict, None, ""
    if intact:
        return RULES.verdict(Layer.HTTP, "hirl.echo_intact", witnesses=tuple(intact)), None, ""
    witnesses = tuple(w for _, w, _ in differ)
    return RULES.verdict(Layer.HTTP, "hirl.no_echo", witnesses=witnesses), None, ""


def _named_in(answered: list[tuple[int, Witness, str]]) -> tuple[Identified | None, str]:
    """The first product a middlebox's answer names, and which answer it was."""
    for n, _, text in answered:
        headers, body = response_parts(text)
        found = identify(headers, [body])
        if found is not None:
            return found, f"test_keys.received[{n}]"
    return None, ""


def _hirl_reason(keys: HIRLKeys | None) -> str:
    if keys is None or not (keys.sent or keys.received):
        return "the probe recorded no request line sent to the echo helper"
    return "the echo helper sent nothing back for any request line"


def analyse_hirl(measurement: AnyMeasurement, fingerprints: FingerprintDB) -> Verdict:
    keys = decode_keys(measurement, HIRLKeys)
    layer, found, where = _hirl_layer(keys)
    findings = (_product_finding(found, where),) if found is not None else ()
    return verdict_of(
        measurement,
        (layer,),
        findings,
        access=Layer.HTTP,
        reason=_hirl_reason(keys),
        vendor=found.vendor if found is not None else None,
    )


# The type is analysis/nettests.py's Analyser (importing it here would be a cycle).
ANALYSERS: dict[str, Callable[[AnyMeasurement, FingerprintDB], Verdict]] = {
    "http_header_field_manipulation": analyse_hhfm,
    "http_invalid_request_line": analyse_hirl,
}
