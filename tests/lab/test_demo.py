"""`netvigil demo` as root: a lab scenario runs into the data folder, the lab is removed, and
the explorer in the root namespace shows the lab's verdict (real HTTP on 127.0.0.1)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from netvigil.lab.lab_geoip import LAB_ASN
from netvigil.lab.netns import down_recorded
from tests.lab.namespaces import netns_names, new_id
from tests.probe.world import free_port

pytestmark = pytest.mark.lab

READY_POLLS = 600  # a bound on the wait (the lab's minute and the demo's loading), not a timing
POLL_EVERY = 0.5
HTTP_TIMEOUT = 30.0


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=HTTP_TIMEOUT) as answer:
            return int(answer.status), answer.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode("utf-8", "replace")


def _served(base: str, demo: subprocess.Popen[bytes]) -> bool:
    """Whether the explorer answers; False once the demo has ended without serving."""
    for _ in range(READY_POLLS):
        if demo.poll() is not None:
            return False
        try:
            if _get(f"{base}/api/v1/measurements?limit=1")[0] == 200:
                return True
        except OSError:
            pass  # the lab is still running: the port is bound and not yet served
        time.sleep(POLL_EVERY)
    return False


def test_root_demo_runs_the_lab_then_serves_its_verdicts(tmp_path: Path) -> None:
    lab_id, port = new_id(), free_port()
    out, errors = tmp_path / "stdout", tmp_path / "stderr"
    argv = [sys.executable, "-m", "netvigil", "demo", "--scenario", "dns-nxdomain"]
    argv += ["--port", str(port), "--data-dir", str(tmp_path / "data"), "--lab-id", lab_id]
    env = {k: v for k, v in os.environ.items() if k != "NETVIGIL_DATABASE_URL"}  # SQLite
    base = f"http://127.0.0.1:{port}"
    with out.open("wb") as stdout, errors.open("wb") as stderr:
        demo = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=stdout, stderr=stderr, env=env
        )
    try:
        served = _served(base, demo)
        said = errors.read_text()
        assert served, said
        assert "pass dns-nxdomain: blocked dns dns_nxdomain" in said
        assert "1/1 scenarios as expected; the lab is removed" in said
        assert not {n for n in netns_names() if n.startswith(f"nvlab-{lab_id}-")}

        status, network = _get(f"{base}/network/AS{LAB_ASN}")
        assert status == 200 and "dns_nxdomain" in network and "news.lab.test" in network
        found = re.search(r"dns-nxdomain: (http://\S+/measurement/(\S+))", out.read_text())
        assert found, out.read_text()
        status, page = _get(found.group(1))
        assert status == 200 and "dns_nxdomain" in page and "news.lab.test" in page
        status, api = _get(f"{base}/api/v1/measurement/{found.group(2)}")
        assert status == 200 and '"dns_nxdomain"' in api

        # The bundled demo is served beside the lab's measurements, as `serve --demo` does.
        assert "sample measurements" in said and "example incidents" in said
    finally:
        if demo.poll() is None:
            demo.send_signal(signal.SIGINT)
        try:
            code = demo.wait(timeout=60)
        except subprocess.TimeoutExpired:
            demo.kill()
            code = demo.wait(timeout=60)
        down_recorded(tmp_path / "data" / "lab", lab_id)  # a no-op when the demo did its job
    assert code == 0, errors.read_text()
    assert not {n for n in netns_names() if n.startswith(f"nvlab-{lab_id}-")}


def test_root_demo_refuses_a_shutdown_scenario_and_a_bad_id_in_one_line(tmp_path: Path) -> None:
    for extra in (["--scenario", "shutdown-blackout"], ["--lab-id", "Not-An-Id"]):
        done = subprocess.run(
            [sys.executable, "-m", "netvigil", "demo", *extra, "--data-dir", str(tmp_path)],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 2, done.stderr
        assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert not (tmp_path / "lab").exists()  # refused before any lab was made
