"""Local checks: what a probe cut off from its server sees of its own network.

While heartbeats go unanswered the daemon looks, once per heartbeat interval, at its first
hop (the gateway, `--gateway` or the default route's), its resolver when it has one, and a
few destinations beyond (its server, its test helper). The record is the evidence that tells
a network cut from a power cut (detect/model.py `LocalCheck`): the probe had power, saw its
gateway answer, and reached nothing beyond it. It keeps the time and two booleans, never an
address, neither ours nor the gateway's.

A gateway "answers" when a TCP connection to it is accepted or refused: either way the
packet went and came back over the first hop (a refusal is a RST from the host itself). A
destination counts as reached only when the connection is accepted.

The records are JSON lines in the data folder; `uploaded` counts the lines the server has
acknowledged, so a record is sent once. Only whole minutes are sent: the server counts each
probe once per minute (`per_minute`), and a minute sent in two halves would count twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import os
import socket
import tempfile
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import urlsplit

import dns.message
import msgspec

from netvigil.net.backend import Backend

DEADLINE = 5.0  # seconds per look: a first hop answers in milliseconds, or not at all
GATEWAY_PORT = 53  # home routers run a DNS forwarder; any answer, even a refusal, counts


class Record(msgspec.Struct, frozen=True, kw_only=True):
    time: dt.datetime
    gateway_up: bool
    upstream_down: bool


def default_gateway(route_table: str) -> str | None:
    """The IPv4 gateway of the default route in /proc/net/route's text, if there is one.

    Columns: Iface Destination Gateway Flags ...; addresses are little-endian hex, the
    default route's destination is 00000000 and its flags have RTF_GATEWAY (0x2)."""
    for line in route_table.splitlines()[1:]:
        fields = line.split()
        if len(fields) < 4 or fields[1] != "00000000":
            continue
        try:
            gateway, flags = bytes.fromhex(fields[2])[::-1], int(fields[3], 16)
        except ValueError:
            continue
        if flags & 0x2 and len(gateway) == 4:
            return socket.inet_ntoa(gateway)
    return None


def endpoint(url: str) -> tuple[str, int]:
    """The (host, port) a destination's URL names: where a look connects."""
    parts = urlsplit(url)
    return parts.hostname or "", parts.port or (443 if parts.scheme == "https" else 80)


async def _answers(backend: Backend, host: str, port: int, *, refusal_counts: bool) -> bool:
    try:
        async with asyncio.timeout(DEADLINE):
            addresses = await backend.resolve(host)
            _, writer = await backend.connect(addresses[0], port)
    except ConnectionRefusedError:
        return refusal_counts
    except (OSError, TimeoutError, IndexError):
        return False
    writer.close()
    return True


async def _resolver_answers(backend: Backend, resolver: tuple[str, int]) -> bool:
    query = dns.message.make_query(".", "NS").to_wire()
    try:
        replies = await backend.exchange_udp(resolver, query, DEADLINE, 0.0)
    except OSError:
        return False
    return bool(replies)


async def look(
    backend: Backend,
    *,
    gateway: tuple[str, int] | None,
    resolver: tuple[str, int] | None,
    destinations: Sequence[tuple[str, int]],
) -> tuple[bool, bool]:
    """(gateway_up, upstream_down): the gateway or the resolver answered; no destination
    was reached. All looks run at once, each under its deadline."""
    async with asyncio.TaskGroup() as group:
        first = (
            group.create_task(_answers(backend, *gateway, refusal_counts=True))
            if gateway is not None
            else None
        )
        dns_up = group.create_task(_resolver_answers(backend, resolver)) if resolver else None
        beyond = [
            group.create_task(_answers(backend, h, p, refusal_counts=False))
            for h, p in destinations
        ]
    gateway_up = any(task.result() for task in (first, dns_up) if task is not None)
    return gateway_up, not any(task.result() for task in beyond)


def append(path: Path, record: Record) -> None:
    with open(path, "ab") as f:
        f.write(msgspec.json.encode(record) + b"\n")
        f.flush()
        os.fsync(f.fileno())


def _sent(ledger: Path) -> int:
    try:
        text = ledger.read_text().strip()
    except FileNotFoundError:
        return 0
    return int(text) if text.isdecimal() else 0  # a damaged ledger: send again, never lose


def pending(
    path: Path, ledger: Path, now: dt.datetime, *, minutes: int = 1000
) -> tuple[list[Record], int, bool]:
    """(records of at most `minutes` whole minutes not sent yet, the ledger's count once
    they are, whether records of the current minute wait). A line cut by a crash is
    skipped; call again with the new count for the next minutes."""
    if not path.exists():
        return [], 0, False
    lines = path.read_bytes().splitlines()
    sent = min(_sent(ledger), len(lines))
    current = _minute(now)
    ready: list[Record] = []
    seen: set[dt.datetime] = set()
    upto = sent
    for index in range(sent, len(lines)):
        try:
            record = msgspec.json.decode(lines[index], type=Record)
        except msgspec.DecodeError:
            upto = index + 1
            continue
        minute = _minute(record.time)
        if minute >= current:
            return ready, upto, True
        if minute not in seen and len(seen) == minutes:
            break
        seen.add(minute)
        ready.append(record)
        upto = index + 1
    return ready, upto, False


def _minute(moment: dt.datetime) -> dt.datetime:
    return moment.astimezone(dt.UTC).replace(second=0, microsecond=0)


def mark_sent(ledger: Path, count: int) -> None:
    """Atomically: a crash leaves the old count (the minute is sent again) or the new."""
    fd, tmp = tempfile.mkstemp(dir=ledger.parent, prefix=".local-checks-", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(f"{count}\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, ledger)
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def per_minute(records: Sequence[Record]) -> list[dict[str, object]]:
    """One item per minute, as the server counts probes: the gateway was up if it answered
    once in that minute; upstream was down if no look in that minute reached beyond it."""
    minutes: dict[dt.datetime, tuple[bool, bool]] = {}
    for r in records:
        key = _minute(r.time)
        up, down = minutes.get(key, (False, True))
        minutes[key] = (up or r.gateway_up, down and r.upstream_down)
    return [
        {"time": k.strftime("%Y-%m-%dT%H:%M:%SZ"), "gateway_up": up, "upstream_down": down}
        for k, (up, down) in sorted(minutes.items())
    ]
