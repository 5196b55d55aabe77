from __future__ import annotations

from netvigil.failures import (
    BAD_CONTENT_ENCODING,
    MALFORMED_HTTP_RESPONSE,
    NO_TEST_HELPER,
    TOO_MANY_REDIRECTS,
    Failure,
    FailureKind,
    failed,
    is_misconfigured_ipv6,
    is_unknown,
    kind_of,
)


def test_modern_and_legacy_strings_share_a_kind() -> None:
    assert kind_of("dns_nxdomain_error") is kind_of("dns_name_error") is FailureKind.NXDOMAIN
    assert (
        kind_of("connection_refused") is kind_of("connection_refused_error") is FailureKind.REFUSED
    )
    assert kind_of("generic_timeout_error") is FailureKind.TIMEOUT
    assert kind_of(Failure.SSL_UNKNOWN_AUTHORITY) is FailureKind.TLS_CERTIFICATE
    assert kind_of(None) is kind_of("") is FailureKind.NONE


def test_our_own_failures_keep_their_spelling() -> None:
    # Written into measurements: these bytes are OONI-compatible data, not just names.
    assert TOO_MANY_REDIRECTS == "unknown_failure: stopped after too many redirects"
    assert NO_TEST_HELPER == "unknown_failure: no test helper configured"
    assert MALFORMED_HTTP_RESPONSE == (
        "unknown_failure: malformed HTTP response (RemoteProtocolError)"
    )
    assert BAD_CONTENT_ENCODING == "unknown_failure: bad content encoding"
    assert all(
        is_unknown(f)
        for f in (TOO_MANY_REDIRECTS, NO_TEST_HELPER, MALFORMED_HTTP_RESPONSE, BAD_CONTENT_ENCODING)
    )


def test_unknown_failures() -> None:
    assert is_unknown("unknown_failure: stopped after too many redirects")
    assert kind_of("unknown_failure: read: connection reset by peer") is FailureKind.RESET
    assert kind_of("something new") is FailureKind.OTHER
    assert failed("x") and not failed(None) and not failed("")


def test_broken_ipv6_is_recognised() -> None:
    assert is_misconfigured_ipv6("network_unreachable", "2001:db8::1")
    assert not is_misconfigured_ipv6("network_unreachable", "192.0.2.1")
    assert not is_misconfigured_ipv6("connection_reset", "2001:db8::1")
