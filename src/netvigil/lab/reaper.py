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


def stop_child(child: subprocess.Popen[bytes], grace: float = GRACE) -> int:
    """Stop and reap our own child; its exit status (negative: the signal that ended it)."""
    if child.poll() is None:
        child.terminate()
        try:
            return child.wait(grace)
        except subprocess.TimeoutExpired:
            child.kill()
    return child.wait(_AFTER_KILL)


def stop_pid(pid: int, ticks: int | None, grace: float = GRACE) -> bool:
    """Stop a process that is not our child (found in a state file or in a namespace).

    With `ticks`, only the process started at that time is signalled. True when it is gone
    (or was never there), False if even SIGKILL left it running (a task stuck in the kernel).
    """
    if not _alive(pid, ticks):
        return True
    _signal(pid, signal.SIGTERM)
    if _wait_gone(pid, ticks, grace):
        return True
    _signal(pid, signal.SIGKILL)
    return _wait_gone(pid, ticks, _AFTER_KILL)
