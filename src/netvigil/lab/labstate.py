"""What a lab made, on disk before it is made: the state file teardown reads.

A lab changes the machine (network namespaces, processes inside them) and those changes outlive
the process that made them if it dies: SIGKILL runs no `finally`. So lab/netns.py writes each
name here *before* creating it (a write-ahead record) and each process's PID as soon as it is
started; `netvigil lab down`, run later by anyone, reads the file and removes what it lists.
A name in the file that was never created costs one "not found" on teardown; a thing created
but not in the file is what we cannot allow, hence the order.

One file per lab, `<data folder>/lab/<id>.json`, replaced atomically (write, fsync, rename)
so that a kill mid-write leaves the old record or the new one, never half of one.
"""

from __future__ import annotations

import os
from pathlib import Path

import msgspec

from netvigil.lab.topology import TopologyError, check_id, is_lab_namespace


class LabStateError(ValueError):
    """A state file we cannot read; the message is one line naming it."""


class Process(msgspec.Struct, frozen=True, kw_only=True):
    """A process the lab started in one of its namespaces.

    `start_ticks` is the kernel's start time of the PID (proc(5), /proc/PID/stat field 22):
    after a crash the PID may have been reused by an unrelated process, and teardown must kill
    only the one we started, so it compares both before signalling.
    """

    pid: int
    start_ticks: int
    namespace: str
    argv: tuple[str, ...]


class LabState(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One lab's namespaces, the veths inside them and the processes it started."""

    lab_id: str
    namespaces: tuple[str, ...]
    veths: tuple[str, ...]
    processes: tuple[Process, ...] = ()


_ENCODER = msgspec.json.Encoder()
_DECODER = msgspec.json.Decoder(LabState)


def state_path(folder: Path, lab_id: str) -> Path:
    return folder / f"{check_id(lab_id)}.json"


def write(folder: Path, state: LabState) -> Path:
    """Record `state` (the folder is made owner-only: it names what this machine runs)."""
    path = state_path(folder, state.lab_id)
    temporary = path.with_suffix(".json.tmp")
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        with temporary.open("wb") as out:
            out.write(_ENCODER.encode(state))
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    except OSError as exc:
        raise LabStateError(f"cannot record the lab in {path}: {exc.strerror or exc}") from None
    return path


def read(path: Path) -> LabState:
    """The state in `path`, or a one-line error (a corrupt file is reported, not trusted)."""
    try:
        state = _DECODER.decode(path.read_bytes())
        check_id(state.lab_id)
    except OSError as exc:
        raise LabStateError(f"cannot read lab state {path}: {exc.strerror or exc}") from None
    except (msgspec.DecodeError, msgspec.ValidationError, TopologyError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise LabStateError(f"lab state {path} is not a lab's record: {first}") from None
    if path.name != f"{state.lab_id}.json":
        raise LabStateError(f"lab state {path} names another lab ({state.lab_id!r})")
    # Teardown deletes what the record names: a record naming any other namespace (the
    # host's, another program's) is refused, never acted on.
    named = [*state.namespaces, *(p.namespace for p in state.processes)]
    foreign = [name for name in named if not is_lab_namespace(name, state.lab_id)]
    if foreign:
        raise LabStateError(f"lab state {path} names a namespace not of its lab: {foreign[0]!r}")
    return state


def recorded(folder: Path) -> list[Path]:
    """Every lab state file in the folder, sorted (none when the folder does not exist)."""
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.glob("*.json") if p.is_file())


def forget(folder: Path, lab_id: str) -> None:
    """Remove the lab's record (after its teardown); absent is fine."""
    path = state_path(folder, lab_id)
    path.unlink(missing_ok=True)
    path.with_suffix(".json.tmp").unlink(missing_ok=True)
