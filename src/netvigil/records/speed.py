"""Test keys of the speed nettests: `ndt` (ndt7, ts-022) and `dash` (ts-021).

ndt7's keys are what ooni/probe-cli internal/experiment/ndt7/ndt7.go writes (`TestKeys`,
`Summary`, `ServerInfo`): `download` and `upload` lists of ndt7 measurement messages as the
M-Lab protocol has them (m-lab/ndt-server spec/ndt7-protocol.md v0.9: `AppInfo`, `Origin`,
`Test`, `TCPInfo`, PascalCase), `failure`, `protocol` (7), `server` {hostname} and the
`summary` {avg_rtt, download, mss, max_rtt, min_rtt, ping, retransmit_rate, upload}: speeds
in kbit/s, times in milliseconds (the messages' own times are microseconds).

dash's keys (ts-021): `simple` {connect_latency, median_bitrate, min_playout_delay},
`receiver_data` (one entry per segment), the optional `sender_data`, `failure`.

Every field is defaulted and numbers are floats where a probe may write either (df-000:
tolerate null or missing). Our probe (probe/ndt7.py) and server (testhelper/ndt7.py) encode
these same structs.
"""

from __future__ import annotations

from typing import Any

import msgspec

from netvigil.records.base import Record

SUBPROTOCOL = "net.measurementlab.ndt.v7"  # ndt7-protocol.md: the upgrade's subprotocol
DOWNLOAD_PATH = "/ndt/v7/download"
UPLOAD_PATH = "/ndt/v7/upload"


class AppInfo(Record, frozen=True):
    """Application-level bytes since the subtest began, and when (microseconds)."""

    ElapsedTime: int = 0
    NumBytes: int = 0


class TCPInfo(Record, frozen=True, omit_defaults=True):
    """The kernel's TCP_INFO (times in microseconds, counts in bytes); ts-022 lists the
    guaranteed fields, and a real measurement may hold more (AdvMSS, RcvMSS...)."""

    BusyTime: int | None = None
    BytesAcked: int | None = None
    BytesReceived: int | None = None
    BytesSent: int | None = None
    BytesRetrans: int | None = None
    ElapsedTime: int | None = None
    MinRTT: int | None = None
    RTT: int | None = None
    RTTVar: int | None = None
    RWndLimited: int | None = None
    SndBufLimited: int | None = None
    AdvMSS: int | None = None
    SndMSS: int | None = None


class Ndt7Message(Record, frozen=True, omit_defaults=True):
    """One ndt7 measurement message; `Origin` "client" or "server", `Test` the subtest."""

    app_info: AppInfo | None = msgspec.field(default=None, name="AppInfo")
    origin: str | None = msgspec.field(default=None, name="Origin")
    test: str | None = msgspec.field(default=None, name="Test")
    tcp_info: TCPInfo | None = msgspec.field(default=None, name="TCPInfo")


class NdtSummary(Record, frozen=True):
    avg_rtt: float = 0.0  # ms
    download: float = 0.0  # kbit/s
    mss: float = 0  # bytes
    max_rtt: float = 0.0  # ms
    min_rtt: float = 0.0  # ms
    ping: float = 0.0  # ms, = min_rtt
    retransmit_rate: float = 0.0  # 0..1
    upload: float = 0.0  # kbit/s


class NdtServer(Record, frozen=True):
    hostname: str = ""
    site: str | None = None


class NdtKeys(Record, frozen=True):
    download: list[Ndt7Message] | None = None
    failure: str | None = None
    protocol: int = 7
    server: NdtServer | None = None
    summary: NdtSummary | None = None
    upload: list[Ndt7Message] | None = None


class DashSimple(Record, frozen=True):
    connect_latency: float = 0.0  # seconds
    median_bitrate: float = 0.0  # kbit/s
    min_playout_delay: float = 0.0  # seconds


class DashSegment(Record, frozen=True):
    """One `receiver_data` entry: a segment fetched at `rate` kbit/s (ts-021)."""

    connect_time: float | None = None
    elapsed: float | None = None
    elapsed_target: float | None = None
    iteration: int | None = None
    platform: str | None = None
    rate: float | None = None
    received: int | None = None
    request_ticks: float | None = None
    server_url: str | None = None
    timestamp: int | None = None
    version: str | None = None


class DashKeys(Record, frozen=True):
    simple: DashSimple | None = None
    failure: str | None = None
    receiver_data: list[DashSegment] | None = None
    sender_data: list[dict[str, Any]] | None = None


def ndt_download(keys: NdtKeys | None) -> float | None:
    """The download speed (kbit/s) of a completed ndt measurement; None without one."""
    if keys is None or keys.failure is not None or keys.summary is None:
        return None
    speed = keys.summary.download
    return speed if speed > 0 else None


def _kbps(messages: list[Ndt7Message]) -> float:
    """Bytes × 8 / elapsed at the client's last sample, in kbit/s."""
    last = next((m for m in reversed(messages) if m.origin == "client"), None)
    if last is None or last.app_info is None or last.app_info.ElapsedTime <= 0:
        return 0.0
    return last.app_info.NumBytes * 8 / last.app_info.ElapsedTime * 1e3  # bit/µs → kbit/s


def summarise(download: list[Ndt7Message], upload: list[Ndt7Message]) -> NdtSummary:
    """Our probe's summary (probe/ndt7.py says why from the client's TCPInfo): OONI's
    formulas (probe-cli ndt7.go) — avg_rtt the last smoothed RTT, max_rtt the largest,
    min_rtt (= ping) and mss the last sample's — over the download's client samples; the
    retransmit rate from the upload's last one, where the client is the sender."""

    def infos(messages: list[Ndt7Message]) -> list[TCPInfo]:
        return [m.tcp_info for m in messages if m.origin == "client" and m.tcp_info is not None]

    received, sent = infos(download), infos(upload)
    rtts = [i.RTT / 1e3 for i in received if i.RTT]
    last = received[-1] if received else TCPInfo()
    final = sent[-1] if sent else TCPInfo()
    min_rtt = (last.MinRTT or 0) / 1e3
    return NdtSummary(
        avg_rtt=rtts[-1] if rtts else 0.0,
        download=_kbps(download),
        mss=last.AdvMSS or 0,
        max_rtt=max(rtts, default=0.0),
        min_rtt=min_rtt,
        ping=min_rtt,
        retransmit_rate=(final.BytesRetrans or 0) / final.BytesSent if final.BytesSent else 0.0,
        upload=_kbps(upload),
    )
