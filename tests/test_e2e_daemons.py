"""End to end on loopback: three `netvigil probe daemon` processes, the whole server app.

The server is `netvigil.server.create_app` served by `netvigil.serving` as `netvigil serve`
runs it (collector, heartbeats, its test helper, the pipeline), in a thread of the test.
Each probe reaches it through its own TCP forwarder, owned by the test: two probes are in
AS137 (IT), one in AS28573 (BR) (their addresses are documentation prefixes, placed by a
tiny GeoIP database, and scrubbed). The test cuts the two AS137 forwarders, sees the
network's heartbeats drop to none while the BR probe goes on, and the cut probes record
local checks. The server's detection (every second) finds the network's outage, and its
alert rule opens a suspected incident whose signed `incident.created` reaches a webhook
receiver on loopback; the event was detected within ALERT_WITHIN (server time) of the cut.
The test resumes the probes, and the backlog arrives: measurements with their own
`measurement_start_time`, local checks with their own minutes; the event closes, which
updates the same incident. (Here the probes' clock is not the server's sped-up one, so the
cut's local checks fall outside the event in server time: turning an outage into a
shutdown by them is tested in tests/detect/test_engine.py and by the replay.)

Heartbeats are counted per server minute; so that a run takes seconds, not hours, the
server's clock runs 30 times faster than the probes' (its `now`, as every app test sets
it): a probe heartbeating every second is heard twice per server minute. Every wait below
polls for an event, bounded by GIVE_UP, which only ends a hung run.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import msgspec

from netvigil.datadir import DataDir
from netvigil.incidents import accounts, webhooks
from netvigil.incidents.alerts import load_rules
from netvigil.incidents.db import open_database
from netvigil.lab.dnsserver import serve_dns
from netvigil.lab.webserver import Behaviour, serve_web
from netvigil.observatory.archive import read_since
from netvigil.observatory.heartbeat_store import HeartbeatStore
from netvigil.probe.localcheck import Record
from netvigil.readers import Item, read_path
from netvigil.server import create_app
from tests.forwarding import Forwarder, answering
from tests.geo import tiny_database
from tests.incidents.test_webhooks import Receiver
from tests.probe.world import free_port
from tests.served import served

GIVE_UP = 180.0
ALERT_WITHIN = dt.timedelta(minutes=5)  # reference/shutdowns.md §7: median ≤ 5 min
HISTORY = dt.timedelta(minutes=35)  # heartbeats heard before the cut: a baseline (30 of 60)
RULES = 'org = "Watch"\n[[rule]]\nname = "cuts"\nentity = "asn:*"\nkinds = ["outage", "shutdown"]\n'
SPEED = 30.0  # server seconds per probe second
PROBES = {"a": "203.0.113.1", "b": "203.0.113.2", "c": "2001:db8::3"}  # a, b: AS137; c: BR
CUT = ("a", "b")


class FastClock:
    def __init__(self) -> None:
        self.start = time.time()

    def __call__(self) -> dt.datetime:
        return dt.datetime.fromtimestamp(self.start + (time.time() - self.start) * SPEED, dt.UTC)


def until(what: str, condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + GIVE_UP
    while not condition():
        assert time.monotonic() < deadline, f"hung waiting for {what}"
        time.sleep(0.2)


def minutes_of(store: HeartbeatStore, entity: str, since: dt.datetime) -> list[float]:
    found = [s for s in store.series(since, store.now()) if s.entity == entity]
    return [float(v) for v in found[0].values if not math.isnan(v)] if found else []


def measurements(folder: DataDir) -> list[dict[str, object]]:
    found = []
    for path in sorted(folder.results.glob("*.jsonl")):
        found += [json.loads(i.raw) for i in read_path(path) if isinstance(i, Item)]
    return found


def checks(folder: DataDir) -> list[Record]:
    if not folder.local_checks.exists():
        return []
    lines = folder.local_checks.read_bytes().splitlines()
    return [msgspec.json.decode(line, type=Record) for line in lines]


def sent_everything(folder: DataDir) -> bool:
    ledger = folder.local_checks_uploaded
    done = int(ledger.read_text()) if ledger.exists() else 0
    return done == len(checks(folder)) > 0


def test_three_daemons_a_network_cut_and_the_backlog(tmp_path: Path) -> None:
    database = tiny_database(tmp_path / "geo.mmdb")
    clock = FastClock()
    data = tmp_path / "server"
    receiver = Receiver()
    (tmp_path / "alerts.toml").write_text(RULES)
    data.mkdir()
    engine = open_database(f"sqlite:///{DataDir(root=data).incidents_database}")
    org = accounts.create_org(engine, "Watch", actor="operator", now=clock())
    member = accounts.create_member(
        engine, org, "watcher", "member", password=None, actor="operator", now=clock()
    )
    _, receiver.secret = webhooks.subscribe(engine, member, receiver.url, actor="o", now=clock())
    engine.dispose()
    app = create_app(
        data,
        now=clock,
        allow_private_targets=True,
        geoip=database,
        alert_rules=load_rules(tmp_path / "alerts.toml"),
        detection_interval=1.0,
    )
    port = free_port()
    folders = {name: DataDir(root=tmp_path / name) for name in PROBES}
    logs = {name: tmp_path / f"{name}.log" for name in PROBES}
    with served(app, port) as loop:
        forwarders = {name: Forwarder(free_port(), ("127.0.0.1", port)) for name in PROBES}
        for forwarder in forwarders.values():
            loop.run(forwarder.open())
        site = loop.run(serve_web(lambda host, path, client: Behaviour()))
        gateway = free_port()
        loop.run(answering(gateway))
        resolver = loop.run(serve_dns({}))  # each run's whoami stays on loopback (NXDOMAIN)
        store = HeartbeatStore(DataDir(root=data).heartbeats, now=clock)
        started = clock()
        given = (site.port, gateway, database, resolver.port)
        with daemons(forwarders, folders, logs, *given) as processes:
            # Heard: two probes in AS137, one in AS28573, in full minutes of the server.
            until("both networks heard", lambda: 2.0 in minutes_of(store, "asn:137", started))
            until("BR heard", lambda: 1.0 in minutes_of(store, "asn:28573", started))
            until("a baseline's worth of history", lambda: clock() > started + HISTORY)
            assert receiver.processed == {}  # no alert before the cut
            for name in CUT:
                loop.run(forwarders[name].cut())
            cut_server, cut_probe = clock(), time.time()

            def cut_measured() -> bool:
                return all(
                    len([r for r in checks(folders[n]) if r.time.timestamp() > cut_probe]) >= 3
                    and any(_start(m) > cut_probe + 1 for m in measurements(folders[n]))
                    for n in CUT
                )

            until("local checks and measurements while cut", cut_measured)
            until(
                "three whole server minutes of the cut",
                lambda: clock() > cut_server + dt.timedelta(minutes=5),
            )
            during = cut_server + dt.timedelta(minutes=1)  # a minute begun after the cut
            cut_137 = minutes_of(store, "asn:137", during)
            cut_br = minutes_of(store, "asn:28573", during)
            assert len(cut_137) >= 3 and set(cut_137) == {0.0}  # the network went silent
            assert max(cut_br) == 1.0  # the other one did not
            for name in CUT:
                local = [r for r in checks(folders[name]) if r.time.timestamp() > cut_probe + 1]
                assert local and all(r.gateway_up and r.upstream_down for r in local)
                for line in folders[name].local_checks.read_bytes().splitlines():
                    assert set(json.loads(line)) == {"time", "gateway_up", "upstream_down"}
            until("the alert", lambda: len(receiver.processed) == 1)
            (created,) = receiver.processed.values()
            assert (created["type"], created["data"]["status"], created["data"]["kind"]) == (
                "incident.created",
                "suspected",
                "outage",
            )
            (outage,) = events(port, "asn:137")
            assert (outage["kind"], outage["level"], outage["end"]) == ("outage", "critical", None)
            assert cut_server < detected(outage) <= cut_server + ALERT_WITHIN
            assert events(port, "asn:28573") == []  # the other network stayed up
            resume_probe = time.time()
            for name in CUT:
                loop.run(forwarders[name].open())
            until(
                "the local checks uploaded", lambda: all(sent_everything(folders[n]) for n in CUT)
            )
            backlog = Counter(
                str(m["measurement_start_time"])
                for n in CUT
                for m in measurements(folders[n])
                if cut_probe + 1 < _start(m) < resume_probe
            )
            assert backlog
            until("the measurements uploaded", lambda: backlog <= _archived(data, "AS137"))
            until("the event closed", lambda: closed(port))
            (ended,) = events(port, "asn:137")
            assert ended["id"] == outage["id"]
            assert [(n["asn"], n["probes"], n["silent"]) for n in ended["networks"]] == [
                (137, 2, 2)
            ]
            until("the incident updated", lambda: len(receiver.processed) == 2)
            (update,) = [u for u in receiver.processed.values() if u["type"] == "incident.updated"]
            assert update["data"]["id"] == created["data"]["id"]
            assert update["data"]["end"]["time"] == ended["end"]
            for process in processes.values():
                process.send_signal(signal.SIGINT)
            for process in processes.values():
                assert process.wait(timeout=GIVE_UP) == 0
        # The local checks, as each probe recorded them, per minute on the server: probes
        # measuring in that minute, of them those that saw the gateway, those cut off.
        expected: dict[dt.datetime, list[int]] = {}
        for name in CUT:
            minutes: dict[dt.datetime, tuple[bool, bool]] = {}
            for r in checks(folders[name]):
                key = r.time.replace(second=0, microsecond=0)
                up, down = minutes.get(key, (False, True))
                minutes[key] = (up or r.gateway_up, down and r.upstream_down)
            for key, (up, down) in minutes.items():
                counts = expected.setdefault(key, [0, 0, 0])
                counts[0], counts[1], counts[2] = (
                    counts[0] + 1,
                    counts[1] + up,
                    counts[2] + (up and down),
                )
        first, last = min(expected), max(expected) + dt.timedelta(minutes=1)
        got = {
            c.time: [c.measuring, c.gateway_up, c.upstream_down]
            for c in store.local_checks(first, last)
        }
        assert got == expected
        assert all(c.asn == 137 and c.country == "IT" for c in store.local_checks(first, last))
        store.close()
    for name in PROBES:
        text = logs[name].read_text()
        assert "Traceback" not in text, text
    for path in data.rglob("*"):
        if path.is_file():
            raw = path.read_bytes()
            for address in PROBES.values():
                assert address.encode() not in raw, (path, address)
    for path in data.glob("heartbeats.sqlite*"):
        assert b"127.0.0.1" not in path.read_bytes()
    receiver.close()


def events(port: int, entity: str) -> list[dict[str, Any]]:
    answer = httpx.get(f"http://127.0.0.1:{port}/api/v1/events", params={"entity": entity})
    assert answer.status_code == 200, answer.text
    found: list[dict[str, Any]] = answer.json()["events"]
    return found


def detected(event: dict[str, Any]) -> dt.datetime:
    return dt.datetime.fromisoformat(str(event["detected"]))


def closed(port: int) -> bool:
    found = events(port, "asn:137")
    return len(found) == 1 and found[0]["end"] is not None


def _start(measurement: dict[str, object]) -> float:
    moment = dt.datetime.strptime(str(measurement["measurement_start_time"]), "%Y-%m-%d %H:%M:%S")
    return moment.replace(tzinfo=dt.UTC).timestamp()


def _archived(data: Path, asn: str) -> Counter[str]:
    found: Counter[str] = Counter()
    for stored, _ in read_since(DataDir(root=data).archive, {}):  # read-only, as the pipeline
        measurement = json.loads(bytes(stored.measurement))
        if measurement["probe_asn"] == asn:
            found[measurement["measurement_start_time"]] += 1
    return found


class daemons:  # a context manager, named as one reads it: `with daemons(...)`
    def __init__(
        self,
        forwarders: dict[str, Forwarder],
        folders: dict[str, DataDir],
        logs: dict[str, Path],
        site: int,
        gateway: int,
        database: Path,
        resolver: int,
    ) -> None:
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self.args = (forwarders, folders, logs, site, gateway, database, resolver)

    def __enter__(self) -> dict[str, subprocess.Popen[bytes]]:
        forwarders, folders, logs, site, gateway, database, resolver = self.args
        for name, address in PROBES.items():
            command = [
                sys.executable, "-m", "netvigil", "probe", "daemon",
                "--server", f"http://127.0.0.1:{forwarders[name].port}",
                "--heartbeat", "1", "--cadence", "3",
                "--gateway", f"127.0.0.1:{gateway}",
                "--input", f"http://127.0.0.1:{site}/",
                "--accept-risks", "--data-dir", str(folders[name].root),
                "--probe-ip", address, "--geoip-db", str(database),
                "--max-runtime", str(GIVE_UP * 3),
                "--system-resolver", f"127.0.0.1:{resolver}",
            ]  # fmt: skip
            with logs[name].open("wb") as log:
                self.processes[name] = subprocess.Popen(
                    command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT
                )
        return self.processes

    def __exit__(self, *exc: object) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.kill()
                process.wait(timeout=30)
