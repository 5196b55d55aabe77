"""psiphon, riseupvpn, openvpn: ok only when the tool worked; a failure with no control is
insufficient, never blocked; urlgetter and unknown nettests stay unanalysed, never ok.

Real measurements from the corpus (riseupvpn.json, openvpn.json), the spec's psiphon example
(the corpus has none), and variants made by editing those keys in the test.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
from typing import Any

import pytest

from netvigil.analysis.fingerprints import FingerprintDB
from netvigil.analysis.layered import analyze
from netvigil.analysis.verdicts import Layer, Outcome, Verdict
from netvigil.observatory.rows import row_for
from netvigil.records import MeasurementFormatError, decode_any
from netvigil.records.tunnels import OpenVPNKeys, PsiphonKeys, RiseupVPNKeys
from tests.corpus import MEASUREMENTS

OTHER = MEASUREMENTS / "ooni-backend-fastpath-other"
URLGETTER = MEASUREMENTS / "probe-cli-misc" / "oonireport-testmeasurement.jsonl"
DB = FingerprintDB.load()
NOW = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
OK, INSUFFICIENT = Outcome.OK, Outcome.INSUFFICIENT

# ooni/spec nettests/ts-015-psiphon.md, "Example output sample" (spec 0.3.4): its envelope
# and the values of its test keys (requests and tls_handshakes left out of the copy).
PSIPHON: dict[str, Any] = {
    "data_format_version": "0.3.4",
    "measurement_start_time": "2020-01-11 16:49:24",
    "test_runtime": 16.896564945,
    "probe_asn": "AS30722",
    "probe_cc": "IT",
    "report_id": "20200111T164924Z_AS30722_lKxNuG9w1Av9hyl49LSGIS0PxoaMq7aMarT8mwBjvnWVBAI5Hc",
    "resolver_ip": "172.217.34.2",
    "software_name": "miniooni",
    "software_version": "0.1.0-dev",
    "test_name": "psiphon",
    "test_start_time": "2020-01-11 16:49:23",
    "test_version": "0.3.2",
    "test_keys": {
        "agent": "redirect",
        "bootstrap_time": 6.604589285,
        "failure": None,
        "max_runtime": 60,
        "queries": None,
        "socksproxy": None,
    },
}
PSIPHON_KEYS = ["agent", "bootstrap_time", "failure", "max_runtime", "queries", "requests"]
PSIPHON_KEYS += ["socksproxy", "tls_handshakes"]  # the example's test keys, all of them


def real(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((OTHER / name).read_text())
    return loaded


def judge(raw: dict[str, Any]) -> Verdict:
    return analyze(decode_any(json.dumps(raw).encode()), DB)


def edited(raw: dict[str, Any], **keys: Any) -> dict[str, Any]:
    changed = copy.deepcopy(raw)
    changed["test_keys"].update(keys)
    return changed


def test_the_records_model_every_key_of_the_real_measurements() -> None:
    fields = {
        "psiphon": (PSIPHON_KEYS, PsiphonKeys),
        "riseupvpn": (sorted(real("riseupvpn.json")["test_keys"]), RiseupVPNKeys),
        "openvpn": (sorted(real("openvpn.json")["test_keys"]), OpenVPNKeys),
    }
    missing = {
        name: sorted(set(keys) - set(record.__struct_fields__))
        for name, (keys, record) in fields.items()
    }
    assert missing == {"psiphon": [], "riseupvpn": [], "openvpn": []}


def test_psiphon_that_bootstrapped_is_ok_with_its_bootstrap_time_as_witness() -> None:
    verdict = judge(PSIPHON)
    assert (verdict.outcome, verdict.rule) == (OK, "psiphon.bootstrapped")
    (tunnel,) = verdict.layers
    assert tunnel.layer is Layer.TUNNEL
    assert tunnel.witnesses[0].ref == "test_keys.bootstrap_time"
    assert tunnel.witnesses[0].observed == "6.604589285s, failure None"


def test_psiphon_that_did_not_bootstrap_is_insufficient_never_blocked() -> None:
    verdict = judge(edited(PSIPHON, bootstrap_time=0, failure="generic_timeout_error"))
    assert (verdict.outcome, verdict.rule) == (INSUFFICIENT, "psiphon.bootstrap_failed")
    assert verdict.reason is not None and "generic_timeout_error" in verdict.reason
    assert "without a control" in verdict.reason


def test_psiphon_that_bootstrapped_but_could_not_fetch_is_ok_with_a_finding() -> None:
    verdict = judge(edited(PSIPHON, failure="eof_error"))  # spec: "error in using Psiphon"
    assert verdict.outcome is OK
    assert [(f.kind, f.detail) for f in verdict.findings] == [
        ("tunnel_use_failed", "the fetch through the tunnel failed: eof_error")
    ]


def test_psiphon_resolving_outside_its_tunnel_is_a_finding() -> None:
    query = {"hostname": "www.google.com", "query_type": "A", "engine": "system"}
    verdict = judge(edited(PSIPHON, queries=[query]))
    assert verdict.outcome is OK  # the tunnel bootstrapped; the leak is worth knowing
    assert [(f.kind, f.layer, f.detail) for f in verdict.findings] == [
        ("dns_outside_tunnel", Layer.DNS, "1 DNS queries outside the tunnel: www.google.com")
    ]


def test_psiphon_without_bootstrap_time_or_failure_is_invalid() -> None:
    verdict = judge(edited(PSIPHON, bootstrap_time=0))  # ts-015: "should not happen"
    assert (verdict.outcome, verdict.rule) == (INSUFFICIENT, "psiphon.no_bootstrap_time")


def test_real_openvpn_handshake_is_ok_over_a_connected_tcp() -> None:
    raw = real("openvpn.json")
    assert raw["test_keys"]["success"] is True
    verdict = judge(raw)
    assert (verdict.outcome, verdict.rule) == (OK, "openvpn.handshake_ok")
    assert [(v.layer, v.rule, v.outcome) for v in verdict.layers] == [
        (Layer.TCP, "openvpn.tcp_ok", OK),
        (Layer.TUNNEL, "openvpn.handshake_ok", OK),
    ]
    tcp = raw["test_keys"]["tcp_connect"]  # one object in this 0.0.16 measurement
    assert verdict.layers[0].witnesses[0].ref == "test_keys.tcp_connect"
    assert verdict.layers[0].witnesses[0].observed == f"{tcp['ip']}:{tcp['port']} connected"


def test_failed_openvpn_handshake_is_insufficient_and_names_the_failure() -> None:
    raw = edited(
        real("openvpn.json"), success=False, success_handshake=False, failure="connection_reset"
    )
    verdict = judge(raw)
    assert (verdict.outcome, verdict.rule) == (INSUFFICIENT, "openvpn.handshake_failed")
    assert verdict.reason is not None and "connection_reset" in verdict.reason


def test_openvpn_whose_tcp_connect_failed_says_so() -> None:
    raw = real("openvpn.json")
    tcp = dict(raw["test_keys"]["tcp_connect"])
    tcp["status"] = {"success": False, "failure": "connection_refused"}
    verdict = judge(edited(raw, tcp_connect=tcp, success=False, failure="connection_refused"))
    assert verdict.outcome is INSUFFICIENT
    assert [(v.layer, v.rule) for v in verdict.layers] == [
        (Layer.TCP, "openvpn.tcp_failed"),
        (Layer.TUNNEL, "openvpn.handshake_failed"),
    ]
    assert verdict.reason is not None and verdict.reason.startswith("the TCP connection")


def test_openvpn_in_the_spec_format_reads_its_handshakes() -> None:
    """ts-040's 0.1.x keys: `openvpn_handshake[]` and a `tcp_connect` list (spec example)."""
    handshake: dict[str, Any] = {"endpoint": "openvpn://51.15.187.53:1194/tcp", "failure": None}
    handshake |= {"ip": "51.15.187.53", "port": 1194, "transport": "tcp", "provider": "riseup"}
    connect = {"ip": "51.15.187.53", "port": 1194, "status": {"success": True, "failure": None}}
    keys = {"success": True, "openvpn_handshake": [handshake], "tcp_connect": [connect]}
    raw = {"test_name": "openvpn", "probe_cc": "IT", "test_keys": keys | {"tunnel": "openvpn"}}
    verdict = judge(raw)
    assert verdict.outcome is OK
    assert verdict.layers[1].witnesses[0].ref == "test_keys.openvpn_handshake[0]"
    failed = judge(edited(raw, success=False, openvpn_handshake=[handshake | {"failure": "x"}]))
    assert (failed.outcome, failed.rule) == (INSUFFICIENT, "openvpn.handshake_failed")


