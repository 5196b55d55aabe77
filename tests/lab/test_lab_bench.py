"""bench/lab_bench.py's loopback baseline made real (root): the flat namespace comes up with
the lab's addresses on `lo` and goes with nothing left, and the bench runs one scenario.

Durations are the bench's output, never asserted on: the test counts its lines."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from netvigil.lab.netns import lab_running
from netvigil.lab.topology import flat_plan
from tests.lab.namespaces import ONE_CONNECTION, alive, in_namespace, links, netns_names, new_id

pytestmark = pytest.mark.lab

ROOT = Path(__file__).resolve().parents[2]
CONNECT = """
import socket, sys
source = (sys.argv[2], 0)
with socket.create_connection((sys.argv[1], 8080), timeout=30, source_address=source) as c:
    print(c.recv(100).decode().strip())
"""


def test_the_flat_namespace_comes_up_with_the_lab_addresses_and_goes(lab_folder: Path) -> None:
    before, root_links = netns_names(), links()
    with lab_running(flat_plan(new_id()), lab_folder) as flat:
        name = flat.plan.client
        assert netns_names() - before == {name}
        assert links(name) == {"lo"}
        site = flat.plan.site_addresses[0]
        server = flat.start(
            name,
            [sys.executable, "-c", ONE_CONNECTION, site, "over loopback"],
            stdout=subprocess.PIPE,
        )
        assert server.stdout is not None
        assert server.stdout.readline().strip() == b"ready"
        said = in_namespace(name, sys.executable, "-c", CONNECT, site, flat.plan.client_address)
        assert said.strip() == "over loopback"
        assert server.stdout.readline().decode().strip() == flat.plan.client_address
        assert links() == root_links
    assert netns_names() <= before
    assert links() == root_links
    assert not alive(server.pid)
    assert not (lab_folder / f"{flat.plan.lab_id}.json").exists()


def test_the_bench_runs_one_scenario_and_prints_its_ratio(tmp_path: Path) -> None:
    lab_id = new_id()
    done = subprocess.run(
        [sys.executable, "bench/lab_bench.py", "web-http-ok", "--id", lab_id],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert sum(line.startswith("whole table in the lab: ") for line in lines) == 1
    rows = [line.split() for line in lines if line.startswith("web-http-ok ")]
    assert len(rows) == 1 and rows[0][1:3] == ["0", "1/1"], rows  # no rule; the lab's verdict
    assert len(rows[0]) == 9 and "-" not in rows[0], rows  # measured on both sides
    assert sum(line.startswith("probe s, scenarios without rules (1 ") for line in lines) == 1
    assert sum(line.startswith("ratio_all=") for line in lines) == 1
    assert lines[-1].startswith("ratio=") and lines[-1] != "ratio=nan"
    assert not [n for n in netns_names() if n.startswith(f"nvlab-{lab_id}-")]
