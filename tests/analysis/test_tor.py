"""tor, vanilla_tor and torsf verdicts on OONI's real measurements and edited variants.

Expected values come from each file's own keys and OONI's rules: the fastpath's unit tests
(ooni/backend fastpath/tests/test_unit.py `test_score_tor*`, `test_score_vanilla_tor*`,
`test_score_torsf*`) give each of these very files' score, and anomaly = score > 0.5.
"""

from __future__ import annotations

import json
from typing import Any

import msgspec
import pytest

from netvigil.analysis.fingerprints import FingerprintDB
from netvigil.analysis.layered import analyze
from netvigil.analysis.tor import ooni_blocking
from netvigil.analysis.verdicts import Layer, Outcome
from netvigil.records import MeasurementFormatError, decode_keys, decode_measurement
from netvigil.records.tor import TorKeys
from tests.corpus import CORPUS

OTHER = CORPUS / "ooni-measurements" / "ooni-backend-fastpath-other"
NO_FINGERPRINTS = FingerprintDB([], [])


def load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((OTHER / name).read_bytes())
    return data


def verdict(doc: dict[str, Any]):  # type: ignore[no-untyped-def]
    return analyze(decode_measurement(json.dumps(doc).encode()), NO_FINGERPRINTS)


# file -> (outcome, rule, OONI's fastpath anomaly) — the fastpath scores from test_unit.py
CORPUS_EXPECTED = {
    # blocking_general 0.0: every target's failure is null
    "tor.json": (Outcome.OK, "tor.kind_reached", False),
    # accuracy 0.0: targets as a list (early experiment)
    "tor_list.json": (Outcome.INSUFFICIENT, "tor.targets_as_list", False),
    # blocking_general 1.0: failure "generic_timeout_error"
    "torsf_1.json": (Outcome.BLOCKED, "torsf.bootstrap_failed", True),
    # blocking_general 0.0: failure null, bootstrap_time 78.98
    "torsf_2.json": (Outcome.OK, "torsf.bootstrapped", False),
    # accuracy 0.0: ooniprobe-android 3.8.3
    "torsf_383.json": (Outcome.INSUFFICIENT, "torsf.inaccurate_version", False),
    # blocking_general 0.98 = 1 - 0.004 * 5 (tor_progress 5)
    "vanilla_tor.json": (Outcome.BLOCKED, "vanilla_tor.stalled_before_relay", True),
    # blocking_general 0.0: tor_progress 100
    "vanilla_tor_ok.json": (Outcome.OK, "vanilla_tor.bootstrapped", False),
}


def test_corpus_verdicts_and_ooni_anomaly() -> None:
    mismatches = []
    for name, (outcome, rule, anomaly) in CORPUS_EXPECTED.items():
        got = verdict(load(name))
        ours = got.outcome in (Outcome.BLOCKED, Outcome.TAMPERED)
        if (got.outcome, got.rule, ours) != (outcome, rule, anomaly):
            mismatches.append(f"{name}: {got.outcome}/{got.rule}, expected {outcome}/{rule}")
    assert not mismatches, "\n".join(mismatches)


def test_tor_ok_names_the_targets_reached() -> None:
    got = verdict(load("tor.json"))
    seen = sorted(w.observed for layer in got.layers for w in layer.witnesses)
    # the three targets of tor.json, each with failure null, and each kind's count
    assert seen == [
        "1/1 dir_port targets reached",
        "1/1 obfs4 targets reached",
        "1/1 or_port targets reached",
        "dir_port 66.111.2.131:9030: reached",
        "obfs4 38.229.1.78:80: reached",
        "or_port 66.111.2.131:9001: reached",
    ]
    # the techniques are ids (the counts are the `test_keys.targets` witnesses)
    assert {layer.technique for layer in got.layers} == {
        "tor.dir_port_reached",
        "tor.obfs4_reached",
        "tor.or_port_reached",
    }
    assert {layer.witnesses[0].ref for layer in got.layers} == {"test_keys.targets"}
    assert {layer.layer for layer in got.layers} == {Layer.HTTP, Layer.TLS, Layer.TUNNEL}
    assert (
        ooni_blocking(decode_keys(decode_measurement((OTHER / "tor.json").read_bytes()), TorKeys))
        == 0.0
    )


def _fail(doc: dict[str, Any], target: str, failure: str, *, at_connect: bool) -> None:
    entry = doc["test_keys"]["targets"][target]
    entry["failure"] = failure
    if at_connect:
        entry["tcp_connect"][0]["status"] = {"failure": failure, "success": False}


