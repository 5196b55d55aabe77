"""dnscheck and stunreachability verdicts, on the spec examples and edited variants.

The measurements are ooni/spec nettests/ts-028-dnscheck.md's and ts-025-stun-reachability.md's
examples (values as the spec gives them; certificates and most network events left out, the
analysis reads neither), then edited one fact at a time: a TLS reset, a black-holed port, a
lying resolver, a replaced certificate. The expected outcome of each comes from reading the
edited fact, not from running the code.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import msgspec
import pytest

from netvigil.analysis.fingerprints import FingerprintDB
from netvigil.analysis.layered import analyze
from netvigil.analysis.resolvers import analyse_dnscheck
from netvigil.analysis.stunreachability import analyse_stun
from netvigil.analysis.verdicts import Layer, Outcome
from netvigil.records import Measurement, MeasurementFormatError, decode_measurement

NO_FINGERPRINTS = FingerprintDB([], [])
CORPUS = Path(__file__).resolve().parents[2] / ".." / "shared" / "corpus" / "ooni-measurements"


def _query(engine: str, qtype: str, host: str, resolver: str, **kw: Any) -> dict[str, Any]:
    return {
        "answers": kw.get("answers"),
        "engine": engine,
        "failure": kw.get("failure"),
        "hostname": host,
        "query_type": qtype,
        "resolver_hostname": None,
        "resolver_port": None,
        "resolver_address": resolver,
        "t": 0.2,
    }


def _a(ip: str) -> list[dict[str, Any]]:
    kind, key = ("AAAA", "ipv6") if ":" in ip else ("A", "ipv4")
    return [{"asn": 15169, "as_org_name": "Google LLC", "answer_type": kind, key: ip, "ttl": None}]


NO_ROUTE = "unknown_failure: dial tcp [scrubbed]: connect: no route to host"


def _v6_lookup(ip: str) -> dict[str, Any]:
    where = f"[{ip}]:853"
    return {
        "agent": "redirect",
        "failed_operation": "connect",
        "failure": NO_ROUTE,
        "network_events": None,
        "queries": [
            _query("dot", t, "example.org", where, failure=NO_ROUTE) for t in ("A", "AAAA")
        ],
        "requests": None,
        "tcp_connect": [{"ip": ip, "port": 853, "status": {"failure": NO_ROUTE, "success": False}}],
        "tls_handshakes": None,
    }


# ts-028's example: dot://dns.google:853 from AS30722 (IT), 2020-12-02.
DNSCHECK_EXAMPLE: dict[str, Any] = {
    "data_format_version": "0.2.0",
    "input": "dot://dns.google:853",
    "measurement_start_time": "2020-12-02 12:36:37",
    "probe_asn": "AS30722",
    "probe_cc": "IT",
    "probe_ip": "127.0.0.1",
    "report_id": "20201202T123637Z_dnscheck_IT_30722_n1_Z4McaVskEAD6GNCn",
    "resolver_ip": "91.80.36.86",
    "software_name": "miniooni",
    "software_version": "0.21.0-alpha",
    "test_keys": {
        "domain": "example.org",
        "bootstrap": {
            "agent": "",
            "failed_operation": None,
            "failure": None,
            "network_events": None,
            "queries": [
                _query("system", "A", "dns.google", "", answers=_a("8.8.8.8") + _a("8.8.4.4")),
                _query(
                    "system",
                    "AAAA",
                    "dns.google",
                    "",
                    answers=_a("2001:4860:4860::8844") + _a("2001:4860:4860::8888"),
                ),
            ],
            "requests": None,
            "tcp_connect": None,
            "tls_handshakes": None,
        },
        "bootstrap_failure": None,
        "lookups": {
            "dot://8.8.4.4:853": {
                "agent": "redirect",
                "failed_operation": None,
                "failure": None,
                "network_events": [
                    {"failure": None, "operation": "resolve_start", "t": 0.029592334}
                ],
                "queries": [
                    _query("dot", "A", "example.org", "8.8.4.4:853", answers=_a("93.184.216.34")),
                    _query(
                        "dot",
                        "AAAA",
                        "example.org",
                        "8.8.4.4:853",
                        answers=_a("2606:2800:220:1:248:1893:25c8:1946"),
                    ),
                ],
                "requests": None,
                "tcp_connect": [
                    {"ip": "8.8.4.4", "port": 853, "status": {"failure": None, "success": True}}
                ],
                "tls_handshakes": [
                    {
                        "cipher_suite": "TLS_AES_128_GCM_SHA256",
                        "failure": None,
                        "negotiated_protocol": "",
                        "no_tls_verify": False,
                        "peer_certificates": [],
                        "server_name": "dns.google",
                        "t": 0.093838397,
                        "tls_version": "TLSv1.3",
                    }
                ],
            },
            "dot://[2001:4860:4860::8844]:853": _v6_lookup("2001:4860:4860::8844"),
            "dot://[2001:4860:4860::8888]:853": _v6_lookup("2001:4860:4860::8888"),
        },
    },
    "test_name": "dnscheck",
    "test_runtime": 0.203695918,
    "test_start_time": "2020-12-02 12:36:37",
    "test_version": "0.1.0",
}
OK_KEY = "dot://8.8.4.4:853"


def _measurement(data: dict[str, Any]) -> Measurement:
    return decode_measurement(msgspec.json.encode(data))


def _edited(**changes: Any) -> dict[str, Any]:
    data = copy.deepcopy(DNSCHECK_EXAMPLE)
    keys = data["test_keys"]
    lookup = keys["lookups"][OK_KEY]
    for path, value in changes.items():
        if path == "tls_failure":
            lookup["tls_handshakes"][0]["failure"] = value
            lookup["tls_handshakes"][0]["peer_certificates"] = None
            for query in lookup["queries"]:
                query["answers"], query["failure"] = None, value
        elif path == "connect_failure":
            lookup["tcp_connect"][0]["status"] = {"failure": value, "success": False}
            lookup["tls_handshakes"] = None
            for query in lookup["queries"]:
                query["answers"], query["failure"] = None, value
        else:
            keys[path] = value
    return data


def test_the_spec_example_is_ok_over_tls_and_the_unroutable_ipv6_endpoints_say_nothing() -> None:
    verdict = analyse_dnscheck(_measurement(DNSCHECK_EXAMPLE), NO_FINGERPRINTS)
    assert (verdict.outcome, verdict.rule, verdict.layer) == (
        Outcome.OK,
        "dnscheck.lookup_ok",
        None,
    )
    rules = [(v.layer, v.rule, v.outcome) for v in verdict.layers]
    assert rules == [
        (Layer.DNS, "dnscheck.bootstrap_ok", Outcome.OK),
        (Layer.TLS, "dnscheck.lookup_ok", Outcome.OK),
        (Layer.TCP, "dnscheck.connect_ipv6_unreachable", Outcome.INSUFFICIENT),
        (Layer.TCP, "dnscheck.connect_ipv6_unreachable", Outcome.INSUFFICIENT),
    ]
    assert verdict.layers[1].witnesses[0].ref == f'test_keys.lookups["{OK_KEY}"].queries[0]'
    # the pipeline's entry point dispatches to the same analyser
    assert analyze(_measurement(DNSCHECK_EXAMPLE), NO_FINGERPRINTS).rule == "dnscheck.lookup_ok"


def test_a_tls_reset_after_a_good_bootstrap_is_blocking_at_tls_the_endpoint_witness() -> None:
    verdict = analyse_dnscheck(
        _measurement(_edited(tls_failure="connection_reset")), NO_FINGERPRINTS
    )
    assert (verdict.outcome, verdict.layer, verdict.technique, verdict.rule) == (
        Outcome.BLOCKED,
        Layer.TLS,
        "tls.reset",
        "dnscheck.tls_interrupted",
    )
    witness = verdict.layers[1].witnesses[0]
    assert (witness.ref, witness.observed) == (
        f'test_keys.lookups["{OK_KEY}"].tls_handshakes[0]',
        "dns.google connection_reset",
    )
    assert verdict.confidence == 0.8


def test_a_connect_timeout_is_blocking_only_when_the_bootstrap_worked() -> None:
    timed_out = _edited(connect_failure="generic_timeout_error")
    verdict = analyse_dnscheck(_measurement(timed_out), NO_FINGERPRINTS)
    assert (verdict.outcome, verdict.layer, verdict.rule, verdict.confidence) == (
        Outcome.BLOCKED,
        Layer.TCP,
        "dnscheck.connect_timeout_bootstrap_ok",
        0.6,
    )
    # An address input has no bootstrap: nothing shows the network works, so no verdict.
    timed_out["input"] = OK_KEY
    timed_out["test_keys"].update(bootstrap=None, bootstrap_failure=None)
    timed_out["test_keys"]["lookups"] = {OK_KEY: timed_out["test_keys"]["lookups"][OK_KEY]}
    alone = analyse_dnscheck(_measurement(timed_out), NO_FINGERPRINTS)
    assert (alone.outcome, alone.layers[0].rule) == (
        Outcome.INSUFFICIENT,
        "dnscheck.connect_timeout",
    )


def test_a_replaced_certificate_is_tampering() -> None:
    verdict = analyse_dnscheck(
        _measurement(_edited(tls_failure="ssl_unknown_authority")), NO_FINGERPRINTS
    )
    assert (verdict.outcome, verdict.layer, verdict.technique) == (
        Outcome.TAMPERED,
        Layer.TLS,
        "tls.certificate_replaced",
    )


def test_the_bootstrap_denied_is_dns_blocking_and_a_bootstrap_timeout_is_insufficient() -> None:
    denied = _edited(bootstrap_failure="dns_nxdomain_error", lookups={})
    denied["test_keys"]["bootstrap"]["queries"] = [
        _query("system", "A", "dns.google", "", failure="dns_nxdomain_error")
    ]
    verdict = analyse_dnscheck(_measurement(denied), NO_FINGERPRINTS)
    assert (verdict.outcome, verdict.layer, verdict.technique) == (
        Outcome.BLOCKED,
        Layer.DNS,
        "dns.nxdomain",
    )
    denied["test_keys"]["bootstrap_failure"] = "generic_timeout_error"
    silent = analyse_dnscheck(_measurement(denied), NO_FINGERPRINTS)
    assert (silent.outcome, silent.rule, silent.reason) == (
        Outcome.INSUFFICIENT,
        "dnscheck.bootstrap_failed",
        "no lookup: the bootstrap gave no address to test",
    )


def _udp(answers: list[dict[str, Any]] | None, failure: str | None) -> dict[str, Any]:
    lookup = {
        "agent": "redirect",
        "failed_operation": None if failure is None else "resolve",
        "failure": failure,
        "queries": [
            _query("udp", "A", "example.org", "8.8.8.8:53", answers=answers, failure=failure)
        ],
    }
    data = copy.deepcopy(DNSCHECK_EXAMPLE)
    data["input"] = "udp://8.8.8.8:53"
    data["test_keys"].update(
        bootstrap=None, bootstrap_failure=None, lookups={"udp://8.8.8.8:53": lookup}
    )
    return data


@pytest.mark.parametrize(
    ("answers", "failure", "expected"),
    [
        (_a("93.184.216.34"), None, (Outcome.OK, "dnscheck.lookup_ok", Layer.UDP)),
        # a lying resolver or an injector: Iran's sinkhole address (ooni.md §7), a bogon
        (_a("10.10.34.35"), None, (Outcome.BLOCKED, "dnscheck.lookup_bogon", Layer.DNS)),
        (None, "dns_nxdomain_error", (Outcome.BLOCKED, "dnscheck.plain_answer_error", Layer.DNS)),
        (None, "generic_timeout_error", (Outcome.INSUFFICIENT, "dnscheck.udp_no_reply", Layer.UDP)),
    ],
)
def test_do53_over_udp(
    answers: list[dict[str, Any]] | None, failure: str | None, expected: tuple[Outcome, str, Layer]
) -> None:
    verdict = analyse_dnscheck(_measurement(_udp(answers, failure)), NO_FINGERPRINTS)
    assert (verdict.outcome, verdict.rule, verdict.layers[0].layer) == expected


def test_a_shape_that_is_not_dnscheck_keys_is_a_format_error() -> None:
    data = copy.deepcopy(DNSCHECK_EXAMPLE)
    data["test_keys"]["lookups"] = ["dot://8.8.4.4:853"]
    with pytest.raises(MeasurementFormatError, match=r"test_keys\.lookups"):
        analyse_dnscheck(_measurement(data), NO_FINGERPRINTS)


# ts-025's example: stun.l.google.com:19302 from AS30722 (IT), 2020-06-01.
STUN_EXAMPLE: dict[str, Any] = {
    "input": None,
    "measurement_start_time": "2020-06-01 16:51:44",
    "probe_asn": "AS30722",
    "probe_cc": "IT",
    "report_id": "20200601T165144Z_AS30722_qwaNcWHznyBuj2Unhq3YpL1fJ1pV1WCs98xZHDjcUL8U6WP3Ot",
    "test_keys": {
        "endpoint": "stun.l.google.com:19302",
        "failure": None,
        "network_events": [
            {"failure": None, "operation": "resolve_start", "t": 2.336e-05},
            {"failure": None, "operation": "resolve_done", "t": 0.04526879},
            {
                "address": "108.177.15.127:19302",
                "failure": None,
                "operation": "connect",
                "proto": "udp",
                "t": 0.045541248,
            },
            {"failure": None, "num_bytes": 20, "operation": "write", "t": 0.04578789},
            {"failure": None, "num_bytes": 32, "operation": "read", "t": 0.084153449},
        ],
        "queries": [
            _query("system", "A", "stun.l.google.com", "", answers=_a("108.177.15.127")),
            _query("system", "AAAA", "stun.l.google.com", "", answers=_a("2a00:1450:400c:c07::7f")),
        ],
    },
    "test_name": "stun_reachability",
    "test_version": "0.0.1",
}


def _stun(failure: str | None, dns_failure: str | None = None) -> Measurement:
    data = copy.deepcopy(STUN_EXAMPLE)
    data["test_keys"]["failure"] = failure
    if dns_failure is not None:
        for query in data["test_keys"]["queries"]:
            query["answers"], query["failure"] = None, dns_failure
    return _measurement(data)


def test_stun_the_spec_example_is_ok_over_udp() -> None:
    verdict = analyse_stun(_stun(None), NO_FINGERPRINTS)
    assert (verdict.outcome, verdict.rule, verdict.layers[0].layer) == (
        Outcome.OK,
        "stun.binding_ok",
        Layer.UDP,
    )


def test_stun_one_servers_silence_is_weak_blocking_and_says_so() -> None:
    verdict = analyse_stun(_stun("generic_timeout_error"), NO_FINGERPRINTS)
    assert (verdict.outcome, verdict.layer, verdict.confidence) == (Outcome.BLOCKED, Layer.UDP, 0.5)
    assert "no control" in verdict.layers[0].counter_evidence[0]


def test_stun_a_dns_failure_is_judged_at_dns_and_a_refused_port_is_down() -> None:
    dns = analyse_stun(_stun("dns_nxdomain_error", "dns_nxdomain_error"), NO_FINGERPRINTS)
    assert (dns.outcome, dns.layers[0].layer, dns.layers[0].witnesses[0].ref) == (
        Outcome.INSUFFICIENT,
        Layer.DNS,
        "test_keys.queries[0]",
    )
    refused = analyse_stun(_stun("connection_refused"), NO_FINGERPRINTS)
    assert (refused.outcome, refused.layer) == (Outcome.DOWN, Layer.UDP)


# VALUES ('uid', ..., 'scores JSON', 'platform', 'anomaly', ...): the columns after the JSON.
_ROW = re.compile(r"VALUES \('([^']+)',.*?'(\{\"blocking_general[^']*\})','[^']*','([tf])'")


def test_stun_anomaly_equals_the_fastpath_on_its_rows() -> None:
    """ooni-backend-fastpath-rows-1081.sql: each stunreachability row keeps the keys the
    fastpath scored (`scores.extra`: endpoint and failure) and its anomaly flag."""
    rows = (CORPUS / "ooni-backend-fastpath-rows-1081.sql").read_text().splitlines()
    compared, mismatches = 0, []
    for row in rows:
        if "'stunreachability'" not in row:
            continue
        found = _ROW.search(row)
        assert found is not None, row[:120]
        uid, scores, anomaly = found.groups()
        scored = msgspec.json.decode(scores)
        if "extra" not in scored:  # a 2021 row, from before the fastpath scored STUN
            assert scored["accuracy"] == 0.0
            continue
        extra = scored["extra"]
        data = copy.deepcopy(STUN_EXAMPLE)
        data["test_keys"].update(endpoint=extra["endpoint"], failure=extra.get("failure"))
        verdict = analyse_stun(_measurement(data), NO_FINGERPRINTS)
        ours = verdict.outcome in (Outcome.BLOCKED, Outcome.TAMPERED)
        compared += 1
        if ours != (anomaly == "t"):
            mismatches.append(f"{uid}: ours {verdict.outcome}, OONI anomaly {anomaly}")
    assert compared == 47  # of the 48 rows, one unscored
    assert mismatches == [], "\n".join(mismatches)


@pytest.mark.parametrize(
    ("keys", "reason"),
    [
        (None, "no test keys"),
        (
            {"domain": "example.org", "lookups": {}},
            "no lookup: the bootstrap gave no address to test",
        ),
        ({"lookups": {"dot://9.9.9.9:853": {}}}, "no layer has evidence for an outcome"),
    ],
    ids=["null-keys", "no-lookups", "empty-lookup"],
)
def test_odd_but_valid_keys_are_insufficient_never_ok(keys: Any, reason: str) -> None:
    data = copy.deepcopy(DNSCHECK_EXAMPLE)
    data["test_keys"] = keys
    verdict = analyse_dnscheck(_measurement(data), NO_FINGERPRINTS)
    assert (verdict.outcome, verdict.reason) == (Outcome.INSUFFICIENT, reason)
