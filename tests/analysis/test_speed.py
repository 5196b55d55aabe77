"""Verdicts of ndt and dash measurements as OONI writes them.

The corpus has no ndt or dash measurement: these are the spec examples (ooni/spec
nettests/ts-022-ndt.md and ts-021-dash.md, "Example output sample"), their envelopes and
test keys as printed there, and variants of them with the one key changed that a failed run
changes (ooni/probe-cli internal/experiment/ndt7/ndt7.go: `failure` set, summary zero).
"""

from __future__ import annotations

import copy
import datetime as dt
from pathlib import Path
from typing import Any

import msgspec
import pytest

from netvigil.analysis.fingerprints import FingerprintDB
from netvigil.analysis.layered import analyze
from netvigil.analysis.verdicts import Outcome, Verdict
from netvigil.detect.throughput import Throughput
from netvigil.observatory import detection
from netvigil.observatory.rows import row_for
from netvigil.observatory.tables import write_rows
from netvigil.records import MeasurementFormatError, decode_measurement
from netvigil.records.envelope import decode_keys
from netvigil.records.speed import NdtKeys, ndt_download

ENVELOPE: dict[str, Any] = {
    "annotations": {"engine_name": "miniooni", "engine_version": "0.9.0", "platform": "linux"},
    "data_format_version": "0.2.0",
    "input": None,
    "probe_asn": "AS30722",
    "probe_cc": "IT",
    "probe_ip": "127.0.0.1",
    "software_name": "miniooni",
    "software_version": "0.1.0-dev",
}
# ts-022's example (trimmed by the spec to three download messages and one upload message).
NDT: dict[str, Any] = {
    **ENVELOPE,
    "measurement_start_time": "2020-04-08 10:18:00",
    "report_id": "20200408T101800Z_AS30722_Q2HYsPMDdmmdT6ZppPNkF8PNyHxe91HwFGtIJwWIlopRFJr358",
    "test_keys": {
        "download": [
            {
                "AppInfo": {"NumBytes": 1703936, "ElapsedTime": 250466},
                "Origin": "client",
                "Test": "download",
            },
            {
                "AppInfo": {"NumBytes": 4456448, "ElapsedTime": 500177},
                "Origin": "client",
                "Test": "download",
            },
            {
                "Origin": "server",
                "Test": "download",
                "TCPInfo": {
                    "BusyTime": 230000,
                    "BytesAcked": 876930,
                    "BytesReceived": 661,
                    "BytesRetrans": 0,
                    "BytesSent": 1726350,
                    "MinRTT": 23172,
                    "RTT": 37812,
                    "RTTVar": 2044,
                    "RWndLimited": 38000,
                    "RcvMSS": 536,
                    "SndBufLimited": 0,
                    "ElapsedTime": 202574,
                },
            },
        ],
        "failure": None,
        "protocol": 7,
        "server": {"hostname": "ndt-iupui-mlab1-mil02.measurement-lab.org"},
        "summary": {
            "avg_rtt": 44.282,
            "download": 86735.17865757788,
            "mss": 1460,
            "max_rtt": 80.154,
            "min_rtt": 23.172,
            "ping": 23.172,
            "retransmit_rate": 0.0002913916808191168,
            "upload": 19788.436651446274,
        },
        "upload": [
            {
                "AppInfo": {"NumBytes": 656384, "ElapsedTime": 250563},
                "Origin": "client",
                "Test": "upload",
            }
        ],
    },
    "test_name": "ndt",
    "test_runtime": 21.3737419,
    "test_start_time": "2020-04-08 10:18:00",
    "test_version": "0.4.0",
}
# ts-021's example.
DASH: dict[str, Any] = {
    **ENVELOPE,
    "measurement_start_time": "2020-04-20 09:52:40",
    "report_id": "20200420T095240Z_AS30722_spiLF4fBpbo36q1FFGwaSIyLguwxpbQN5pSI1ZiC8ZJ9KeeNW9",
    "test_keys": {
        "simple": {"connect_latency": 0.019882652, "median_bitrate": 83985, "min_playout_delay": 0},
        "failure": None,
        "receiver_data": [
            {
                "connect_time": 0.019882652,
                "elapsed": 0.17025906,
                "elapsed_target": 2,
                "iteration": 0,
                "platform": "darwin",
                "rate": 3000,
                "received": 750000,
                "request_ticks": 2.6875e-05,
                "server_url": "https://neubot-mlab-mlab3-mil02.measurement-lab.org/dash/download/750000",
                "timestamp": 1587376362,
                "version": "0.008000000",
            }
        ],
    },
    "test_name": "dash",
    "test_runtime": 11.817663836,
    "test_start_time": "2020-04-20 09:52:39",
    "test_version": "0.10.0",
}
ZERO_SUMMARY = dict.fromkeys(NDT["test_keys"]["summary"], 0)


