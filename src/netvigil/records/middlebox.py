"""Middlebox nettests' test keys: http_header_field_manipulation (ts-006) and
http_invalid_request_line (ts-007), as OONI's probes write them.

Key names and shapes from ooni/spec nettests/ts-006-header-field-manipulation.md and
ts-007-http-invalid-request-line.md, ooni/probe-cli internal/experiment/hhfm/hhfm.go and
internal/experiment/hirl/hirl.go, and the real measurements in
shared/corpus/ooni-measurements/ooni-backend-fastpath-other/ (http_header_field_manipulation_1
to _3: probe-engine 0.14 and ooniprobe 2.x; mbx-1, mbx-2: Measurement Kit 0.8 and 0.9).

Why these types are loose: Measurement Kit and the Twisted ooniprobe wrote `tor.exit_ip` as
`false` where Go probes write null (ts-006's example), probe-engine 0.14 wrote its urlgetter
keys as null (http_header_field_manipulation_1), ooniprobe 0.2 wrote neither `failure_list`
nor `tampering_list` (ts-007's example), and a `received` item is base64 when the middlebox's
answer is not UTF-8 (ts-007 "UTF-8 considerations").
"""

from __future__ import annotations

from netvigil.records.base import MaybeBinary, Record
from netvigil.records.templates import (
    DNSQuery,
    HTTPTransaction,
    NetworkEvent,
    TCPConnect,
    TLSHandshake,
)

# --- http_header_field_manipulation (ts-006) ---------------------------------------------


class HHFMTampering(Record, frozen=True):
    """ts-006 `tampering`: the probe's own summary (kept, never trusted: we recompute)."""

    total: bool | None = None
    request_line_capitalization: bool | None = None
    header_name_capitalization: bool | None = None
    header_field_value: bool | None = None
    header_field_number: bool | None = None
    header_field_name: bool | None = None  # probe-cli writes it, and never sets it
    header_name_diff: list[str] | None = None


class HHFMKeys(Record, frozen=True):
    agent: str | None = None
    failure: str | None = None
    requests: list[HTTPTransaction] | None = None
    socksproxy: str | None = None
    tampering: HHFMTampering | None = None
    # probe-engine 0.14's urlgetter keys (http_header_field_manipulation_1); we write the
    # TCP connect we made and null for the steps we do not take.
    failed_operation: str | None = None
    queries: list[DNSQuery] | None = None
    tcp_connect: list[TCPConnect] | None = None
    tls_handshakes: list[TLSHandshake] | None = None
    network_events: list[NetworkEvent] | None = None
    start_time: float | None = None  # the Twisted probe's (ts-006 example)


class EchoAnswer(Record, frozen=True):
    """The body the http-return-json-headers helper answers (oonib http_helpers.py
    SimpleHTTPChannel): the request line and headers exactly as they reached it."""

    request_line: str | None = None
    headers_dict: dict[str, list[str]] | None = None
    request_headers: list[list[str]] | None = None


# --- http_invalid_request_line (ts-007) --------------------------------------------------


class HIRLKeys(Record, frozen=True):
    # One item per method, in the same order in every list (hirl.go appends them together).
    sent: list[MaybeBinary | None] | None = None
    received: list[MaybeBinary | None] | None = None
    failure_list: list[str | None] | None = None
    tampering_list: list[bool | None] | None = None
    tampering: bool | None = None
    client_resolver: str | None = None
