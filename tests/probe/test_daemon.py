"""The daemon's loop against a real observatory on loopback, in simulated time.

The daemon's clock and sleep are the test's: `Simulated.sleep` first lets every task the
daemon started finish (its run, its upload, over real loopback sockets), then moves the
clock on. So half an hour of schedule runs in moments, and what happens at each instant is
known: the test counts heartbeats, local checks, runs and uploads, never durations. The
server's path runs through a forwarder the test cuts at minute 10 and resumes at minute 20.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from netvigil.addresses import Bogons
from netvigil.datadir import DataDir
from netvigil.detect.model import LocalCheck
from netvigil.lab.dnsserver import Answer, DNSServer, serve_dns
from netvigil.lab.webserver import Behaviour, serve_web
from netvigil.net.backend import StubResolverBackend
from netvigil.observatory.app import Observatory
from netvigil.probe.daemon import Daemon, DaemonConfig, Tally
from netvigil.probe.heartbeat import load_secret
from netvigil.probe.report import Location
from netvigil.probe.runner import RunConfig
from netvigil.probe.webconnectivity import Settings
from netvigil.probe.whoami import WHOAMI
from netvigil.scrub import Scrubber
from tests.forwarding import Forwarder, answering
from tests.observatory.apps import bare
from tests.probe.world import free_port
from tests.served import Background, served

PROBE_IP = "203.0.113.9"  # the probe's public address: scrubbed, never written
RESOLVER = "198.51.100.53"  # what the probe's resolver's whoami answer says
# A day ago, on a minute: the server takes local checks of the last 35 days, on its clock.
T0 = float(int(time.time()) // 60 * 60 - 86400)


@dataclass
class Simulated:
    now: float
    at: dict[float, Callable[[], None]] = field(default_factory=dict)  # what happens when

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        me = asyncio.current_task()
        while others := [t for t in asyncio.all_tasks() if t is not me and not t.done()]:
            await asyncio.wait(others)
        before, self.now = self.now, self.now + seconds
        for moment in sorted(t for t in self.at if before < t <= self.now):
            self.at.pop(moment)()


@dataclass
class Lab:
    loop: Background
    server: Observatory
    forwarder: Forwarder
    site: int
    gateway: int
    resolver: DNSServer  # the probe's system resolver (its whoami stays on loopback)


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[Lab]:
    server = Observatory(DataDir(root=tmp_path / "server"))
    port = free_port()
    with served(bare(server.routes(), server.archive), port) as loop:
        forwarder = Forwarder(free_port(), ("127.0.0.1", port))
        loop.run(forwarder.open())
        site = loop.run(serve_web(lambda host, path, client: Behaviour()))
        gateway = free_port()
        loop.run(answering(gateway))
        resolver = loop.run(serve_dns({WHOAMI: Answer(addresses=(RESOLVER,))}))
        yield Lab(loop, server, forwarder, site.port, gateway, resolver)
        assert resolver.transport is not None
        loop.loop.call_soon_threadsafe(resolver.transport.close)
    server.heartbeats.close()


def run_daemon(lab: Lab, folder: DataDir, time_: Simulated, runtime: float) -> Tally:
    server = f"http://127.0.0.1:{lab.forwarder.port}"
    settings = Settings(test_helpers=(f"{server}/th/",))
    config = DaemonConfig(
        server=server,
        urls=(f"http://127.0.0.1:{lab.site}/",),
        run=RunConfig(settings=settings, location=Location(probe_cc="IT", probe_asn="AS137")),
        interval=60.0,
        cadence=600.0,
        gateway=("127.0.0.1", lab.gateway),
        max_runtime=runtime,
        bogon=Bogons.with_lab(["198.51.100.0/24"]),  # TEST-NET-2 plays the public Internet
    )
    daemon = Daemon(
        config,
        StubResolverBackend(("127.0.0.1", lab.resolver.port)),
        folder,
        load_secret(folder.pseudonym_secret),
        Scrubber([PROBE_IP]),
        clock=time_.clock,
        sleep=time_.sleep,
    )
    return asyncio.run(daemon.run())


def minute(offset: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(T0 + offset, dt.UTC)


def test_cut_off_it_checks_locally_and_uploads_the_backlog_with_its_times(
    lab: Lab, tmp_path: Path
) -> None:
    folder = DataDir(root=tmp_path / "probe")
    folder.root.mkdir()
    time_ = Simulated(T0)
    time_.at[T0 + 599] = lambda: lab.loop.run(lab.forwarder.cut())
    time_.at[T0 + 1199] = lambda: lab.loop.run(lab.forwarder.open())
    tally = run_daemon(lab, folder, time_, runtime=1800.0)
    # Heartbeats at minutes 0..29; 10..19 unanswered, each followed by a local check. Runs at
    # minutes 0, 10 and 20, one URL each; everything uploaded once the server is back.
    assert tally == Tally(
        heartbeats=30,
        answered=20,
        local_checks=10,
        runs=3,
        measured=3,
        uploaded=3,
        local_uploaded=10,
    )
    stored = [json.loads(bytes(s.measurement)) for s in lab.server.archive.all()]
    # One whoami lookup per run (its A and AAAA questions), its answer in every measurement.
    assert lab.resolver.queries.count(WHOAMI) == 2 * 3
    assert {(m["resolver_ip"], m["test_keys"]["client_resolver"]) for m in stored} == {
        (RESOLVER, RESOLVER)
    }
    assert sorted(m["measurement_start_time"] for m in stored) == [
        minute(offset).strftime("%Y-%m-%d %H:%M:%S") for offset in (0, 600, 1200)
    ]
    checks = lab.server.heartbeats.local_checks(minute(0), minute(1800))
    assert checks == [
        LocalCheck(
            time=minute(60 * m), country="IT", asn=137, measuring=1, gateway_up=1, upstream_down=1
        )
        for m in range(10, 20)
    ]
    for path in folder.root.rglob("*"):
        if path.is_file():  # neither the probe's address nor the gateway's
            assert PROBE_IP.encode() not in path.read_bytes(), path
    assert b"127.0.0.1" not in folder.local_checks.read_bytes()


def test_a_second_run_uploads_nothing_twice(lab: Lab, tmp_path: Path) -> None:
    folder = DataDir(root=tmp_path / "probe")
    folder.root.mkdir()
    first = run_daemon(lab, folder, Simulated(T0), runtime=120.0)
    assert (first.runs, first.uploaded, first.heartbeats) == (1, 1, 2)
    again = run_daemon(lab, folder, Simulated(T0 + 120), runtime=60.0)
    assert (again.runs, again.uploaded) == (1, 1)  # only its own run's measurement
    assert len(list(lab.server.archive.all())) == 2