def test_openvpn_without_a_result_is_insufficient() -> None:
    raw = edited(real("openvpn.json"), success=None, success_handshake=None)
    assert judge(raw).rule == "openvpn.no_result"


def test_real_riseupvpn_whose_api_failed_is_insufficient_with_its_witnesses() -> None:
    raw = real("riseupvpn.json")
    request = raw["test_keys"]["requests"][0]
    assert (request["request"]["url"], request["failure"]) == (
        "https://black.riseup.net/ca.crt",
        "ssl_invalid_certificate",
    )
    verdict = judge(raw)
    assert (verdict.outcome, verdict.rule) == (INSUFFICIENT, "riseupvpn.api_failed")
    refs = [(w.ref, w.observed) for w in verdict.layers[0].witnesses]
    assert refs == [
        ("test_keys.requests[0]", "https://black.riseup.net/ca.crt: ssl_invalid_certificate"),
        ("test_keys.ca_cert_status", "false"),
        ("test_keys.api_status", "blocked"),
    ]
    assert (raw["test_keys"]["ca_cert_status"], raw["test_keys"]["api_status"]) == (
        False,
        "blocked",
    )


def _working_riseup(*gateways: tuple[str, bool]) -> dict[str, Any]:
    """riseupvpn.json with its API answering and TCP connects to the given gateways."""
    raw = real("riseupvpn.json")
    requests = copy.deepcopy(raw["test_keys"]["requests"])
    requests[0]["failure"] = None
    api = raw["test_keys"]["tcp_connect"]  # the API host's connect (black.riseup.net)
    connects = api + [
        {"ip": ip, "port": 443, "status": {"success": ok, "failure": None if ok else "x"}}
        for ip, ok in gateways
    ]
    return edited(
        raw,
        requests=requests,
        api_status="ok",
        ca_cert_status=True,
        tcp_connect=connects,
        failing_gateways=[{"IP": ip, "port": 443} for ip, ok in gateways if not ok] or None,
    )


