"""Wrapping test keys into a df-000 measurement, with OONI's classic keys computed in.

The envelope follows ooni/spec df-000 (ooni.md §3.1, §10): data format 0.2.0, UTC times as
"YYYY-MM-DD hh:mm:ss", `probe_ip` always "127.0.0.1", location only as country and
network. The classic verdict keys are computed by the same engine that re-analyses
measurements (`analysis/classic.py`), so a probe's keys and a re-analysis agree by
construction; our layered verdicts are not written into the measurement (verdicts are
recomputed centrally, DESIGN.md principle 1).
"""

from __future__ import annotations

import datetime as dt
import platform
import secrets
from typing import Any

import msgspec

from netvigil import __version__
from netvigil.analysis.classic import classic_verdict
from netvigil.analysis.observe import observe
from netvigil.records import Measurement, Record, WebConnectivityKeys, WebMeasurement

TEST_NAME = "web_connectivity"
# The version of ts-017 whose behaviour we implement (v0.5 "LTE"); `software_name` tells
# our measurements apart from OONI Probe's.
TEST_VERSION = "0.5.28"
DATA_FORMAT_VERSION = "0.2.0"
EXTENSIONS = {
    "dnst": 0,
    "httpt": 0,
    "netevents": 0,
    "tcpconnect": 0,
    "tlshandshake": 0,
    "tunnel": 0,
}


class Location(msgspec.Struct, frozen=True, kw_only=True):
    probe_cc: str = "ZZ"
    probe_asn: str = "AS0"
    probe_network_name: str = ""


def ooni_time(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S")


def report_id(start: dt.datetime, location: Location, test_name: str = TEST_NAME) -> str:
    """A local report id in OONI's shape (the nettest's name without underscores); a
    collector issues the real one on upload."""
    asn = location.probe_asn.removeprefix("AS")
    stamp = start.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    test = test_name.replace("_", "")
    return f"{stamp}_{test}_{location.probe_cc}_{asn}_n1_{secrets.token_urlsafe(12)}"


def with_classic_keys(keys: WebConnectivityKeys) -> WebConnectivityKeys:
    verdict = classic_verdict(observe(keys, url=""))  # v0.5 classic keys never read the URL
    return msgspec.structs.replace(
        keys,
        dns_experiment_failure=verdict.dns_experiment_failure,
        http_experiment_failure=verdict.http_experiment_failure,
        dns_consistency=verdict.dns_consistency,
        body_proportion=verdict.body_proportion,
        body_length_match=verdict.body_length_match,
        headers_match=verdict.headers_match,
        status_code_match=verdict.status_code_match,
        title_match=verdict.title_match,
        blocking=verdict.blocking,
        accessible=verdict.accessible,
        x_blocking_flags=_blocking_flags(verdict.blocking, verdict.accessible),
        x_dns_flags=0,
        x_null_null_flags=0,
    )


# webconnectivitylte/analysiscore.go: 1 dns, 2 tcp_ip, 8 http-failure, 16 http-diff, 32 ok.
_FLAGS = {"dns": 1, "tcp_ip": 2, "http-failure": 8, "http-diff": 16}


def _blocking_flags(blocking: str | bool | None, accessible: bool | None) -> int:
    if isinstance(blocking, str):
        return _FLAGS.get(blocking, 0)
    return 32 if blocking is False and accessible else 0


def _annotations() -> dict[str, str]:
    return {
        "architecture": platform.machine(),
        "engine_name": "netvigil",
        "engine_version": __version__,
        "platform": platform.system().lower(),
    }


def _envelope_keys(
    input: str | None,
    location: Location,
    report: str,
    started: dt.datetime,
    test_started: dt.datetime,
    runtime: float,
) -> dict[str, Any]:
    """The df-000 keys every nettest's envelope shares (the probe's address is never one)."""
    return {
        "annotations": _annotations(),
        "data_format_version": DATA_FORMAT_VERSION,
        "extensions": dict(EXTENSIONS),
        "input": input,
        "measurement_start_time": ooni_time(started),
        "test_start_time": ooni_time(test_started),
        "test_runtime": round(runtime, 6),
        "probe_asn": location.probe_asn,
        "probe_cc": location.probe_cc,
        "probe_network_name": location.probe_network_name,
        "probe_ip": "127.0.0.1",
        "resolver_asn": "AS0",
        "resolver_ip": "",
        "resolver_network_name": "",
        "report_id": report,
        "software_name": "netvigil",
        "software_version": __version__,
    }


def nettest_envelope(
    name: str,
    version: str,
    input: str | None,
    keys: Record,
    *,
    location: Location,
    report: str,
    started: dt.datetime,
    test_started: dt.datetime,
    runtime: float,
    test_helpers: dict[str, Any] | None = None,
) -> Measurement:
    """A df-000 measurement of any nettest: the same envelope as web_connectivity's."""
    return Measurement(
        **_envelope_keys(input, location, report, started, test_started, runtime),
        test_helpers=test_helpers or {},
        test_name=name,
        test_version=version,
        test_keys=msgspec.Raw(msgspec.json.encode(keys)),
    )


def envelope(
    url: str,
    keys: WebConnectivityKeys,
    *,
    location: Location,
    report: str,
    started: dt.datetime,
    test_started: dt.datetime,
    runtime: float,
    test_helper: str | None,
) -> WebMeasurement:
    return WebMeasurement(
        **_envelope_keys(url, location, report, started, test_started, runtime),
        test_helpers=(
            {"backend": {"address": test_helper, "type": test_helper.split(":", 1)[0]}}
            if test_helper
            else {}
        ),
        test_name=TEST_NAME,
        test_version=TEST_VERSION,
        test_keys=with_classic_keys(keys),
    )