def test_tor_every_target_of_a_kind_failed_is_blocked_where_it_failed() -> None:
    doc = load("tor.json")
    _fail(doc, "66.111.2.131:9030", "connection_reset", at_connect=True)  # the one dir_port
    got = verdict(doc)
    # probe-cli's anomaly: dir_port_total 1, dir_port_accessible 0; the fastpath: 1/3 <= 0.5
    assert (got.outcome, got.rule, got.layer) == (Outcome.BLOCKED, "tor.kind_all_failed", Layer.TCP)
    blocked = next(v for v in got.layers if v.outcome is Outcome.BLOCKED)
    assert blocked.technique == "tor.dir_port_unreachable"
    assert [(w.ref, w.observed) for w in blocked.witnesses] == [
        ("test_keys.targets", "every dir_port target failed (1/1; 1: connection_reset)"),
        (
            "test_keys.targets.66.111.2.131:9030.tcp_connect[0]",
            "dir_port 66.111.2.131:9030: connection_reset",
        ),
    ]


def test_tor_partial_failure_is_a_finding_and_ok() -> None:
    doc = load("tor.json")
    extra = json.loads(json.dumps(doc["test_keys"]["targets"]["66.111.2.131:9001"]))
    extra["target_address"] = "128.31.0.39:9201"
    doc["test_keys"]["targets"]["128.31.0.39:9201"] = extra
    _fail(doc, "128.31.0.39:9201", "generic_timeout_error", at_connect=True)
    got = verdict(doc)
    # 1 of 4 failed: fastpath 0.25, not an anomaly; or_port (tls, the first access layer in
    # connection order) still has a target reached
    assert (got.outcome, got.rule) == (Outcome.OK, "tor.kind_partly_reached")
    assert [(f.kind, f.detail) for f in got.findings] == [
        ("partial_failure", "1 of 2 or_port targets failed")
    ]


def test_tor_most_targets_failed_follows_the_fastpath() -> None:
    doc = load("tor.json")
    targets = doc["test_keys"]["targets"]
    for n in range(3):  # two more or_port targets, so that failing 3 leaves one of each kind
        copy = json.loads(json.dumps(targets["66.111.2.131:9001"]))
        targets[f"10.0.0.{n}:9001"] = copy
    for n in range(3):
        _fail(doc, f"10.0.0.{n}:9001", "connection_refused", at_connect=True)
    got = verdict(doc)
    # 3 failed, 3 reached: 0.5 is not > 0.5 -> ok
    assert got.outcome is Outcome.OK
    _fail(doc, "66.111.2.131:9030", "eof_error", at_connect=False)  # HTTP-level failure
    got = verdict(doc)
    # dir_port now all failed (its only target), so kind_all_failed decides, at http
    assert (got.rule, got.layer) == ("tor.kind_all_failed", Layer.HTTP)
    doc["test_keys"]["targets"]["66.111.2.131:9030"]["failure"] = None
    targets["10.0.0.9:9001"] = json.loads(json.dumps(targets["10.0.0.0:9001"]))
    got = verdict(doc)  # 4 failed of 7 or_port+others: 4/7 > 0.5, no kind failed whole
    assert (got.outcome, got.rule, got.layer) == (
        Outcome.BLOCKED,
        "tor.most_targets_failed",
        Layer.TCP,
    )
    assert got.technique == "tor.most_targets_unreachable"
    counted = next(v for v in got.layers if v.rule == "tor.most_targets_failed").witnesses[0]
    assert counted.observed == "4 of the targets failed (OONI's score 0.57 > 0.5)"


def test_tor_targets_that_did_not_run_are_insufficient() -> None:
    doc = load("tor.json")
    for entry in doc["test_keys"]["targets"].values():
        entry["failure"] = False  # the fastpath's "did not run"
    got = verdict(doc)
    assert (got.outcome, got.rule) == (Outcome.INSUFFICIENT, "tor.no_target_ran")
    doc["test_keys"]["targets"] = {}
    assert verdict(doc).rule == "tor.no_targets"


def test_tor_private_bridge_address_never_in_a_witness() -> None:
    doc = load("tor.json")
    bridge = doc["test_keys"]["targets"][
        "f372c264e9a470335d9ac79fe780847bda052aa3b6a9ee5ff497cb6501634f9f"
    ]
    bridge["target_source"] = "bridgedb"  # ts-023: a non-empty source makes it private
    bridge["failure"] = "connection_reset"
    bridge["tcp_connect"][0]["status"] = {"failure": "connection_reset", "success": False}
    got = verdict(doc)
    text = msgspec.json.encode(got).decode()
    assert "38.229.1.78" not in text
    assert "obfs4 private bridge [scrubbed]: connection_reset" in text


