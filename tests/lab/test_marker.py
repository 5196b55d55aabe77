"""The `lab` marker's contract: without root a lab test is skipped saying why, unless
NETVIGIL_LAB_REQUIRED=1 (scripts/test as root, CI), where it fails: a lab suite that skips
in CI would pass having proved nothing. Checked by running pytest as an unprivileged user."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NOBODY = 65534
ONE_LAB_TEST = "tests/lab/test_netns.py::test_teardown_is_idempotent"


def _pytest_unprivileged(required: bool) -> subprocess.CompletedProcess[str]:
    prefix: list[str] = []
    if os.geteuid() == 0:
        setpriv = shutil.which("setpriv")
        assert setpriv, "setpriv (util-linux) is needed to run pytest as an unprivileged user"
        prefix = [setpriv, f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"]
    env = {k: v for k, v in os.environ.items() if k != "NETVIGIL_LAB_REQUIRED"}
    env |= {"HOME": "/tmp", "PYTHONDONTWRITEBYTECODE": "1"}
    if required:
        env["NETVIGIL_LAB_REQUIRED"] = "1"
    command = [sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider"]
    return subprocess.run(
        [*prefix, *command, ONE_LAB_TEST],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="setpriv and /proc: Linux")
def test_without_root_a_lab_test_is_skipped_with_its_reason() -> None:
    done = _pytest_unprivileged(required=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SKIPPED [1]" in done.stdout
    assert "lab test: making network namespaces needs root" in done.stdout


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="setpriv and /proc: Linux")
def test_when_required_a_missing_prerequisite_is_a_failure() -> None:
    done = _pytest_unprivileged(required=True)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "NETVIGIL_LAB_REQUIRED=1 but making network namespaces needs root" in done.stdout
    assert "skipped" not in done.stdout
