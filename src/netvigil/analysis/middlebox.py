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
scores accuracy 0. We follow it, with differences said where they apply: a request line
whose capitalisation changed counts (fastpath compares headers only); a line that got
nothing back because its connection failed (a reset, a refused slot), or nothing back for
every line, shows no helper at all (insufficient, where fastpath says anomaly); and a
helper's answer cut off by a reset is no evidence unless what arrived names a product.
On OONI's own fixtures the anomaly flag is the fastpath's (tests/analysis/test_middlebox.py).
"""

from __future__ import annotations

from collections.abc import Callable

from netvigil.analysis.fingerprints import FingerprintDB
from netvigil.analysis.middlebox_evidence import (
    LINE_REWRITE,
    PROXY,
    RULES,
    Identified,
    Judged,
    identify,
    looks_like_a_response,
    product_finding,
    response_parts,
    short,
)
from netvigil.analysis.middlebox_hhfm import hhfm_layer
from netvigil.analysis.nettest_verdict import verdict_of
from netvigil.analysis.verdicts import Layer, Verdict, Witness
from netvigil.records import AnyMeasurement, bytes_of, text_of
from netvigil.records.envelope import decode_keys
from netvigil.records.middlebox import HHFMKeys, HIRLKeys

__all__ = ["ANALYSERS", "RULES", "analyse_hhfm", "analyse_hirl"]


def _verdict(measurement: AnyMeasurement, judged: Judged) -> Verdict:
    found = judged.found
    return verdict_of(
        measurement,
        (judged.layer,),
        (product_finding(found, judged.where),) if found is not None else (),
        access=Layer.HTTP,  # the echo came back intact: the path to the helper works
        reason=judged.reason,
        vendor=found.vendor if found is not None else None,
    )


def analyse_hhfm(measurement: AnyMeasurement, fingerprints: FingerprintDB) -> Verdict:
    return _verdict(measurement, hhfm_layer(decode_keys(measurement, HHFMKeys)))


# --- http_invalid_request_line -----------------------------------------------------------


def hirl_layer(keys: HIRLKeys | None) -> Judged:
    """Each sent line against its echo: intact, different, missing, or no evidence."""
    sent = (keys.sent if keys is not None else None) or []
    received = (keys.received if keys is not None else None) or []
    failures = (keys.failure_list if keys is not None else None) or []
    intact: list[Witness] = []
    differ: list[tuple[int, Witness, str]] = []
    for n, (line, echo) in enumerate(zip(sent, received, strict=False)):
        wanted, got = bytes_of(line), bytes_of(echo)
        failure = failures[n] if n < len(failures) else None
        if not wanted or (not got and failure):
            # Never sent (the connect failed), or cut off before anything came back (a
            # reset, a refused slot): the helper may be down, so no evidence either way.
            continue
        text = text_of(echo)
        witness = Witness(
            ref=f"test_keys.received[{n}]",
            observed=short(text) if got else "nothing came back",
            control=short(text_of(line)),
        )
        if got == wanted:
            intact.append(witness)
        else:
            differ.append((n, witness, text))
    counter = tuple(f"{w.ref}: echoed intact" for w in intact)
    witnesses = tuple(w for _, w, _ in differ)
    answered = [(n, text) for n, _, text in differ if text]
    if answered:
        proxy = any(looks_like_a_response(text) for _, text in answered)
        found, where = _named_in(answered)
        layer = RULES.verdict(
            Layer.HTTP,
            "hirl.echo_differs",
            technique=PROXY if proxy else LINE_REWRITE,
            witnesses=witnesses,
            counter_evidence=counter,
        )
        return Judged(layer, found=found, where=where)
    if differ and intact:
        layer = RULES.verdict(
            Layer.HTTP,
            "hirl.echo_missing",
            technique=PROXY,
            witnesses=witnesses,
            counter_evidence=counter,
        )
        return Judged(layer)
    if intact:
        return Judged(RULES.verdict(Layer.HTTP, "hirl.echo_intact", witnesses=tuple(intact)))
    reason = (
        "the echo helper sent nothing back for any request line"
        if sent or received
        else "the probe recorded no request line sent to the echo helper"
    )
    return Judged(RULES.verdict(Layer.HTTP, "hirl.no_echo", witnesses=witnesses), reason)


def _named_in(answered: list[tuple[int, str]]) -> tuple[Identified | None, str]:
    """The first product a middlebox's answer names, and which answer it was."""
    for n, text in answered:
        headers, body = response_parts(text)
        found = identify(headers, [body])
        if found is not None:
            return found, f"test_keys.received[{n}]"
    return None, ""


def analyse_hirl(measurement: AnyMeasurement, fingerprints: FingerprintDB) -> Verdict:
    return _verdict(measurement, hirl_layer(decode_keys(measurement, HIRLKeys)))


# The type is analysis/nettests.py's Analyser (importing it here would be a cycle).
ANALYSERS: dict[str, Callable[[AnyMeasurement, FingerprintDB], Verdict]] = {
    "http_header_field_manipulation": analyse_hhfm,
    "http_invalid_request_line": analyse_hirl,
}
