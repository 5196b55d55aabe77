"""The adapter that makes a lab real: runs topology.py's commands, records, tears down.

Every command is an argv run without a shell and with a timeout (a hung `ip` must not hang a
test run). What is made is recorded first (lab/labstate.py), so teardown works from the
running process (`lab_running`'s finally), from a later `netvigil lab down` after the process
was killed with SIGKILL, and, when even the record is gone, by name: every `ip netns list`
entry starting `nvlab-`. Teardown is idempotent: what is already gone is skipped.
"""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import Any, Final

import msgspec

from netvigil.lab import labstate, reaper
from netvigil.lab.labstate import LabState, Process
from netvigil.lab.topology import Plan, is_lab_namespace

TIMEOUT: Final = 10.0


class LabError(RuntimeError):
    """A lab command failed; the message is one line naming the command."""


class Removed(msgspec.Struct, frozen=True, kw_only=True):
    """What one teardown removed (what was already gone is not listed)."""

    namespaces: tuple[str, ...] = ()
    processes: tuple[int, ...] = ()
    stuck: tuple[int, ...] = ()  # processes even SIGKILL did not end


def run(argv: Sequence[str], timeout: float = TIMEOUT, stdin: str | None = None) -> str:
    """Run one command (with `stdin` as its input); its stdout, or LabError with its first
    line of stderr."""
    try:
        done = subprocess.run(
            list(argv), input=stdin, capture_output=True, text=True, timeout=timeout
        )
    except subprocess.TimeoutExpired:
        raise LabError(f"{' '.join(argv)}: no answer in {timeout:g} s") from None
    except OSError as exc:
        raise LabError(f"{argv[0]}: {exc.strerror or exc}") from None
    if done.returncode != 0:
        why = (done.stderr.strip().splitlines() or [f"exit status {done.returncode}"])[0]
        raise LabError(f"{' '.join(argv)}: {why}")
    return done.stdout


def namespaces() -> list[str]:
    """The names `ip netns list` shows (each line is "NAME" or "NAME (id: N)")."""
    return [line.split()[0] for line in run(["ip", "netns", "list"]).splitlines() if line.strip()]


def _pids_in(namespace: str) -> list[int]:
    try:
        return [int(p) for p in run(["ip", "netns", "pids", namespace]).split()]
    except LabError:  # the namespace is already gone
        return []


def _inside(pid: int, namespace: str) -> bool:
    """False when the namespace still exists and the PID is in another network namespace
    (the same inode is the same namespace: namespaces(7)); a process that left, or a PID
    that is not ours, is not signalled."""
    try:
        expected = os.stat(f"/run/netns/{namespace}").st_ino
    except OSError:
        return True  # the name is gone; the start time alone identifies the process
    try:
        return os.stat(f"/proc/{pid}/ns/net").st_ino == expected
    except OSError:
        return False


def _remove(names: Sequence[str], processes: Sequence[Process]) -> Removed:
    """Stop the processes (recorded ones, then any other found inside), delete the names."""
    # A recorded PID that ended (it may be someone else's now) or is not in its namespace
    # any more is not the process we started there: `stop_pids` checks the start time.
    ours = [(p.pid, p.start_ticks) for p in processes if _inside(p.pid, p.namespace)]
    stopped, stuck = reaper.stop_pids(ours)
    present = set(namespaces())
    names = [name for name in names if name in present]
    # Grandchildren and anything else that entered a namespace: ip-netns(8) `pids`.
    found, stuck_inside = reaper.stop_pids([(pid, None) for n in names for pid in _pids_in(n)])
    stopped, stuck = stopped + found, stuck + stuck_inside
    deleted: list[str] = []
    for name in names:
        run(["ip", "netns", "delete", name])
        deleted.append(name)
    return Removed(namespaces=tuple(deleted), processes=tuple(stopped), stuck=tuple(stuck))


def _merge(removed: Sequence[Removed]) -> Removed:
    return Removed(
        namespaces=tuple(n for r in removed for n in r.namespaces),
        processes=tuple(p for r in removed for p in r.processes),
        stuck=tuple(p for r in removed for p in r.stuck),
    )