def test_tor_malformed_keys_are_a_format_error() -> None:
    doc = load("tor.json")
    doc["test_keys"]["targets"]["66.111.2.131:9001"]["tcp_connect"] = "nope"
    with pytest.raises(MeasurementFormatError, match=r"test_keys\.targets"):
        verdict(doc)


def test_vanilla_tor_progress_brackets() -> None:
    doc = load("vanilla_tor.json")
    cases = {10: "vanilla_tor.stalled_at_handshake", 14: "vanilla_tor.stalled_at_handshake"}
    cases |= {25: "vanilla_tor.stalled_in_directory", 95: "vanilla_tor.stalled_in_directory"}
    cases |= {0: "vanilla_tor.stalled_before_relay"}
    wrong = []
    for progress, rule in cases.items():
        doc["test_keys"]["tor_progress"] = progress
        got = verdict(doc)
        if (got.outcome, got.rule) != (Outcome.BLOCKED, rule):
            wrong.append(f"{progress}%: {got.outcome}/{got.rule}, expected blocked/{rule}")
    assert not wrong, "\n".join(wrong)


def test_vanilla_tor_witness_is_the_progress_reached() -> None:
    got = verdict(load("vanilla_tor.json"))
    assert got.layer is Layer.TUNNEL
    assert got.technique == "tor.bootstrap_stalled"  # where it stalled: the first witness
    assert [(w.ref, w.observed) for w in got.layers[0].witnesses] == [
        ("test_keys.tor_progress", "5% (conn): Connecting to a relay"),
        ("test_keys.failure", "generic_timeout_error"),
    ]


def test_vanilla_tor_without_logs_or_stopped_is_insufficient() -> None:
    doc = load("vanilla_tor.json")
    doc["test_keys"]["tor_logs"] = []  # the fastpath: `tor_logs or tor_log` falsy -> accuracy 0
    assert verdict(doc).rule == "vanilla_tor.no_logs"
    doc = load("vanilla_tor.json")
    doc["test_keys"] |= {"tor_progress": 0, "error": "unknown-error"}
    got = verdict(doc)
    assert (got.outcome, got.rule) == (Outcome.INSUFFICIENT, "vanilla_tor.tor_stopped")


def test_vanilla_tor_measurement_kit_log_string() -> None:
    doc = load("vanilla_tor.json")
    keys = doc["test_keys"]
    keys["tor_log"] = "\n".join([*keys.pop("tor_logs"), "x [notice] Bootstrapped 100%: Done"])
    keys.pop("tor_progress")
    got = verdict(doc)
    assert (got.outcome, got.rule) == (Outcome.OK, "vanilla_tor.bootstrapped")
    assert got.layers[0].witnesses[0].ref == "test_keys.tor_log[2]"


def test_torsf_progress_reached_is_the_witness_of_a_failure() -> None:
    doc = load("torsf_383.json")
    doc["software_version"] = "3.9.0"  # not the inaccurate 3.8.3
    got = verdict(doc)
    assert (got.outcome, got.rule, got.layer) == (
        Outcome.BLOCKED,
        "torsf.bootstrap_failed",
        Layer.TUNNEL,
    )
    assert got.technique == "snowflake.bootstrap_failed"
    assert [(w.ref, w.observed) for w in got.layers[0].witnesses][-1] == (
        "test_keys.tor_progress",
        "0% (starting): Starting",
    )
    doc["test_keys"] |= {"failure": None, "success": False, "bootstrap_time": 0}
    got = verdict(doc)  # no failure, but nothing shows a bootstrap: never ok without evidence
    assert (got.outcome, got.rule) == (Outcome.INSUFFICIENT, "torsf.no_evidence")


def test_tor_target_without_failure_or_network_events_key_is_insufficient() -> None:
    # the fastpath: "missing Tor failure or network_events field" -> accuracy 0
    for key in ("failure", "network_events"):
        doc = load("tor.json")
        del doc["test_keys"]["targets"]["66.111.2.131:9030"][key]
        got = verdict(doc)
        assert (got.outcome, got.rule) == (Outcome.INSUFFICIENT, "tor.target_keys_missing"), key
        assert got.reason == "target '66.111.2.131:9030' has no failure or network_events key"
