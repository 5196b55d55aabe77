"""`netvigil demo` where the lab cannot or should not run: the offline analysis as before,
with one line saying why the lab did not run; and the lab demo's own scenario set."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from netvigil.cli.demo import NOT_ROOT, TOOLS
from netvigil.cli.demo_lab import DEMO_SCENARIOS
from netvigil.lab.scenarios import load_table, select

NOBODY = 65534
SAMPLE = 15  # the bundled sample's web_connectivity measurements (tests/test_samples.py)


def _demo(
    *args: str, env: dict[str, str] | None = None, prefix: tuple[str, ...] = ()
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*prefix, sys.executable, "-m", "netvigil", "demo", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd="/",
    )


def _verdicts(stdout: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]


def test_no_lab_is_the_offline_demo_even_as_root(tmp_path: Path) -> None:
    done = _demo("--no-lab", "--data-dir", str(tmp_path / "data"))
    assert done.returncode == 0, done.stderr
    assert len(_verdicts(done.stdout)) == SAMPLE  # piped: JSON lines, as today
    assert NOT_ROOT not in done.stderr and "censorship lab" not in done.stderr
    assert not (tmp_path / "data").exists()  # the offline demo writes nothing


@pytest.mark.skipif(
    not sys.platform.startswith("linux") or shutil.which("setpriv") is None,
    reason="setpriv (util-linux) runs the demo as an unprivileged user",
)
def test_without_root_the_offline_demo_runs_and_one_line_tells_of_the_lab() -> None:
    prefix: tuple[str, ...] = ()
    if os.geteuid() == 0:
        setpriv = shutil.which("setpriv") or "setpriv"
        prefix = (setpriv, f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups")
    env = {**os.environ, "HOME": "/tmp", "PYTHONDONTWRITEBYTECODE": "1"}
    done = _demo(env=env, prefix=prefix)
    assert done.returncode == 0, done.stderr
    assert len(_verdicts(done.stdout)) == SAMPLE
    assert done.stderr.splitlines()[0] == NOT_ROOT
    assert "Traceback" not in done.stderr
    # --json is for scripts: its stderr is what it always was, the sources note only.
    done = _demo("--json", env=env, prefix=prefix)
    assert done.returncode == 0 and len(_verdicts(done.stdout)) == SAMPLE
    assert len(done.stderr.splitlines()) == 1 and NOT_ROOT not in done.stderr


@pytest.mark.skipif(
    not sys.platform.startswith("linux") or os.geteuid() != 0, reason="the root path: root"
)
def test_as_root_without_the_lab_tools_one_line_says_what_to_install(tmp_path: Path) -> None:
    empty = tmp_path / "bin"
    empty.mkdir()
    done = _demo("--data-dir", str(tmp_path / "data"), env={**os.environ, "PATH": str(empty)})
    assert done.returncode == 0, done.stderr
    assert len(_verdicts(done.stdout)) == SAMPLE
    first = done.stderr.splitlines()[0]
    assert first.startswith(f"the censorship lab needs {', '.join(TOOLS)} (Debian: apt-get")
    assert not (tmp_path / "data").exists()  # no lab was tried


def test_the_demo_scenarios_exist_are_not_shutdowns_and_show_every_layer() -> None:
    chosen = select(load_table(None), DEMO_SCENARIOS)
    assert all(s.expect_alert is None for s in chosen)
    layers = {s.expect.layer for s in chosen}
    assert {"dns", "tcp", "tls", "http"} <= layers
    assert {"ok", "blocked"} <= {s.expect.outcome for s in chosen}
    assert len({s.nettest for s in chosen}) >= 3  # websites, a messaging app, Tor
    techniques = {s.expect.technique for s in chosen}
    assert {"dns_nxdomain", "tcp_refused", "tls_reset", "tls_mitm_certificate"} <= techniques
    assert any(t and t.startswith("http_blockpage:") for t in techniques)
