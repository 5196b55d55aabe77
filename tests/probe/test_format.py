"""What the probe writes is a valid OONI measurement: read back, analysed, same key set."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import msgspec

from netvigil.analysis.fingerprints import FingerprintDB
from netvigil.analysis.layered import analyze
from netvigil.readers import Item, parse_line
from tests.corpus import MEASUREMENTS
from tests.probe.keyset import missing_or_different
from tests.probe.scenarios import CASES, run_case

REFERENCE = MEASUREMENTS / "ooni-spec" / "ts-017-example-www.example.com.json"


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
