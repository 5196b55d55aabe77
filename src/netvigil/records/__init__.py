"""Typed, frozen records for OONI's data format (ooni/spec:data-formats).

The envelope is df-000-base; `web_connectivity` test keys are built from the templates
df-001-httpt (`requests`), df-002-dnst (`queries`), df-005-tcpconnect (`tcp_connect`),
df-006-tlshandshake (`tls_handshakes`), df-008-netevents (`network_events`) plus the test
helper's `control` object (ooni.md §2). Values that are not valid UTF-8 are stored as
``{"format": "base64", "data": ...}`` (MaybeBinaryData), modelled by :class:`BinaryData`.

Why the types are this loose: the archive mixes Measurement Kit and Go probes from
test_version 0.0.1 to 0.5.28, and df-000 says consumers MUST tolerate null or missing keys.
Every field therefore has a default, and unions admit the shapes seen in the real corpus
(``shared/corpus/ooni-measurements``). Unknown keys are ignored for web_connectivity; the
envelope keeps ``test_keys`` as raw JSON so other nettests lose nothing (see
:meth:`Measurement.test_keys_object`).
"""

from netvigil.records.base import (
    BinaryData,
    HeaderValue,
    MaybeBinary,
    Record,
    bytes_of,
    maybe_binary,
    text_of,
)
from netvigil.records.envelope import (
    AnyMeasurement,
    Envelope,
    Measurement,
    MeasurementFormatError,
    WebMeasurement,
    decode_any,
    decode_keys,
    decode_measurement,
    web_connectivity_keys,
)
from netvigil.records.templates import (
    DNSAnswer,
    DNSQuery,
    HTTPRequest,
    HTTPResponse,
    HTTPTransaction,
    NetworkEvent,
    TCPConnect,
    TCPStatus,
    TLSHandshake,
    TorInfo,
    answer_addresses,
)
from netvigil.records.web import (
    ControlDNS,
    ControlHTTPRequest,
    ControlIPInfo,
    ControlRequest,
    ControlResponse,
    ControlTCPConnect,
    ControlTLSHandshake,
    SecondaryTrace,
    WebConnectivityKeys,
)

__all__ = [
    "AnyMeasurement",
    "BinaryData",
    "ControlDNS",
    "ControlHTTPRequest",
    "ControlIPInfo",
    "ControlRequest",
    "ControlResponse",
    "ControlTCPConnect",
    "ControlTLSHandshake",
    "DNSAnswer",
    "DNSQuery",
    "Envelope",
    "HTTPRequest",
    "HTTPResponse",
    "HTTPTransaction",
    "HeaderValue",
    "MaybeBinary",
    "Measurement",
    "MeasurementFormatError",
    "NetworkEvent",
    "Record",
    "SecondaryTrace",
    "TCPConnect",
    "TCPStatus",
    "TLSHandshake",
    "TorInfo",
    "WebConnectivityKeys",
    "WebMeasurement",
    "answer_addresses",
    "bytes_of",
    "decode_any",
    "decode_keys",
    "decode_measurement",
    "maybe_binary",
    "text_of",
    "web_connectivity_keys",
]
