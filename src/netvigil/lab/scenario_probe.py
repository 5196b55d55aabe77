"""How the probe runs one scenario in the `client` namespace: its command line, no IO.

The probe is our own (`python -m netvigil probe run`), unchanged: the lab only tells it
what a volunteer's machine would know by itself. Its resolver is the lab's
(`--system-resolver`, the stub of net/backend.py: the system's resolver on a network whose
DHCP names 10.77.2.53), the lab's addresses stand for public ones (`--lab-network`, so only
what a censor answers is a bogon), it trusts the lab's CA only (`--ca-file`), its test
helper is ours in the server namespace, and its country and network come from the lab's
GeoIP database (lab/lab_geoip.py) looked up at its address, which it is given
(`--probe-ip`: the lab knows it, so the scrubber removes it even when a censor cuts the
probe off its probe services, docs/design/011-lab.md "Running a scenario").

Results go to the probe's own data folder, one per scenario, and are uploaded to the
collector after the censor's rules are removed (`probe upload`), so a scenario that cuts the
path (a blackout, a loss rule) loses no measurement and still reaches the pipeline.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Final

from netvigil.lab.scenario_records import Scenario, Table
from netvigil.lab.topology import CLIENT_NET

__all__ = ["CLIENT_ADDRESS", "TEST_HELPER", "probe_run_argv", "probe_upload_argv"]

CLIENT_ADDRESS: Final = f"{CLIENT_NET}.2"
TEST_HELPER: Final = "https://th.lab.test/"  # the `test_helper` site (scenarios.toml)


def probe_run_argv(
    table: Table,
    scenario: Scenario,
    *,
    ca_file: Path,
    data_dir: Path,
    geoip_db: Path,
    python: str = sys.executable,
) -> list[str]:
    """`netvigil probe run` for this scenario, with --json (one measurement a line)."""
    argv = [python, "-m", "netvigil", "probe", "run", "--test", scenario.nettest]
    for url in scenario.inputs:
        argv += ["--input", url]
    for key, values in scenario.endpoints.items():
        for value in values:
            argv += ["--endpoint", f"{key}={value}"]
    argv += ["--system-resolver", table.lab.resolver]
    for network in table.lab.networks:
        argv += ["--lab-network", network]
    argv += [
        "--ca-file",
        str(ca_file),
        "--th",
        TEST_HELPER,
        "--probe-ip",
        CLIENT_ADDRESS,
        "--geoip-db",
        str(geoip_db),
        "--data-dir",
        str(data_dir),
        "--accept-risks",
        "--json",
    ]
    return argv


def probe_upload_argv(collector: str, *, data_dir: Path, python: str = sys.executable) -> list[str]:
    """`netvigil probe upload` of everything the scenario's probe measured (the collector is
    plain HTTP inside the lab: its TLS is not what a scenario tests)."""
    argv = [python, "-m", "netvigil", "probe", "upload", "--collector", collector]
    return [*argv, "--data-dir", str(data_dir)]
