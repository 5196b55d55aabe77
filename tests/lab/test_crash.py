"""Teardown after the lab's process died: SIGTERM runs it, SIGKILL leaves a record that
`netvigil lab down` reads, and a lost or corrupt record still falls to the sweep by name."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.lab.namespaces import alive, netns_names, new_id

pytestmark = pytest.mark.lab

HOLD = """
import sys, time
from pathlib import Path
from netvigil.lab.netns import lab_running
from netvigil.lab.topology import plan
with lab_running(plan(sys.argv[1]), Path(sys.argv[2])) as lab:
    child = lab.start(lab.plan.server, ["sleep", "1000"])
    print(child.pid, flush=True)
    while True:
        time.sleep(60)
"""


def _netvigil(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "netvigil", "lab", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


def _holding(lab_id: str, folder: Path) -> tuple[subprocess.Popen[bytes], int]:
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, lab_id, str(folder)], stdout=subprocess.PIPE
    )
    assert holder.stdout is not None
    return holder, int(holder.stdout.readline())


def _names(lab_id: str) -> set[str]:
    return {name for name in netns_names() if name.startswith(f"nvlab-{lab_id}-")}


@pytest.mark.parametrize(
    ("signum", "status"),
    # SIGTERM ends it with 128+15 (our handler's SystemExit); SIGINT, Python's
    # KeyboardInterrupt, by re-raising the signal once the finally has run (-2).
    [(signal.SIGTERM, 128 + signal.SIGTERM), (signal.SIGINT, -signal.SIGINT)],
)
def test_sigterm_and_sigint_tear_the_lab_down(
    lab_folder: Path, signum: signal.Signals, status: int
) -> None:
    lab_id = new_id()
    holder, pid = _holding(lab_id, lab_folder)
    assert len(_names(lab_id)) == 3 and alive(pid)
    holder.send_signal(signum)
    assert holder.wait(60) == status
    assert _names(lab_id) == set() and not alive(pid)
    assert not (lab_folder / f"{lab_id}.json").exists()


def test_after_sigkill_lab_down_removes_the_namespaces_and_the_processes(
    lab_folder: Path,
) -> None:
    lab_id = new_id()
    holder, pid = _holding(lab_id, lab_folder)
    holder.kill()
    assert holder.wait(60) == -signal.SIGKILL
    # Nothing ran a finally: the lab and its process outlive the process that made them.
    assert len(_names(lab_id)) == 3 and alive(pid)
    done = _netvigil("down", "--id", lab_id, "--data-dir", str(lab_folder.parent))
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert f"stopped process {pid}" in lines
    assert {
        f"removed namespace {n}"
        for n in (f"nvlab-{lab_id}-{r}" for r in ("client", "censor", "server"))
    } <= set(lines)
    assert _names(lab_id) == set() and not alive(pid)
    assert not (lab_folder / f"{lab_id}.json").exists()


def test_a_lab_up_killed_half_way_is_cleaned_by_lab_down(lab_folder: Path) -> None:
    lab_id = new_id()
    state = lab_folder / f"{lab_id}.json"
    up = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "netvigil",
            "lab",
            "up",
            "--id",
            lab_id,
            "--data-dir",
            str(lab_folder.parent),
        ],
        stdout=subprocess.DEVNULL,
    )
    # Killed once its first namespace exists (`ip netns add` makes /run/netns/NAME): the
    # record was written before it (write-ahead), and `up` is then part way through.
    first = Path("/run/netns") / f"nvlab-{lab_id}-client"
    for _ in range(60_000):  # a bound on the polls, not a timing: each one is 1 ms at least
        if first.exists() or up.poll() is not None:
            break
        time.sleep(0.001)
    up.kill()
    assert up.wait(60) == -signal.SIGKILL  # killed before it finished
    assert state.exists() and len(_names(lab_id)) >= 1
    done = _netvigil("down", "--id", lab_id, "--data-dir", str(lab_folder.parent))
    assert done.returncode == 0, done.stderr
    assert _names(lab_id) == set() and not state.exists()


def test_a_corrupt_record_is_a_warning_and_the_sweep_still_removes_the_lab(
    lab_folder: Path,
) -> None:
    lab_id = new_id()
    made = _netvigil("up", "--id", lab_id, "--data-dir", str(lab_folder.parent))
    assert made.returncode == 0, made.stderr
    (lab_folder / f"{lab_id}.json").write_bytes(b"\x00not json")
    done = _netvigil("down", "--id", lab_id, "--data-dir", str(lab_folder.parent))
    assert done.returncode == 0
    warning = done.stderr.strip().splitlines()
    assert len(warning) == 1 and warning[0].startswith("warning: lab state")
    assert _names(lab_id) == set()
