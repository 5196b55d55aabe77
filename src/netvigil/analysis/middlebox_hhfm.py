"""http_header_field_manipulation's verdict: did the helper's JSON echo match the request?

No request recorded, or no response (the helper refused, reset or never answered): no
evidence either way (fastpath: accuracy 0). A status other than 200, or a body that is not
the helper's JSON: something else answered (fastpath: "Empty body", "Malformed
ctrl_headers"). Otherwise each header and the request line are compared (hhfm_echo.py).
"""

from __future__ import annotations

import msgspec

from netvigil.analysis.hhfm_echo import Change, changes, request_line_of, sent_headers
from netvigil.analysis.middlebox_products import identify
from netvigil.analysis.middlebox_rules import (
    HEADER_REWRITE,
    LINE_REWRITE,
    PROXY,
    RULES,
    Judged,
    short,
)
from netvigil.analysis.verdicts import Layer, Witness
from netvigil.failures import Failure
from netvigil.records import text_of
from netvigil.records.middlebox import EchoAnswer, EchoTransaction, HHFMKeys

_REF = "test_keys.requests[0]"


def hhfm_layer(keys: HHFMKeys | None) -> Judged:
    requests = (keys.requests if keys is not None else None) or []
    if not requests:
        verdict = RULES.verdict(Layer.HTTP, "hhfm.no_request")
        return Judged(verdict, "the probe recorded no request to the echo helper")
    tx = requests[0]
    if tx.response is None:
        failure = tx.failure or (keys.failure if keys else None) or "no response recorded"
        witness = Witness(ref=f"{_REF}.failure", observed=failure)
        if failure == Failure.HTTP_REQUEST_FAILED:  # probe-cli: a status other than 200
            rule = "hhfm.unexpected_status"
            return Judged(RULES.verdict(Layer.HTTP, rule, technique=PROXY, witnesses=(witness,)))
        verdict = RULES.verdict(Layer.HTTP, "hhfm.helper_unreachable", witnesses=(witness,))
        return Judged(verdict, f"the echo helper did not answer ({failure})")
    return _compare(tx, keys)


def _echo(body: str) -> EchoAnswer | None:
    try:
        return msgspec.json.decode(body, type=EchoAnswer)
    except msgspec.DecodeError:
        return None


def _compare(tx: EchoTransaction, keys: HHFMKeys | None) -> Judged:
    assert tx.response is not None
    body = text_of(tx.response.body)
    answered = [(name, text_of(value)) for name, value in (tx.response.headers or {}).items()]
    answer = _echo(body)
    if answer is None or answer.headers_dict is None:
        shown = short(body) if body else f"no body (HTTP {tx.response.code})"
        witness = Witness(
            ref=f"{_REF}.response.body", observed=shown, control="the helper's JSON echo"
        )
        verdict = RULES.verdict(Layer.HTTP, "hhfm.not_echo", technique=PROXY, witnesses=(witness,))
        return Judged(verdict, found=identify(answered, [body]), where=f"{_REF}.response")
    sent = sent_headers(tx.request)
    found = changes(sent, answer)
    expected = request_line_of(tx.request)
    if answer.request_line is not None and answer.request_line != expected:
        found.append(
            Change(f"{_REF}.request.method", "request line", answer.request_line, expected)
        )
    if not found:
        witness = Witness(
            ref=f"{_REF}.response.body",
            observed=f"echoed intact: {expected!r} and {len(sent)} headers",
            control=expected,
        )
        verdict = RULES.verdict(
            Layer.HTTP,
            "hhfm.echo_intact",
            witnesses=(witness,),
            counter_evidence=_probe_disagrees(keys),
        )
        return Judged(verdict)
    headers_changed = any(change.what != "request line" for change in found)
    verdict = RULES.verdict(
        Layer.HTTP,
        "hhfm.echo_changed",
        technique=HEADER_REWRITE if headers_changed else LINE_REWRITE,
        witnesses=tuple(
            Witness(ref=c.ref, observed=f"{c.what}: {c.received}", control=c.sent) for c in found
        ),
    )
    echoed = [change.header for change in found if change.header is not None]
    return Judged(verdict, found=identify(echoed + answered), where=f"{_REF}.response.body")


def _probe_disagrees(keys: HHFMKeys | None) -> tuple[str, ...]:
    """The probe's own summary, when it claims tampering the echo does not show."""
    said = keys.tampering if keys is not None else None
    if said is None:
        return ()
    flags = [name for name, value in msgspec.structs.asdict(said).items() if value is True]
    if not flags:
        return ()
    return (f"the probe's own tampering flags {flags} (recomputed from the echo: intact)",)
