"""Test keys of the messaging nettests: signal, telegram, whatsapp, facebook_messenger.

All four are built on OONI's urlgetter (ooni/probe-cli internal/experiment/urlgetter
urlgetter.go `TestKeys`): the template lists `queries`, `tcp_connect`, `tls_handshakes`,
`requests` and `network_events` (df-001/002/005/006/008, :mod:`netvigil.records.templates`)
plus `agent`, `failed_operation` and `failure`; each nettest adds its summary keys. Key
names and types are OONI's:

- signal (ts-029; probe-cli internal/experiment/signal/signal.go): `signal_backend_status`
  ("ok" | "blocked"), `signal_backend_failure`;
- telegram (ts-020; telegram/telegram.go): `telegram_http_blocking`,
  `telegram_tcp_blocking`, `telegram_web_status`, `telegram_web_failure`;
- whatsapp (ts-018; whatsapp/whatsapp.go): `registration_server_status`/`_failure`,
  `whatsapp_endpoints_status`, `whatsapp_endpoints_blocked` and
  `whatsapp_endpoints_dns_inconsistent` (lists of host names), `whatsapp_web_status`/`_failure`;
- facebook_messenger (ts-019 from 0.4.0; fbmessenger/fbmessenger.go `Analysis`):
  `facebook_<endpoint>_dns_consistent` / `_reachable` (true | false | null) and
  `facebook_dns_blocking`, `facebook_tcp_blocking`.

Every field is optional (df-000: consumers tolerate null or missing keys): the archive mixes
Measurement Kit probes (telegram 0.0.3 writes no `agent`, `queries` or request URL; see
shared/corpus .../telegram_nourl.json) with Go probes. Our probe writes every key.
"""

from __future__ import annotations

from typing import Any

import msgspec

from netvigil.records.base import Record
from netvigil.records.envelope import (
    AnyMeasurement,
    Measurement,
    MeasurementFormatError,
    decode_keys,
)
from netvigil.records.templates import (
    DNSQuery,
    HTTPTransaction,
    NetworkEvent,
    TCPConnect,
    TLSHandshake,
)


class URLGetterKeys(Record, frozen=True):
    """The urlgetter-style keys every messaging nettest writes (probe-cli urlgetter.go)."""

    agent: str | None = None
    failed_operation: str | None = None
    failure: str | None = None
    network_events: list[NetworkEvent] | None = None
    queries: list[DNSQuery] | None = None
    requests: list[HTTPTransaction] | None = None
    tcp_connect: list[TCPConnect] | None = None
    tls_handshakes: list[TLSHandshake] | None = None


class SignalKeys(URLGetterKeys, frozen=True):
    signal_backend_status: str | None = None
    signal_backend_failure: str | None = None


class TelegramKeys(URLGetterKeys, frozen=True):
    telegram_http_blocking: bool | None = None
    telegram_tcp_blocking: bool | None = None
    telegram_web_failure: str | None = None
    telegram_web_status: str | None = None


class WhatsAppKeys(URLGetterKeys, frozen=True):
    registration_server_failure: str | None = None
    registration_server_status: str | None = None
    whatsapp_endpoints_blocked: list[str] | None = None
    whatsapp_endpoints_dns_inconsistent: list[str] | None = None
    whatsapp_endpoints_status: str | None = None
    whatsapp_web_failure: str | None = None
    whatsapp_web_status: str | None = None


FACEBOOK_ASN = 32934  # fbmessenger.go FacebookASN: the AS consistent answers are in

# The endpoint identifiers of ts-019 ("In parens is the identifier used inside of the
# report file"), in the spec's order, with OONI's host names (fbmessenger.go `Services`).
FACEBOOK_ENDPOINTS: dict[str, str] = {
    "stun": "stun.fbsbx.com",
    "b_api": "b-api.facebook.com",
    "b_graph": "b-graph.facebook.com",
    "edge": "edge-mqtt.facebook.com",
    "external_cdn": "external.xx.fbcdn.net",
    "scontent_cdn": "scontent.xx.fbcdn.net",
    "star": "star.c10r.facebook.com",
}


class FacebookMessengerKeys(URLGetterKeys, frozen=True):
    facebook_b_api_dns_consistent: bool | None = None
    facebook_b_api_reachable: bool | None = None
    facebook_b_graph_dns_consistent: bool | None = None
    facebook_b_graph_reachable: bool | None = None
    facebook_edge_dns_consistent: bool | None = None
    facebook_edge_reachable: bool | None = None
    facebook_external_cdn_dns_consistent: bool | None = None
    facebook_external_cdn_reachable: bool | None = None
    facebook_scontent_cdn_dns_consistent: bool | None = None
    facebook_scontent_cdn_reachable: bool | None = None
    facebook_star_dns_consistent: bool | None = None
    facebook_star_reachable: bool | None = None
    facebook_stun_dns_consistent: bool | None = None
    facebook_stun_reachable: bool | None = None  # always null: STUN is UDP (ts-019)
    facebook_dns_blocking: bool | None = None
    facebook_tcp_blocking: bool | None = None
    # Ours (df-000 allows `x_` keys anywhere): the AS the answers were checked against, when
    # the probe was told another than Facebook's (the lab's own, in tests).
    x_facebook_asn: int | None = None

    def consistent(self, endpoint: str) -> bool | None:
        """`facebook_<endpoint>_dns_consistent`."""
        value: bool | None = getattr(self, f"facebook_{endpoint}_dns_consistent")
        return value

    def reachable(self, endpoint: str) -> bool | None:
        """`facebook_<endpoint>_reachable`."""
        value: bool | None = getattr(self, f"facebook_{endpoint}_reachable")
        return value


def _mk_false_as_null(keys: Any) -> bool:
    """Rewrite `tcp_connect[].status.failure: false` as null in place; whether any was.

    Measurement Kit's facebook_messenger writes `"failure": false` for a connect that worked
    (measurement-kit src/libmeasurement_kit/ooni/facebook_messenger.cpp `tcp_many`:
    `current_entry["status"]["failure"] = false`, beside `"success": true`; ts-019's own
    example output has it too). df-005 says a failure is a string or null, and false means
    "no failure": null. Its `true` for a failed connect (the same function) says nothing of
    the failure and stays a decode error, as does any other value that is not a string.
    """
    changed = False
    connects = keys.get("tcp_connect") if isinstance(keys, dict) else None
    for entry in connects if isinstance(connects, list) else ():
        status = entry.get("status") if isinstance(entry, dict) else None
        if isinstance(status, dict) and status.get("failure", None) is False:
            status["failure"] = None
            changed = True
    return changed


def facebook_messenger_keys(measurement: AnyMeasurement) -> FacebookMessengerKeys | None:
    """The typed facebook_messenger keys (``None`` when the probe wrote none), Measurement
    Kit's boolean false failures read as null; any other misfit raises
    :class:`~netvigil.records.envelope.MeasurementFormatError` naming its path."""
    try:
        return decode_keys(measurement, FacebookMessengerKeys)
    except MeasurementFormatError:
        keys = measurement.test_keys_object()
        if not isinstance(measurement, Measurement) or not _mk_false_as_null(keys):
            raise
    # Only a measurement that did not decode pays for the second pass.
    fixed = msgspec.structs.replace(measurement, test_keys=msgspec.Raw(msgspec.json.encode(keys)))
    return decode_keys(fixed, FacebookMessengerKeys)
