"""Local checks: the default gateway from the route table, what is sent, and when."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path

from netvigil.net.backend import AsyncioBackend
from netvigil.probe import localcheck as lc
from tests.forwarding import answering
from tests.probe.world import free_port

# /proc/net/route as Linux writes it: a host route first, then the default route via
# 192.168.1.254 (FE01A8C0, little-endian) with flags UG (0x3).
ROUTES = """\
Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT
eth0\t0001A8C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0
eth0\t00000000\tFE01A8C0\t0003\t0\t0\t100\t00000000\t0\t0\t0
"""
T0 = dt.datetime(2026, 1, 8, 16, 0, tzinfo=dt.UTC)


def test_the_default_gateway_is_read_from_the_route_table() -> None:
    assert lc.default_gateway(ROUTES) == "192.168.1.254"
    assert lc.default_gateway(ROUTES.splitlines()[0] + "\n") is None  # no default route
    assert lc.default_gateway("garbage\nx 00000000 zz 0003\n") is None


def record(seconds: int, up: bool = True, down: bool = True) -> lc.Record:
    return lc.Record(time=T0 + dt.timedelta(seconds=seconds), gateway_up=up, upstream_down=down)


def test_one_item_per_minute_as_the_server_counts_probes() -> None:
    records = [
        record(0, up=False),
        record(30),
        record(61, up=False, down=False),
        record(90, up=False),
    ]
    assert lc.per_minute(records) == [
        {"time": "2026-01-08T16:00:00Z", "gateway_up": True, "upstream_down": True},
        {"time": "2026-01-08T16:01:00Z", "gateway_up": False, "upstream_down": False},
    ]


def test_only_whole_minutes_are_pending_and_each_once(tmp_path: Path) -> None:
    path, ledger = tmp_path / "checks.jsonl", tmp_path / "sent"
    for seconds in (0, 30, 60, 125, 130):
        lc.append(path, record(seconds))
    path.write_bytes(path.read_bytes().replace(b"\n", b"\n{cut\n", 1))  # a crash's half line
    now = T0 + dt.timedelta(minutes=2, seconds=40)  # minute 2 is not over
    ready, upto, waits = lc.pending(path, ledger, now, minutes=1)
    assert ([r.time for r in ready], upto, waits) == ([T0, T0 + dt.timedelta(seconds=30)], 3, False)
    lc.mark_sent(ledger, upto)
    ready, upto, waits = lc.pending(path, ledger, now)
    assert ([r.time for r in ready], upto, waits) == ([T0 + dt.timedelta(minutes=1)], 4, True)
    lc.mark_sent(ledger, upto)
    assert lc.pending(path, ledger, now) == ([], 4, True)
    assert lc.pending(path, ledger, now + dt.timedelta(minutes=1))[1] == 6


def test_a_refusing_gateway_is_up_a_refusing_destination_is_not() -> None:
    async def look() -> tuple[tuple[bool, bool], tuple[bool, bool], tuple[bool, bool]]:
        closed = free_port()  # nothing listens: the kernel refuses
        listener = await answering(free_port())
        open_port = listener.sockets[0].getsockname()[1]
        backend = AsyncioBackend()
        try:
            return (
                await lc.look(
                    backend, gateway=("127.0.0.1", closed), resolver=None, destinations=[]
                ),
                await lc.look(
                    backend,
                    gateway=None,
                    resolver=None,
                    destinations=[("127.0.0.1", closed), ("127.0.0.1", open_port)],
                ),
                await lc.look(
                    backend, gateway=None, resolver=None, destinations=[("127.0.0.1", closed)]
                ),
            )
        finally:
            listener.close()

    refused_gateway, one_reached, none_reached = asyncio.run(look())
    assert refused_gateway == (True, True)
    assert one_reached == (False, False)
    assert none_reached == (False, True)
