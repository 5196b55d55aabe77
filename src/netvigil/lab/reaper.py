"""Stopping the lab's processes: SIGTERM, SIGKILL after a grace, then reaping.

A process started in a namespace keeps that namespace alive after `ip netns delete` (the name
goes, the namespace and its veths stay while a process is in it: ip-netns(8)), so teardown
stops every process first. Two kinds:

- our own children (the lab is still running): `Popen.wait` reaps them, so no zombie stays;
- processes recorded by a lab process that died (read from its state file): they were
  reparented, we cannot reap them, only signal them and watch /proc until each is gone or a
  zombie (its parent's to reap; a zombie holds no namespace).

A PID from a state file is signalled only if its start time still matches (labstate.Process):
the PID of a process that ended may since belong to something else on the machine.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Final

GRACE: Final = 3.0  # seconds a process has to exit on SIGTERM before SIGKILL
_POLL: Final = 0.02
_AFTER_KILL: Final = 5.0  # SIGKILL cannot be caught; this bounds a process stuck in the kernel


def _stat(pid: int) -> tuple[str, int] | None:
    """(state letter, start time in clock ticks) from /proc/PID/stat, or None if no such PID.

    The command name (field 2) is in parentheses and may hold spaces or parentheses itself,
    so the fields are counted from the last ')' (proc(5))."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    except OSError:
        return None
    fields = text[text.rfind(")") + 2 :].split()
    # fields[0] is field 3 (state); field 22 (starttime) is fields[19].
    return fields[0], int(fields[19])


def start_ticks(pid: int) -> int | None:
    """The PID's start time (to record beside it), or None when it has already gone."""
    found = _stat(pid)
    return None if found is None else found[1]


def _alive(pid: int, ticks: int | None) -> bool:
    found = _stat(pid)
    if found is None or found[0] in ("Z", "X"):
        return False
    return ticks is None or found[1] == ticks


def _wait_gone(pid: int, ticks: int | None, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while _alive(pid, ticks):
        if time.monotonic() >= deadline:
            return False
        time.sleep(_POLL)
    return True


def _signal(pid: int, signum: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):  # it ended between the check and now
        os.kill(pid, signum)


def stop_children(children: Sequence[subprocess.Popen[bytes]], grace: float = GRACE) -> list[int]:
    """Stop and reap our own children (SIGTERM to all, one shared grace, SIGKILL to the
    rest); the PIDs that outlived even SIGKILL."""
    for child in children:
        if child.poll() is None:
            child.terminate()
    deadline = time.monotonic() + grace
    for child in children:
        with contextlib.suppress(subprocess.TimeoutExpired):
            child.wait(_until(deadline))
    for child in children:
        if child.poll() is None:
            child.kill()
    deadline = time.monotonic() + _AFTER_KILL
    stuck = []
    for child in children:
        try:
            child.wait(_until(deadline))
        except subprocess.TimeoutExpired:
            stuck.append(child.pid)
    return stuck


def stop_pids(
    processes: Sequence[tuple[int, int | None]], grace: float = GRACE
) -> tuple[list[int], list[int]]:
    """Stop processes that are not our children (found in a state file or a namespace).

    Each is (PID, start ticks or None); with ticks, only the process started then is
    signalled. All get SIGTERM at once and share one grace, so ten processes that ignore it
    cost one grace, not ten. Returns (stopped, stuck): stuck ones outlived even SIGKILL (a
    task stuck in the kernel)."""
    wanted = [(pid, ticks) for pid, ticks in processes if _alive(pid, ticks)]
    for pid, _ticks in wanted:
        _signal(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    left = [(pid, ticks) for pid, ticks in wanted if not _wait_gone(pid, ticks, _until(deadline))]
    for pid, _ticks in left:
        _signal(pid, signal.SIGKILL)
    deadline = time.monotonic() + _AFTER_KILL
    stuck = [pid for pid, ticks in left if not _wait_gone(pid, ticks, _until(deadline))]
    return [pid for pid, _ticks in wanted if pid not in stuck], stuck


def _until(deadline: float) -> float:
    return max(0.0, deadline - time.monotonic())