def verdict(measurement: dict[str, Any]) -> Verdict:
    return analyze(decode_measurement(msgspec.json.encode(measurement)), FingerprintDB([], []))


def variant(base: dict[str, Any], **keys: Any) -> dict[str, Any]:
    changed = copy.deepcopy(base)
    changed["test_keys"].update(keys)
    return changed


def test_the_spec_ndt_example_is_ok_with_its_summary_as_witness_and_finding() -> None:
    found = verdict(NDT)
    assert (found.outcome, found.rule, found.reason) == (Outcome.OK, "ndt.completed", None)
    (layer,) = found.layers
    (witness,) = layer.witnesses
    assert witness.ref == "test_keys.summary"
    # The summary's values as ts-022 prints them, rounded by the witness's format.
    assert witness.observed.startswith(
        "download 86735.2 kbit/s, upload 19788.4 kbit/s, min_rtt 23.172 ms, avg_rtt 44.282 ms, "
        "3 download and 1 upload samples"
    )
    assert [f.kind for f in found.findings] == ["throughput"]
    keys = decode_keys(decode_measurement(msgspec.json.encode(NDT)), NdtKeys)
    assert ndt_download(keys) == 86735.17865757788


def test_a_failed_ndt_run_is_insufficient_with_its_failure_as_reason() -> None:
    failed = variant(
        NDT, failure="generic_timeout_error", download=[], upload=[], summary=ZERO_SUMMARY
    )
    found = verdict(failed)
    assert (found.outcome, found.rule) == (Outcome.INSUFFICIENT, "ndt.failed")
    assert found.reason is not None and "generic_timeout_error" in found.reason
    keys = decode_keys(decode_measurement(msgspec.json.encode(failed)), NdtKeys)
    assert ndt_download(keys) is None


def test_a_completed_ndt_run_that_downloaded_nothing_is_insufficient() -> None:
    found = verdict(variant(NDT, summary=ZERO_SUMMARY))
    assert (found.outcome, found.rule) == (Outcome.INSUFFICIENT, "ndt.no_download")


def test_an_ndt5_measurement_is_insufficient() -> None:
    # ts-022: ndt5 has `test_s2c` and no ndt7 summary.
    ndt5 = copy.deepcopy(NDT)
    ndt5["test_keys"] = {"failure": None, "protocol": 5, "test_s2c": [{}], "test_c2s": [{}]}
    found = verdict(ndt5)
    assert (found.outcome, found.rule) == (Outcome.INSUFFICIENT, "ndt.no_summary")


def test_the_spec_dash_example_is_ok_with_its_simple_summary_kept() -> None:
    found = verdict(DASH)
    assert (found.outcome, found.rule) == (Outcome.OK, "dash.completed")
    (witness,) = found.layers[0].witnesses
    assert (witness.ref, witness.observed) == (
        "test_keys.simple",
        "median_bitrate 83985 kbit/s, connect_latency 0.0198827 s, min_playout_delay 0 s, "
        "1 segments",
    )


def test_a_failed_dash_run_is_insufficient() -> None:
    found = verdict(variant(DASH, failure="connection_reset", receiver_data=[]))
    assert (found.outcome, found.rule) == (Outcome.INSUFFICIENT, "dash.failed")
    assert found.reason is not None and "connection_reset" in found.reason


@pytest.mark.parametrize(
    ("base", "keys"),
    [(NDT, {"summary": "fast"}), (NDT, {"download": {"AppInfo": 1}}), (DASH, {"simple": []})],
)
def test_malformed_speed_keys_are_format_errors(base: dict[str, Any], keys: Any) -> None:
    with pytest.raises(MeasurementFormatError, match=r"test_keys"):
        verdict(variant(base, **keys))


def test_the_analysis_table_keeps_ndts_download_and_detection_reads_it(tmp_path: Path) -> None:
    now = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
    failed = variant(NDT, failure="generic_timeout_error", summary=ZERO_SUMMARY)
    rows = [
        row_for(
            decode_measurement(msgspec.json.encode(m)), uid, None, (), FingerprintDB([], []), now
        )
        for uid, m in (("ok", NDT), ("failed", failed), ("dash", DASH))
    ]
    assert [r.throughput for r in rows] == [86735.17865757788, None, None]
    write_rows(tmp_path, rows)
    since, until = dt.datetime(2020, 1, 1, tzinfo=dt.UTC), now
    assert detection.throughput(tmp_path, since, until) == [
        Throughput(
            uid="ok",
            time=dt.datetime(2020, 4, 8, 10, 18, tzinfo=dt.UTC),
            probe_cc="IT",
            probe_asn=30722,
            download=86735.17865757788,
        )
    ]
