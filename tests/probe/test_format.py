"""What the probe writes is a valid OONI measurement: read back, analysed, same key set."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import msgspec

from netvigil.analysis.fingerprints import FingerprintDB
from netvigil.analysis.layered import analyze
from netvigil.readers import Item, parse_line
from tests.corpus import MEASUREMENTS
from tests.probe.scenarios import CASES, run_case

REFERENCE = MEASUREMENTS / "ooni-spec" / "ts-017-example-www.example.com.json"
# Maps keyed by data (header names, "ip:port", IPs): compare their values' type, not keys.
DATA_KEYED = {
    "headers",
    "ip_info",
    "annotations",
    "http_request_headers",
    "quic_handshake",
    "tls_handshake",
    "extensions",
}


def kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    return type(value).__name__


def missing_or_different(theirs: Any, ours: Any, path: str = "") -> list[str]:
    """Every key of OONI's measurement must be in ours, with the same JSON type.

    Null on our side is accepted only for experimental `x_` keys we do not produce (df-000:
    consumers must tolerate null), for failure keys (null means success, df-007), and
    wherever OONI's value is null too.
    """
    problems: list[str] = []
    for key, value in theirs.items():
        where = f"{path}.{key}" if path else key
        if key not in ours:
            problems.append(f"{where}: missing")
            continue
        mine = ours[key]
        if value is None or mine is None:
            nullable = key.startswith("x_") or key == "failure" or key.endswith("_failure")
            if value is not None and not nullable:
                problems.append(f"{where}: null in ours, {kind(value)} in OONI's")
            continue
        if kind(value) != kind(mine):
            problems.append(f"{where}: {kind(mine)} in ours, {kind(value)} in OONI's")
        elif (
            isinstance(value, dict)
            and key not in DATA_KEYED
            and not (key == "tcp_connect" and path.endswith("control"))
        ):
            problems += missing_or_different(value, mine, where)
        elif isinstance(value, list) and value and mine and isinstance(value[0], dict):
            # Compare like with like: a UDP lookup with a UDP lookup, not with getaddrinfo.
            engine = value[0].get("engine")
            peer = next((m for m in mine if m.get("engine") == engine), mine[0])
            problems += missing_or_different(value[0], peer, f"{where}[0]")
    return problems


def probe_output(tmp_path: Path, name: str) -> bytes:
    case = next(c for c in CASES if c.name == name)
    return msgspec.json.encode(asyncio.run(run_case(case, tmp_path)))


def test_our_measurement_has_every_key_of_a_real_ooni_v05_measurement(tmp_path: Path) -> None:
    reference = json.loads(REFERENCE.read_text())
    ours = json.loads(probe_output(tmp_path, "successWithHTTPS"))
    assert missing_or_different(reference, ours) == []
    assert ours["probe_ip"] == "127.0.0.1"
    assert ours["data_format_version"] == "0.2.0"


def test_our_measurements_read_back_and_analyse(tmp_path: Path) -> None:
    for name in ("successWithHTTP", "dnsBlockingNXDOMAIN", "httpBlockingConnectionReset"):
        folder = tmp_path / name
        folder.mkdir()
        item = parse_line(probe_output(folder, name), "probe", 1)
        assert isinstance(item, Item)
        verdict = analyze(item.measurement, FingerprintDB.load())
        assert verdict.layers, name
