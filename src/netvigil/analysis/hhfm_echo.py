"""What the http-return-json-headers helper received, compared with what the probe sent.

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

from netvigil.records import text_of
from netvigil.records.middlebox import EchoAnswer, EchoRequest

_IGNORED = ("connection", "close")


@dataclass(frozen=True)
class Change:
    ref: str  # where in the measurement the sent side is
    what: str  # "header name", "header value", "header added", "request line", ...
    received: str  # as the helper received it
    sent: str  # as the probe sent it
    header: tuple[str, str] | None = None  # the header as received, when there is one


def sent_headers(request: EchoRequest) -> list[tuple[str, str]]:
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


def request_line_of(request: EchoRequest) -> str:
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
