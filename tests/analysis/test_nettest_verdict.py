"""A nettest's verdict from its layers: blocked, then tampered, then down; ok only with access."""

from __future__ import annotations

import msgspec
import pytest

from netvigil.analysis.fingerprints import FingerprintDB
from netvigil.analysis.layered import UnsupportedTest, analyze
from netvigil.analysis.nettest_verdict import verdict_of
from netvigil.analysis.verdicts import Layer, Outcome, RuleBook, Witness
from netvigil.records import (
    Measurement,
    MeasurementFormatError,
    Record,
    decode_keys,
    decode_measurement,
)

BOOK = RuleBook(
    {
        "x.dns_ok": (0.0, 0.0, 0.9),
        "x.tcp_reset": (0.8, 0.2, 0.0),
        "x.tcp_ok": (0.0, 0.0, 1.0),
        "x.http_ok": (0.0, 0.0, 1.0),
        "x.header_rewritten": (0.9, 0.0, 0.1),
        "x.down": (0.1, 0.9, 0.0),
        "x.nothing": (0.0, 0.0, 0.0),
    },
    tampering=frozenset({"x.header_rewritten"}),
    techniques=frozenset({"tcp.reset", "t"}),
    named=("x_page:",),
)
MEASUREMENT = Measurement(
    test_name="telegram",
    measurement_uid="u1",
    report_id="r1",
    probe_cc="IT",
    probe_asn="AS3269",
    measurement_start_time="2024-01-02 03:04:05",
)
WITNESS = (Witness(ref="test_keys.tcp_connect[0]", observed="connection_reset"),)


def test_a_tampering_rule_gives_tampered_and_a_blocking_rule_blocked() -> None:
    assert BOOK.verdict(Layer.HTTP, "x.header_rewritten").outcome is Outcome.TAMPERED
    blocked = BOOK.verdict(Layer.TCP, "x.tcp_reset", technique="tcp.reset", confirmed=True)
    assert (blocked.outcome, blocked.confidence, blocked.confirmed) == (Outcome.BLOCKED, 0.8, True)
    nothing = BOOK.verdict(Layer.TCP, "x.nothing", technique="t")
    assert (nothing.outcome, nothing.technique, nothing.confidence) == (
        Outcome.INSUFFICIENT,
        None,
        0.0,
    )


def test_a_tampering_rule_must_be_in_the_book() -> None:
    with pytest.raises(ValueError, match=r"x\.unknown"):
        RuleBook({"x.a": (1.0, 0.0, 0.0)}, tampering=frozenset({"x.unknown"}))


def test_a_verdict_names_only_a_technique_its_book_declares() -> None:
    # A technique outside the book would be stored where no `technique=` filter finds it.
    with pytest.raises(ValueError, match=r"x\.tcp_reset: technique '3/9 reset'"):
        BOOK.verdict(Layer.TCP, "x.tcp_reset", technique="3/9 reset")
    # a named technique carries its name after a declared prefix
    named = BOOK.verdict(Layer.HTTP, "x.header_rewritten", technique="x_page:acme")
    assert named.technique == "x_page:acme"
    assert BOOK.verdict(Layer.TCP, "x.tcp_reset").technique is None  # naming none is fine


def test_ok_needs_an_ok_access_layer_not_just_dns_and_tcp() -> None:
    layers = (BOOK.verdict(Layer.DNS, "x.dns_ok"), BOOK.verdict(Layer.TCP, "x.tcp_ok"))
    verdict = verdict_of(MEASUREMENT, layers, access=Layer.HTTP, reason="no HTTP round trip")
    assert (verdict.outcome, verdict.reason, verdict.layer) == (
        Outcome.INSUFFICIENT,
        "no HTTP round trip",
        None,
    )
    reached = verdict_of(
        MEASUREMENT, (*layers, BOOK.verdict(Layer.HTTP, "x.http_ok")), access=Layer.HTTP
    )
    assert (reached.outcome, reached.rule, reached.reason) == (Outcome.OK, "x.http_ok", None)


def test_blocked_names_the_earliest_layer_and_beats_tampered_and_down() -> None:
    layers = (
        BOOK.verdict(Layer.HTTP, "x.header_rewritten"),
        BOOK.verdict(Layer.TUNNEL, "x.down"),
        BOOK.verdict(Layer.TCP, "x.tcp_reset", technique="tcp.reset", witnesses=WITNESS),
    )
    verdict = verdict_of(MEASUREMENT, layers, access=Layer.HTTP, vendor="Squid")
    assert (verdict.outcome, verdict.layer, verdict.technique, verdict.vendor) == (
        Outcome.BLOCKED,
        Layer.TCP,
        "tcp.reset",
        "Squid",
    )
    assert verdict.layers == layers  # every layer kept, as given
    assert (verdict.measurement_uid, verdict.probe_cc, verdict.test_name) == (
        "u1",
        "IT",
        "telegram",
    )


def test_tampered_before_down_and_the_vendor_only_on_an_anomaly() -> None:
    tampered = verdict_of(
        MEASUREMENT,
        (BOOK.verdict(Layer.TUNNEL, "x.down"), BOOK.verdict(Layer.HTTP, "x.header_rewritten")),
        access=Layer.HTTP,
        vendor="Squid",
    )
    assert (tampered.outcome, tampered.layer, tampered.vendor) == (
        Outcome.TAMPERED,
        Layer.HTTP,
        "Squid",
    )
    ok = verdict_of(
        MEASUREMENT, (BOOK.verdict(Layer.HTTP, "x.http_ok"),), access=Layer.HTTP, vendor="Squid"
    )
    assert (ok.outcome, ok.vendor) == (Outcome.OK, None)


class _Keys(Record, frozen=True):
    failure: str | None = None
    targets: dict[str, int] = msgspec.field(default_factory=dict)


def test_decode_keys_types_the_keys_and_names_the_bad_path() -> None:
    good = decode_measurement(
        b'{"test_name": "x", "test_keys": {"failure": "eof", "targets": {"a": 1}}}'
    )
    assert decode_keys(good, _Keys) == _Keys(failure="eof", targets={"a": 1})
    assert decode_keys(decode_measurement(b'{"test_name": "x"}'), _Keys) is None
    bad = decode_measurement(b'{"test_name": "x", "test_keys": {"targets": {"a": "one"}}}')
    with pytest.raises(
        MeasurementFormatError, match=r"got `str` - at `\$\.test_keys\.targets\[\.\.\.\]`"
    ):
        decode_keys(bad, _Keys)


def test_a_nettest_no_analyser_judges_is_unsupported() -> None:
    measurement = msgspec.structs.replace(MEASUREMENT, test_name="urlgetter")
    with pytest.raises(UnsupportedTest, match="urlgetter"):
        analyze(measurement, FingerprintDB.load())
