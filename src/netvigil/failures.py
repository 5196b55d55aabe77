"""The one failure vocabulary: OONI's df-007 strings, and what each one means.

Every failure recorded by a probe is a string from ooni/spec:data-formats/df-007-errors.md
(authoritative list: ooni/probe-cli:internal/netxlite/errno.go and classify.go). Old
measurements and OONI's test helper also use the Twisted-era strings (`dns_name_error`,
`connection_refused_error`, `generic_timeout_error`, ...; ooni.md §2, §3.3).

Python exceptions become these strings in one place, at the network's edge
(:func:`netvigil.net.errors.map_failures`); this module knows no exception.

Rule for the rest of the code: never compare raw failure strings. Ask this module what a
failure *is* (:func:`kind_of`), and compare probe and control by "failed or not", never by
string equality (ooni.md §2: the TH maps failures to the legacy vocabulary).
"""

from __future__ import annotations

from enum import StrEnum


class Failure(StrEnum):
    """Failure strings (df-007) that the analysis reasons about, modern and legacy."""

    # System and socket errors.
    CONNECTION_REFUSED = "connection_refused"
    CONNECTION_RESET = "connection_reset"
    CONNECTION_ABORTED = "connection_aborted"
    HOST_UNREACHABLE = "host_unreachable"
    NETWORK_UNREACHABLE = "network_unreachable"
    NETWORK_DOWN = "network_down"
    NETWORK_RESET = "network_reset"
    TIMED_OUT = "timed_out"
    GENERIC_TIMEOUT = "generic_timeout_error"
    EOF = "eof_error"
    CONNECTION_ALREADY_CLOSED = "connection_already_closed"
    INTERRUPTED = "interrupted"
    # DNS.
    DNS_NXDOMAIN = "dns_nxdomain_error"
    DNS_NO_ANSWER = "dns_no_answer"
    DNS_REFUSED = "dns_refused_error"
    DNS_SERVFAIL = "dns_servfail_error"
    DNS_SERVER_MISBEHAVING = "dns_server_misbehaving"
    DNS_TEMPORARY = "dns_temporary_failure"
    DNS_NON_RECOVERABLE = "dns_non_recoverable_failure"
    DNS_WRONG_QUERY_ID = "dns_reply_with_wrong_query_id"
    DNS_BOGON = "dns_bogon_error"
    ANDROID_DNS_CACHE_NO_DATA = "android_dns_cache_no_data"
    # TLS and QUIC.
    SSL_INVALID_HOSTNAME = "ssl_invalid_hostname"
    SSL_UNKNOWN_AUTHORITY = "ssl_unknown_authority"
    SSL_INVALID_CERTIFICATE = "ssl_invalid_certificate"
    SSL_FAILED_HANDSHAKE = "ssl_failed_handshake"
    QUIC_INCOMPATIBLE_VERSION = "quic_incompatible_version"
    # HTTP.
    HTTP_REQUEST_FAILED = "http_request_failed"
    HTTP_UNEXPECTED_STATUS_CODE = "http_unexpected_status_code"
    HTTP_UNEXPECTED_REDIRECT_URL = "http_unexpected_redirect_url"
    HTTP_INVALID_REDIRECT_LOCATION_HOST = "http_invalid_redirect_location_host"
    JSON_PARSE_ERROR = "json_parse_error"
    # Legacy probe and test-helper strings.
    CONNECT_ERROR = "connect_error"
    CONNECTION_REFUSED_LEGACY = "connection_refused_error"
    DNS_LOOKUP_ERROR = "dns_lookup_error"
    DNS_NAME_ERROR = "dns_name_error"
    DNS_SERVER_FAILURE = "dns_server_failure"
    TCP_TIMED_OUT = "tcp_timed_out_error"
    RESPONSE_NEVER_RECEIVED = "response_never_received"
    TASK_TIMED_OUT = "task_timed_out"
    UNKNOWN_ERROR = "unknown_error"


# `unknown_failure <text>` is a prefix, not a closed string (ooni.md §3.3); the fastpath
# treats any failure starting with it as a measurement failure (ooni.md §1.6).
UNKNOWN_FAILURE_PREFIX = "unknown_failure"


def unknown(why: str) -> str:
    """`unknown_failure: <why>`, the spelling Go probes give a failure df-007 does not name."""
    return f"{UNKNOWN_FAILURE_PREFIX}: {why}"


# Our own steps' unnamed failures, spelled once here; measurements carry them verbatim.
MALFORMED_HTTP_RESPONSE = unknown("malformed HTTP response (RemoteProtocolError)")
BAD_CONTENT_ENCODING = unknown("bad content encoding")
TOO_MANY_REDIRECTS = unknown("stopped after too many redirects")
NO_TEST_HELPER = unknown("no test helper configured")


class FailedOperation(StrEnum):
    """`failed_operation` names (ooni/probe-cli:internal/netxlite/operations.go)."""

    RESOLVE = "resolve"
    CONNECT = "connect"
    DNS_ROUND_TRIP = "dns_round_trip"
    TLS_HANDSHAKE = "tls_handshake"
    QUIC_HANDSHAKE = "quic_handshake"
    HTTP_ROUND_TRIP = "http_round_trip"
    READ = "read"
    WRITE = "write"
    READ_FROM = "read_from"
    WRITE_TO = "write_to"
    CLOSE = "close"
    TOP_LEVEL = "top_level"


