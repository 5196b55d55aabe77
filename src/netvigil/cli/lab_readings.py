"""What a shutdown run reads of the lab: files the lab's entry points write.

The root namespace, where `netvigil lab run` runs, has no route into the lab (by design), so
cli/lab_shutdown.py watches the run through files: the webhooks the observatory's
subscriber kept (cli/lab_observatory.py, JSON lines), the observatory's heartbeat database,
and each daemon's local checks and their upload ledger (probe/localcheck.py). A line still
being written is skipped and read on the next look.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import math
from pathlib import Path
from typing import Any, Final

import msgspec

from netvigil.datadir import DataDir
from netvigil.lab.lab_geoip import LAB_ASN
from netvigil.observatory.heartbeat_store import HeartbeatStore
from netvigil.probe.localcheck import Record

__all__ = ["alert_kind", "checks", "heard", "hooks", "incidents", "sent_everything"]

INCIDENT_KINDS: Final = {"full_shutdown": "shutdown", "regional_shutdown": "shutdown"}


def hooks(path: Path) -> list[dict[str, Any]]:
    """The webhook payloads the observatory's subscriber kept, in the order received."""
    if not path.exists():
        return []
    found = []
    for line in path.read_bytes().splitlines():
        with contextlib.suppress(ValueError):  # a line being written: read it next time
            found.append(json.loads(line)["payload"])
    return found


def checks(folder: DataDir) -> list[Record]:
    """A daemon's local checks (a line cut by a crash is skipped)."""
    if not folder.local_checks.exists():
        return []
    found = []
    for line in folder.local_checks.read_bytes().splitlines():
        with contextlib.suppress(msgspec.DecodeError):
            found.append(msgspec.json.decode(line, type=Record))
    return found


def sent_everything(folder: DataDir) -> bool:
    """Whether the observatory acknowledged every local check the daemon recorded."""
    if not folder.local_checks.exists():
        return True
    ledger = folder.local_checks_uploaded
    text = ledger.read_text().strip() if ledger.exists() else ""
    done = int(text) if text.isdecimal() else 0
    return done >= len(folder.local_checks.read_bytes().splitlines())


def heard(store: HeartbeatStore, since: dt.datetime) -> list[float]:
    entity = f"asn:{LAB_ASN}"
    found = [s for s in store.series(since, store.now()) if s.entity == entity]
    return [float(v) for v in found[0].values if not math.isnan(v)] if found else []


def incidents(payloads: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The latest webhook of each incident, in the order the incidents were opened."""
    latest: dict[str, dict[str, Any]] = {}
    for payload in payloads:
        latest[str(payload["data"]["id"])] = payload
    return list(latest.values())


def alert_kind(payload: dict[str, Any]) -> str:
    """The event's kind an incident says: an incident names a shutdown by its scope."""
    kind = str(payload["data"]["kind"])
    return INCIDENT_KINDS.get(kind, kind)
