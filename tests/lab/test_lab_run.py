"""`netvigil lab run --json`: the whole scenario table end to end, in CI, as root.

This is issue 14's first must-show: every scenario of the bundled table (at least 30) goes
censor → probe → collector → pipeline → API and explorer page (the shutdown ones through
daemons, heartbeats and the detector), and gives the verdict the table expects. One JSON line
per scenario, with `scenario` and `passed`; afterwards no lab namespace is left.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from netvigil.lab.capture import read_capture
from netvigil.lab.scenarios import load_table
from tests.lab.namespaces import netns_names, new_id

pytestmark = pytest.mark.lab

WHOLE_TABLE = 3600.0  # a bound on a hung run, never asserted on


def test_every_scenario_of_the_table_passes_end_to_end(tmp_path: Path) -> None:
    table = load_table()
    assert len(table.scenarios) >= 30
    lab_id = new_id()
    before = netns_names()
    env = {**os.environ, "NETVIGIL_HOME": str(tmp_path), "PYTHONDONTWRITEBYTECODE": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "netvigil", "lab", "run", "--id", lab_id, "--json"],
        capture_output=True,
        text=True,
        timeout=WHOLE_TABLE,
        env=env,
    )
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert [line["scenario"] for line in lines] == [s.name for s in table.scenarios]
    failed = {line["scenario"]: line["why"] for line in lines if line["passed"] is not True}
    assert failed == {}, done.stderr[-3000:]
    assert done.returncode == 0
    assert "Traceback" not in done.stderr, done.stderr[-3000:]
    assert not {n for n in netns_names() - before if lab_id in n}
    # Each measured scenario's measurements were read back from the API, judged.
    for line in lines:
        assert line["got"] and all(g["outcome"] is not None for g in line["got"]), line


def test_capture_keeps_each_probe_runs_packets_with_the_censors_reset(tmp_path: Path) -> None:
    env = {**os.environ, "NETVIGIL_HOME": str(tmp_path), "PYTHONDONTWRITEBYTECODE": "1"}
    pcaps = tmp_path / "pcaps"
    argv = ["lab", "run", "--id", new_id(), "--json", "--capture", str(pcaps), "tls-sni-reset"]
    done = subprocess.run(
        [sys.executable, "-m", "netvigil", *argv],
        capture_output=True,
        text=True,
        timeout=WHOLE_TABLE,
        env=env,
    )
    (line,) = [json.loads(x) for x in done.stdout.splitlines()]
    assert line["passed"], line["why"]
    packets = read_capture(pcaps / "tls-sni-reset.pcap").packets
    hello = [p for p in packets if p.sni == "news.lab.test"]
    resets = [p for p in packets if p.src == "10.77.2.11" and p.has("R")]
    assert hello and resets and resets[0].time >= hello[0].time
