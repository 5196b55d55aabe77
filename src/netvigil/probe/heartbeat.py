"""The heartbeat a probe daemon sends, its daily pseudonym, and the daemon's schedule.

A heartbeat says "a probe of this country and network is alive and reaches its server"
(reference/shutdowns.md §6: vantage-point heartbeats are what makes alerts fast). It carries
no address and nothing that is the same two days running: the pseudonym is
HMAC-SHA256(secret, UTC day), the secret 32 random bytes made once per install and kept in
the data folder (mode 0600). The server can tell two probes apart within one day, to count
each once, but cannot link one probe's days, nor derive the pseudonym from the address.

The schedule is pure: given the time and what happened, it says what is due next
(`due`), and each outcome gives the next plan. The daemon (daemon.py) only performs it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import hmac
import os
import secrets
from pathlib import Path
from typing import Annotated, Literal

import msgspec

from netvigil.datadir import DataDirError

SECRET_BYTES = 32
PSEUDONYM_HEX = 32  # 128 bits of the HMAC: no collision among any number of probes
PSEUDONYM = f"^[0-9a-f]{{{PSEUDONYM_HEX}}}$"


class Heartbeat(msgspec.Struct, frozen=True, kw_only=True):
    probe_cc: str  # ISO 3166-1 alpha-2
    probe_asn: str  # AS1234, as OONI writes a network
    pseudonym: Annotated[str, msgspec.Meta(pattern=PSEUDONYM)]
    sent_at: Annotated[dt.datetime, msgspec.Meta(tz=True)]  # the probe's clock, for skew


def load_secret(path: Path) -> bytes:
    """The install's secret, created on first use (exclusively, mode 0600); raises
    DataDirError (one line) when it cannot be read or written, or is not ours."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _read_secret(path)
    except OSError as exc:
        raise DataDirError(f"cannot write {path}: {exc.strerror or exc}") from None
    secret = secrets.token_bytes(SECRET_BYTES)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(secret)
            f.flush()
            os.fsync(f.fileno())
    except OSError as exc:
        with contextlib.suppress(OSError):
            path.unlink()
        raise DataDirError(f"cannot write {path}: {exc.strerror or exc}") from None
    return secret


def _read_secret(path: Path) -> bytes:
    try:
        secret = path.read_bytes()
    except OSError as exc:
        raise DataDirError(f"cannot read {path}: {exc.strerror or exc}") from None
    if len(secret) != SECRET_BYTES:
        raise DataDirError(f"{path} is not a pseudonym secret: remove it to make a new one")
    return secret


def pseudonym(secret: bytes, now: dt.datetime) -> str:
    """This install's name for the UTC day of `now`: a new one at each UTC midnight."""
    day = now.astimezone(dt.UTC).date().isoformat()
    digest = hmac.new(secret, f"netvigil-heartbeat|{day}".encode(), hashlib.sha256)
    return digest.hexdigest()[:PSEUDONYM_HEX]


def heartbeat(secret: bytes, probe_cc: str, probe_asn: str, now: dt.datetime) -> Heartbeat:
    return Heartbeat(
        probe_cc=probe_cc,
        probe_asn=probe_asn,
        pseudonym=pseudonym(secret, now),
        sent_at=now.astimezone(dt.UTC),
    )


Action = Literal["heartbeat", "local_check", "measure", "upload"]


class Plan(msgspec.Struct, frozen=True, kw_only=True):
    """What the daemon knows and intends; times are Unix seconds."""

    interval: float  # between heartbeats (and local checks while cut off)
    cadence: float  # between measurement runs
    heartbeat_at: float
    measure_at: float
    upload_at: float = 0.0  # when the local checks of an unfinished minute may go
    reachable: bool | None = None  # None until the first heartbeat is answered or not
    check_due: bool = False  # a heartbeat went unanswered: look at the local network
    backlog: bool = True  # something may wait for upload (at start: what a run left)
    minute_waits: bool = False  # local checks of the minute of the last upload wait for it
    measuring: bool = False
    uploading: bool = False


def start(now: float, *, interval: float, cadence: float) -> Plan:
    """A heartbeat and a measurement run at once, then on their own grids."""
    return Plan(interval=interval, cadence=cadence, heartbeat_at=now, measure_at=now)


def due(plan: Plan, now: float) -> list[Action]:
    """What to do now, in this order."""
    actions: list[Action] = []
    if now >= plan.heartbeat_at:
        actions.append("heartbeat")
    if plan.check_due:
        actions.append("local_check")
    if now >= plan.measure_at and not plan.measuring:
        actions.append("measure")
    if plan.reachable and not plan.uploading and _backlog(plan, now):
        actions.append("upload")
    return actions


def _backlog(plan: Plan, now: float) -> bool:
    return plan.backlog or (plan.minute_waits and now >= plan.upload_at)


def wait(plan: Plan, now: float) -> float:
    """Seconds until something may be due (0: at once)."""
    if due(plan, now):
        return 0.0
    times = [plan.heartbeat_at]
    if not plan.measuring:
        times.append(plan.measure_at)
    if plan.reachable and not plan.uploading and plan.minute_waits:
        times.append(plan.upload_at)
    return max(0.0, min(times) - now)


def _next(at: float, every: float, now: float) -> float:
    """The next point of the grid `at + k * every` after `now`: a late daemon (a suspended
    laptop) skips what it missed instead of firing it all at once."""
    if now < at:
        return at
    return at + every * (int((now - at) // every) + 1)


def heard(plan: Plan, now: float, *, reached: bool) -> Plan:
    """A heartbeat was sent at `now`: answered (`reached`), or not (a local check is due)."""
    came_back = reached and plan.reachable is False
    return msgspec.structs.replace(
        plan,
        heartbeat_at=_next(plan.heartbeat_at, plan.interval, now),
        reachable=reached,
        check_due=not reached,
        backlog=plan.backlog or came_back,
    )


def checked(plan: Plan) -> Plan:
    """A local check was recorded: it waits for upload."""
    return msgspec.structs.replace(plan, check_due=False, backlog=True)


def measuring(plan: Plan, now: float) -> Plan:
    return msgspec.structs.replace(
        plan, measuring=True, measure_at=_next(plan.measure_at, plan.cadence, now)
    )


def measured(plan: Plan) -> Plan:
    return msgspec.structs.replace(plan, measuring=False, backlog=True)


def uploading(plan: Plan) -> Plan:
    """An upload takes everything that waits now; what comes meanwhile waits for the next."""
    return msgspec.structs.replace(plan, uploading=True, backlog=False, minute_waits=False)


def uploaded(plan: Plan, now: float, *, complete: bool, left: bool) -> Plan:
    """An upload ended. Not `complete`: the server stopped answering, so wait for the next
    heartbeat it answers. `left`: local checks of the current minute wait for its end
    (what comes meanwhile, a run's measurements, goes at once)."""
    if not complete:
        return msgspec.structs.replace(plan, uploading=False, reachable=False, backlog=True)
    return msgspec.structs.replace(
        plan,
        uploading=False,
        minute_waits=left,
        upload_at=_next(0.0, 60.0, now) if left else 0.0,
    )