class FailureKind(StrEnum):
    """What a failure means for the analysis, independent of its spelling."""

    NONE = "none"
    NXDOMAIN = "nxdomain"
    NO_ANSWER = "no_answer"
    DNS_REFUSED = "dns_refused"
    DNS_SERVER_ERROR = "dns_server_error"
    DNS_BOGON = "dns_bogon"
    REFUSED = "refused"
    RESET = "reset"
    TIMEOUT = "timeout"
    EOF = "eof"
    UNREACHABLE = "unreachable"
    TLS_CERTIFICATE = "tls_certificate"
    TLS_OTHER = "tls_other"
    HTTP_PROTOCOL = "http_protocol"
    OTHER = "other"


_KINDS: dict[str, FailureKind] = {
    Failure.DNS_NXDOMAIN: FailureKind.NXDOMAIN,
    Failure.DNS_NAME_ERROR: FailureKind.NXDOMAIN,
    # Android's getaddrinfo returns EAI_NODATA for every error (ooni/probe#2029):
    # it is NXDOMAIN-like, but weaker evidence; callers that care test for it.
    Failure.ANDROID_DNS_CACHE_NO_DATA: FailureKind.NXDOMAIN,
    Failure.DNS_NO_ANSWER: FailureKind.NO_ANSWER,
    Failure.DNS_REFUSED: FailureKind.DNS_REFUSED,
    Failure.DNS_SERVFAIL: FailureKind.DNS_SERVER_ERROR,
    Failure.DNS_SERVER_FAILURE: FailureKind.DNS_SERVER_ERROR,
    Failure.DNS_SERVER_MISBEHAVING: FailureKind.DNS_SERVER_ERROR,
    Failure.DNS_TEMPORARY: FailureKind.DNS_SERVER_ERROR,
    Failure.DNS_NON_RECOVERABLE: FailureKind.DNS_SERVER_ERROR,
    Failure.DNS_WRONG_QUERY_ID: FailureKind.DNS_SERVER_ERROR,
    Failure.DNS_LOOKUP_ERROR: FailureKind.DNS_SERVER_ERROR,
    Failure.DNS_BOGON: FailureKind.DNS_BOGON,
    Failure.CONNECTION_REFUSED: FailureKind.REFUSED,
    Failure.CONNECTION_REFUSED_LEGACY: FailureKind.REFUSED,
    Failure.CONNECTION_RESET: FailureKind.RESET,
    Failure.CONNECTION_ABORTED: FailureKind.RESET,
    Failure.NETWORK_RESET: FailureKind.RESET,
    Failure.TIMED_OUT: FailureKind.TIMEOUT,
    Failure.GENERIC_TIMEOUT: FailureKind.TIMEOUT,
    Failure.TCP_TIMED_OUT: FailureKind.TIMEOUT,
    Failure.TASK_TIMED_OUT: FailureKind.TIMEOUT,
    Failure.RESPONSE_NEVER_RECEIVED: FailureKind.TIMEOUT,
    Failure.EOF: FailureKind.EOF,
    Failure.CONNECTION_ALREADY_CLOSED: FailureKind.EOF,
    Failure.HOST_UNREACHABLE: FailureKind.UNREACHABLE,
    Failure.NETWORK_UNREACHABLE: FailureKind.UNREACHABLE,
    Failure.NETWORK_DOWN: FailureKind.UNREACHABLE,
    Failure.SSL_INVALID_HOSTNAME: FailureKind.TLS_CERTIFICATE,
    Failure.SSL_UNKNOWN_AUTHORITY: FailureKind.TLS_CERTIFICATE,
    Failure.SSL_INVALID_CERTIFICATE: FailureKind.TLS_CERTIFICATE,
    Failure.SSL_FAILED_HANDSHAKE: FailureKind.TLS_OTHER,
    Failure.HTTP_REQUEST_FAILED: FailureKind.HTTP_PROTOCOL,
    Failure.HTTP_UNEXPECTED_STATUS_CODE: FailureKind.HTTP_PROTOCOL,
    Failure.HTTP_UNEXPECTED_REDIRECT_URL: FailureKind.HTTP_PROTOCOL,
    Failure.HTTP_INVALID_REDIRECT_LOCATION_HOST: FailureKind.HTTP_PROTOCOL,
}


def kind_of(failure: str | None) -> FailureKind:
    """Classify a recorded failure string (``None`` and ``""`` mean success)."""
    if not failure:
        return FailureKind.NONE
    kind = _KINDS.get(failure)
    if kind is not None:
        return kind
    # Go probes wrap unmapped system errors as "unknown_failure: <text>"; some of
    # those texts still name a well-known condition.
    lowered = failure.lower()
    if "reset" in lowered:
        return FailureKind.RESET
    if "timeout" in lowered or "timed out" in lowered:
        return FailureKind.TIMEOUT
    if "refused" in lowered:
        return FailureKind.REFUSED
    return FailureKind.OTHER


def failed(failure: str | None) -> bool:
    """True when a failure string records a failure (the only cross-vantage comparison)."""
    return bool(failure)


def is_unknown(failure: str | None) -> bool:
    """True for `unknown_failure ...` strings, which OONI scores as measurement failures."""
    return bool(failure) and str(failure).startswith(UNKNOWN_FAILURE_PREFIX)


def is_misconfigured_ipv6(failure: str | None, ip: str) -> bool:
    """A probe-side IPv6 `network_unreachable`/`host_unreachable` is not censorship.

    ooni/probe#2284; minipipeline/utils.go `utilsTCPConnectFailureSeemsMisconfiguredIPv6`.
    """
    return failure in (Failure.NETWORK_UNREACHABLE, Failure.HOST_UNREACHABLE) and ":" in ip