def test_riseupvpn_with_its_api_and_a_gateway_reached_is_ok_on_tcp() -> None:
    verdict = judge(_working_riseup(("204.13.164.252", True)))
    assert (verdict.outcome, verdict.rule) == (OK, "riseupvpn.gateways_reachable")
    assert [(v.layer, v.outcome) for v in verdict.layers] == [(Layer.HTTP, OK), (Layer.TCP, OK)]
    assert verdict.layers[1].witnesses[-1].observed == "204.13.164.252:443 connected"


def test_riseupvpn_partial_and_failed_gateways() -> None:
    partial = judge(_working_riseup(("204.13.164.252", True), ("37.218.241.106", False)))
    assert (partial.outcome, partial.rule) == (OK, "riseupvpn.some_gateways_failed")
    none = judge(_working_riseup(("204.13.164.252", False)))
    assert (none.outcome, none.rule) == (INSUFFICIENT, "riseupvpn.all_gateways_failed")
    assert none.reason is not None and none.reason.startswith("no gateway accepted")


def test_riseupvpn_gateways_without_the_api_are_never_ok() -> None:
    raw = _working_riseup(("204.13.164.252", True))
    broken = copy.deepcopy(raw["test_keys"]["requests"])
    broken[0]["failure"] = "connection_reset"
    verdict = judge(edited(raw, requests=broken, api_status="blocked"))
    assert (verdict.outcome, verdict.rule) == (INSUFFICIENT, "riseupvpn.api_failed")
    assert verdict.reason is not None and "connection_reset" in verdict.reason


def test_riseupvpn_in_the_current_format_without_gateways_is_insufficient() -> None:
    keys = {"api_failures": None, "ca_cert_status": True}  # ts-026 (2023-10-17) semantics
    verdict = judge({"test_name": "riseupvpn", "probe_cc": "AF", "test_keys": keys})
    assert verdict.outcome is INSUFFICIENT
    assert verdict.reason == "the API answered but no gateway was measured"
    failed = judge(edited({"test_name": "riseupvpn", "test_keys": keys}, api_failures=["eof"]))
    assert failed.rule == "riseupvpn.api_failed"


@pytest.mark.parametrize("name", ["psiphon", "riseupvpn", "openvpn"])
def test_missing_keys_are_insufficient_and_bad_keys_a_format_error(name: str) -> None:
    verdict = judge({"test_name": name, "test_keys": None})
    assert (verdict.outcome, verdict.reason) == (INSUFFICIENT, "no test keys")
    with pytest.raises(MeasurementFormatError, match=r"\$\.test_keys\.failure"):
        judge({"test_name": name, "test_keys": {"failure": 42}})


def test_urlgetter_and_unknown_nettests_are_unanalysed_rows_with_their_keys_kept() -> None:
    lines = URLGETTER.read_bytes().splitlines()
    assert len(lines) == 2
    unknown = json.loads(lines[0]) | {"test_name": "x_future_nettest"}
    outcomes = []
    for n, data in enumerate([*lines, json.dumps(unknown).encode()]):
        measurement = decode_any(data)
        row = row_for(measurement, f"uid{n}", measurement.report_id, (), DB, NOW)
        kept = measurement.test_keys_object()
        assert kept == json.loads(data)["test_keys"]  # nothing lost
        outcomes.append((row.test_name, row.outcome, row.anomaly, row.failure))
    assert outcomes == [
        ("urlgetter", "unanalysed", False, True),
        ("urlgetter", "unanalysed", False, True),
        ("x_future_nettest", "unanalysed", False, True),
    ]
