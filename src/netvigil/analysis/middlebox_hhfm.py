"""http_header_field_manipulation's verdict: did the helper's JSON echo match the request?

No request recorded, or no response (the helper refused, reset or never answered): no
evidence either way (fastpath: accuracy 0). A status other than 200, or a body that is not
the helper's JSON: something else answered (fastpath: "Empty body", "Malformed
ctrl_headers"). Otherwise each header and the request line are compared.

The probe records the headers it sent (df-001 `request.headers_list`, or `headers` for
probes that wrote no list); the helper's JSON answer lists them as they reached it
(`request_headers`, in order, or `headers_dict`). Each header is matched by its name
without case, as OONI's probe does (probe-cli hhfm.go FillTampering: canonical names), so a
rewrite is named precisely: the capitalisation of a name, a value, a header added or
removed. `Connection: close` is left out on both sides, as OONI's fastpath does
(fastpath/core.py: "The Connection header is not always handled correctly").
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

import msgspec

from netvigil.analysis.middlebox_evidence import (
    HEADER_REWRITE,
    LINE_REWRITE,
    PROXY,
    RULES,
    Judged,
    identify,
    short,
)
from netvigil.analysis.verdicts import Layer, Witness
from netvigil.failures import Failure, FailureKind, kind_of
from netvigil.records import HTTPRequest, HTTPTransaction, text_of
from netvigil.records.middlebox import EchoAnswer, HHFMKeys

_IGNORED = ("connection", "close")


@dataclass(frozen=True)
class Change:
    ref: str  # where in the measurement the sent side is
    what: str  # "header name", "header value", "header added", "request line", ...
    received: str  # as the helper received it
    sent: str  # as the probe sent it
    header: tuple[str, str] | None = None  # the header as received, when there is one


def sent_headers(request: HTTPRequest) -> list[tuple[str, str]]:
    """The headers the probe sent, in order, as text."""
    if request.headers_list:
        pairs = [
            (text_of(item[0]), text_of(item[1])) for item in request.headers_list if len(item) == 2
        ]
    else:
        pairs = [(name, text_of(value)) for name, value in (request.headers or {}).items()]
    return [(name, value) for name, value in pairs if (name.lower(), value.lower()) != _IGNORED]


def received_headers(answer: EchoAnswer) -> list[tuple[str, str]]:
    """The headers the helper received, in order when it said (`request_headers`)."""
    if answer.request_headers is not None:
        pairs = [(item[0], item[1]) for item in answer.request_headers if len(item) == 2]
    else:
        pairs = [
            (name, value)
            for name, values in (answer.headers_dict or {}).items()
            for value in values
        ]
    return [(name, value) for name, value in pairs if (name.lower(), value.lower()) != _IGNORED]


def request_line_of(request: HTTPRequest) -> str:
    """The request line the probe sent: its method as written, the URL's path, HTTP/1.1
    (probe-cli hhfm.go: `fmt.Sprintf("%s / HTTP/1.1", req.Method)`)."""
    path = urlsplit(request.url).path or "/"
    return f"{request.method or 'GET'} {path} HTTP/1.1"


def _grouped(pairs: list[tuple[str, str]]) -> dict[str, list[tuple[str, str]]]:
    groups: dict[str, list[tuple[str, str]]] = {}
    for name, value in pairs:
        groups.setdefault(name.lower(), []).append((name, value))
    return groups


def changes(sent: list[tuple[str, str]], answer: EchoAnswer) -> list[Change]:
    """Every header that did not reach the helper as it was sent, in the order sent, then
    the headers added on the way."""
    base = "test_keys.requests[0]"
    theirs = _grouped(received_headers(answer))
    found: list[Change] = []
    for key, ours in _grouped(sent).items():
        got = theirs.pop(key, [])
        for n, (name, value) in enumerate(ours):
            ref = f"{base}.request.headers.{name}"
            shown = f"{name}: {value}"
            if n >= len(got):
                found.append(Change(ref, "header removed", "(absent)", shown))
                continue
            their_name, their_value = got[n]
            what = [
                label
                for label, differs in (
                    ("header name", their_name != name),
                    ("header value", their_value != value),
                )
                if differs
            ]
            if what:
                received = f"{their_name}: {their_value}"
                found.append(
                    Change(ref, " and ".join(what), received, shown, (their_name, their_value))
                )
        for name, value in got[len(ours) :]:
            found.append(
                Change(
                    f"{base}.response.body",
                    "header added",
                    f"{name}: {value}",
                    "(not sent)",
                    (name, value),
                )
            )
    for extra in theirs.values():
        for name, value in extra:
            found.append(
                Change(
                    f"{base}.response.body",
                    "header added",
                    f"{name}: {value}",
                    "(not sent)",
                    (name, value),
                )
            )
    return found


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


def _compare(tx: HTTPTransaction, keys: HHFMKeys | None) -> Judged:
    assert tx.response is not None
    body = text_of(tx.response.body)
    answered = [(name, text_of(value)) for name, value in (tx.response.headers or {}).items()]
    answer = _echo(body)
    if answer is None or answer.headers_dict is None:
        shown = short(body) if body else f"no body (HTTP {tx.response.code})"
        witness = Witness(
            ref=f"{_REF}.response.body", observed=shown, control="the helper's JSON echo"
        )
        product = identify(answered, [body])
        if product is None and tx.response.code == 200 and _cut_off(tx.failure):
            # The helper's 200 began, then the connection failed: a network that drops
            # connections, or something cutting this one; nothing says which.
            verdict = RULES.verdict(Layer.HTTP, "hhfm.answer_cut_off", witnesses=(witness,))
            return Judged(verdict, f"the echo helper's answer was cut off ({tx.failure})")
        verdict = RULES.verdict(Layer.HTTP, "hhfm.not_echo", technique=PROXY, witnesses=(witness,))
        return Judged(verdict, found=product, where=f"{_REF}.response")
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


def _cut_off(failure: str | None) -> bool:
    return kind_of(failure or "") in (FailureKind.RESET, FailureKind.TIMEOUT, FailureKind.EOF)


def _probe_disagrees(keys: HHFMKeys | None) -> tuple[str, ...]:
    """The probe's own summary, when it claims tampering the echo does not show."""
    said = keys.tampering if keys is not None else None
    if said is None:
        return ()
    flags = [name for name, value in msgspec.structs.asdict(said).items() if value is True]
    if not flags:
        return ()
    return (f"the probe's own tampering flags {flags} (recomputed from the echo: intact)",)