class Lab:
    """A lab being brought up or running: its plan, its record, the children it started."""

    def __init__(self, plan: Plan, folder: Path) -> None:
        self.plan = plan
        self.folder = folder
        self.state = LabState(
            lab_id=plan.lab_id,
            namespaces=plan.namespaces,
            veths=tuple(n for link in plan.links for n in (link.name, link.peer)),
        )
        self._children: list[subprocess.Popen[bytes]] = []
        self._made = False  # down() removes only what this object made, never a namesake's

    def up(self) -> LabState:
        """Create every namespace and link; on any failure, remove what was made, then raise."""
        present = set(namespaces())
        taken = [name for name in self.plan.namespaces if name in present]
        if taken or labstate.state_path(self.folder, self.plan.lab_id).exists():
            raise LabError(
                f"lab {self.plan.lab_id!r} is already up ({', '.join(taken) or 'recorded'});"
                " run `netvigil lab down` first"
            )
        labstate.write(self.folder, self.state)  # before anything exists: write-ahead
        self._made = True
        try:
            for argv in self.plan.up:
                run(argv)
        except BaseException:
            self.down()
            raise
        return self.state

    def start(self, namespace: str, argv: Sequence[str], **popen: Any) -> subprocess.Popen[bytes]:
        """Start `argv` inside one of this lab's namespaces (`ip netns exec` executes it in
        place, so the PID is the program's own); recorded before this returns."""
        if namespace not in self.plan.namespaces:
            raise LabError(f"{namespace} is not a namespace of lab {self.plan.lab_id!r}")
        try:
            child: subprocess.Popen[bytes] = subprocess.Popen(
                ["ip", "netns", "exec", namespace, *argv], **popen
            )
        except OSError as exc:
            raise LabError(f"cannot start {argv[0]} in {namespace}: {exc.strerror}") from None
        self._children.append(child)
        ticks = reaper.start_ticks(child.pid)
        process = Process(
            pid=child.pid, start_ticks=ticks or 0, namespace=namespace, argv=tuple(argv)
        )
        processes = (*self.state.processes, process)
        self.state = msgspec.structs.replace(self.state, processes=processes)
        labstate.write(self.folder, self.state)
        return child

    def down(self) -> Removed:
        """Stop our children (and reap them), then everything the record lists; forget it."""
        if not self._made:
            return Removed()
        ours = {child.pid for child in self._children}
        stuck = reaper.stop_children(self._children)
        others = [p for p in self.state.processes if p.pid not in ours]
        removed = _remove(self.state.namespaces, others)
        labstate.forget(self.folder, self.plan.lab_id)
        self._made = False
        mine = Removed(processes=tuple(p for p in ours if p not in stuck), stuck=tuple(stuck))
        return _merge([mine, removed])


def down_recorded(folder: Path, lab_id: str | None = None) -> tuple[Removed, list[str]]:
    """Tear down every recorded lab (or the one named), then any `nvlab-` namespace left.

    Returns what was removed and one line per state file that could not be read (its lab is
    still removed by name: the sweep finds its namespaces)."""
    removed: list[Removed] = []
    problems: list[str] = []
    paths = labstate.recorded(folder)
    if lab_id is not None:
        paths = [p for p in paths if p.name == labstate.state_path(folder, lab_id).name]
    for path in paths:
        try:
            state = labstate.read(path)
        except labstate.LabStateError as exc:
            problems.append(str(exc))
            path.unlink(missing_ok=True)
            continue
        removed.append(_remove(state.namespaces, state.processes))
        labstate.forget(folder, state.lab_id)
    # The last resort: a lab whose record is lost (another data folder, a deleted file).
    left = [name for name in namespaces() if is_lab_namespace(name, lab_id)]
    removed.append(_remove(left, ()))
    return _merge(removed), problems


@contextmanager
def lab_running(plan: Plan, folder: Path) -> Iterator[Lab]:
    """A lab that is up inside the block and torn down after it, however it ends.

    SIGTERM and SIGINT become exceptions while the block runs (SIGTERM's default action would
    end the process without running `finally`), and are ignored during teardown so a second
    Ctrl-C cannot interrupt it half-way; the previous handlers are restored afterwards.
    """
    lab = Lab(plan, folder)
    previous = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT)}

    def interrupted(signum: int, _frame: FrameType | None) -> None:
        raise KeyboardInterrupt if signum == signal.SIGINT else SystemExit(128 + signum)

    installed = _install(previous, interrupted)
    try:
        lab.up()
        yield lab
    finally:
        if installed:
            _install(previous, signal.SIG_IGN)
        try:
            lab.down()
        finally:
            if installed:
                for signum, handler in previous.items():
                    # None: a handler set outside Python; the default is the nearest we can.
                    signal.signal(signum, signal.SIG_DFL if handler is None else handler)


def _install(signals: dict[signal.Signals, Any], handler: Any) -> bool:
    """Set `handler` for each signal; False (nothing done) outside the main thread, where
    Python allows no handler to be set (signal(2) handlers run there only)."""
    try:
        for signum in signals:
            signal.signal(signum, handler)
    except ValueError:
        return False
    return True
