"""One shutdown scenario in a running lab: probe daemons → heartbeats → detector → webhook.

`run_shutdown` runs what issue 14 asks of the shutdown cases, end to end with the real parts:

1. the world's servers (cli/lab_serve.py) unless the caller runs them (`ca_file`), the
   observatory (cli/lab_observatory.py) in `server`, and PROBES `netvigil probe daemon`
   processes in `client`, each with its own data folder and so its own pseudonym, on the
   client's address (the detector counts probes by pseudonym per minute, not by address);
   the observatory and the daemons share one LabClock (lab/clock.py), SPEED times real time;
2. a baseline: every probe heard in one server minute, and HISTORY of heartbeats;
3. the scenario's Blackout applied by the censor; the alert is the observatory's signed
   `incident.created`, kept by its subscriber's endpoint; the event's detection must come
   within ALERT_WITHIN of the cut (reference/shutdowns.md §7: median ≤ 5 min), lab time;
4. the daemons' local checks: a shutdown leaves their gateway (the censor, 10.77.1.1)
   answering, a power cut (`devices_dark`) does not. They cannot cross a blackout, so they
   reach the observatory when the rules are removed, as a real probe's do after a cut; the
   event they fall in then grows from an outage into a shutdown (an `incident.updated`),
   or stays an outage when nothing showed the network cut while the power was on.

The root namespace has no route into the lab, by design: everything is read from files the
entry points write (the hooks' JSON lines, the observatory's event and heartbeat databases,
the daemons' local checks). Every wait polls for an event and is bounded by GIVE_UP, which
only ends a hung run; the verdict is in lab time, never in how long a wait took.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import select
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any, Final

from netvigil.cli.lab_readings import alert_kind, checks, heard, hooks, incidents, sent_everything
from netvigil.datadir import DataDir
from netvigil.detect.model import Event
from netvigil.lab.censor import CENSOR_ADDRESS, censor_plan
from netvigil.lab.censor_apply import Censor
from netvigil.lab.clock import LabClock
from netvigil.lab.lab_geoip import write_geoip
from netvigil.lab.netns import Lab, LabError
from netvigil.lab.scenario_probe import CLIENT_ADDRESS, TEST_HELPER
from netvigil.lab.scenario_records import Scenario, Table
from netvigil.observatory.eventstore import EventStore, Query
from netvigil.observatory.heartbeat_store import HeartbeatStore

# Lab seconds per real second. A cut daemon looks at its network once per unanswered
# heartbeat, about 15 real seconds apart (10 s heartbeat deadline, 5 s look): 3.75 lab
# minutes at 15x, so its checks cover a quarter of the cut's minutes (a shutdown needs 15 %).
SPEED: Final = 15.0
HEARTBEAT: Final = 1.5  # real seconds between heartbeats: 22.5 lab s, each minute heard
CADENCE: Final = 30.0  # real seconds between measurement runs
PROBES: Final = 3  # three probes' silence crosses the threshold in its third minute
HISTORY: Final = dt.timedelta(minutes=33)  # heard before the cut: a baseline (30 of 60)
ALERT_WITHIN: Final = dt.timedelta(minutes=5)  # reference/shutdowns.md §7: median ≤ 5 min
CHECKS: Final = 3  # local checks per probe during the cut before it is lifted
SETTLE: Final = dt.timedelta(minutes=3)  # detection rounds after the last upload, lab time
GIVE_UP: Final = 300.0  # real seconds: only ends a hung wait
# Beside the collector `netvigil lab run` may run on 10.77.2.2:8000, never on its port.
OBSERVATORY_PORT, HOOK_PORT = 8100, 8101
SERVER_ADDRESS: Final = "10.77.2.2"


class Hung(Exception):
    """A wait that never ended: the run failed, and this says at what."""


def _until(
    what: str, condition: Callable[[], bool], *, stop: Callable[[], bool] | None = None
) -> None:
    deadline = time.monotonic() + GIVE_UP
    while not condition():
        if time.monotonic() > deadline or (stop is not None and stop()):
            raise Hung(what)
        time.sleep(0.25)


def _ready(child: subprocess.Popen[bytes], name: str) -> dict[str, Any]:
    """The one JSON line an entry point prints once it listens."""
    assert child.stdout is not None
    ready, _, _ = select.select([child.stdout], [], [], 60.0)
    line = child.stdout.readline() if ready else b""
    try:
        found: dict[str, Any] = json.loads(line)
    except ValueError:
        raise LabError(f"{name} did not start (exit {child.poll()})") from None
    return found


def _stop(child: subprocess.Popen[bytes], signum: int = signal.SIGTERM) -> None:
    if child.poll() is None:
        child.send_signal(signum)
        try:
            child.wait(30.0)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait(30.0)


def _daemon_argv(
    table: Table, scenario: Scenario, clock: LabClock, folder: Path, ca: Path, geo: Path
) -> list[str]:
    argv = [sys.executable, "-m", "netvigil", "probe", "daemon"]
    argv += ["--server", f"http://{SERVER_ADDRESS}:{OBSERVATORY_PORT}"]
    argv += ["--heartbeat", str(HEARTBEAT), "--cadence", str(CADENCE)]
    argv += ["--gateway", f"{CENSOR_ADDRESS}:53"]  # the default route's (topology.py)
    for url in scenario.inputs:
        argv += ["--input", url]
    argv += ["--system-resolver", table.lab.resolver]
    for network in table.lab.networks:
        argv += ["--lab-network", network]
    argv += ["--ca-file", str(ca), "--th", TEST_HELPER, "--probe-ip", CLIENT_ADDRESS]
    argv += ["--geoip-db", str(geo), "--data-dir", str(folder), "--accept-risks"]
    argv += ["--max-runtime", str(4 * GIVE_UP)]
    return [*argv, "--clock-epoch", repr(clock.epoch), "--clock-speed", repr(clock.speed)]


@contextlib.contextmanager
def _started(
    lab: Lab,
    namespace: str,
    argv: list[str],
    log: Path,
    *,
    ready: bool = False,
    signum: int = signal.SIGTERM,
) -> Iterator[subprocess.Popen[bytes]]:
    """A child in a lab namespace, its output in `log` (stdout piped when it prints a ready
    line), stopped with `signum` at the end (SIGINT for a daemon: it then says its tally)."""
    with open(log, "ab") as out:
        stdout: int | IO[bytes] = subprocess.PIPE if ready else out
        child = lab.start(namespace, argv, stdout=stdout, stderr=out, stdin=subprocess.DEVNULL)
    try:
        yield child
    finally:
        _stop(child, signum)
        if child.stdout is not None:
            child.stdout.close()


def run_shutdown(
    lab: Lab, table: Table, scenario: Scenario, folder: Path, *, ca_file: Path | None = None
) -> dict[str, object]:
    """Run `scenario` (one with `expect_alert`) in `lab`; what happened, and whether it passed.

    With `ca_file` the world's servers are the caller's (already running); without, they are
    started here and stopped after. Everything is written under `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    result: dict[str, object] = {"scenario": scenario.name, "passed": False, "alert": None}
    result |= {"detected_after_s": None, "expected": scenario.expect_alert}
    censor = Censor(lab, folder / "censor")
    with contextlib.ExitStack() as stack:
        stack.callback(censor.remove)
        if ca_file is None:
            argv = [
                sys.executable,
                "-m",
                "netvigil.cli.lab_serve",
                "--folder",
                str(folder / "world"),
            ]
            world = stack.enter_context(
                _started(lab, lab.plan.server, argv, folder / "world.log", ready=True)
            )
            ca_file = Path(_ready(world, "the world's servers")["ca_file"])
        geo = write_geoip(table, scenario.probe_cc, folder / "geo.mmdb")
        clock = LabClock(epoch=time.time(), speed=SPEED)
        data = DataDir(root=folder / "observatory")
        hooks_file = folder / "hooks.jsonl"
        argv = [sys.executable, "-m", "netvigil.cli.lab_observatory", "--data-dir", str(data.root)]
        argv += [
            "--host",
            SERVER_ADDRESS,
            "--port",
            str(OBSERVATORY_PORT),
            "--hook-port",
            str(HOOK_PORT),
        ]
        argv += ["--hooks", str(hooks_file), "--geoip-db", str(geo), "--detection-interval", "1"]
        argv += ["--clock-epoch", repr(clock.epoch), "--clock-speed", repr(clock.speed)]
        for network in table.lab.networks:
            argv += ["--lab-network", network]
        observatory = stack.enter_context(
            _started(lab, lab.plan.server, argv, folder / "observatory.log", ready=True)
        )
        _ready(observatory, "the observatory")
        probes = [DataDir(root=folder / f"probe-{n}") for n in range(PROBES)]
        for n, probe in enumerate(probes):
            argv = _daemon_argv(table, scenario, clock, probe.root, ca_file, geo)
            log = folder / f"probe-{n}.log"
            stack.enter_context(_started(lab, lab.plan.client, argv, log, signum=signal.SIGINT))
        store = HeartbeatStore(data.heartbeats, now=clock.now)
        stack.callback(store.close)
        try:
            _watch(
                lab, table, scenario, folder, censor, clock, data, probes, store, ca_file, result
            )
        except Hung as exc:
            result["why"] = f"hung waiting for {exc}"
    return result


def _watch(
    lab: Lab,
    table: Table,
    scenario: Scenario,
    folder: Path,
    censor: Censor,
    clock: LabClock,
    data: DataDir,
    probes: list[DataDir],
    store: HeartbeatStore,
    ca: Path,
    result: dict[str, object],
) -> None:
    started = clock.now()
    hooks_file = folder / "hooks.jsonl"
    _until("every probe heard in one minute", lambda: float(PROBES) in heard(store, started))
    _until("a baseline's worth of history", lambda: clock.now() > started + HISTORY)
    if hooks(hooks_file):
        result["why"] = "an alert before the cut"
        return
    sites = {name: s.address for name, s in table.sites.items() if s.address}
    censor.apply(
        censor_plan(scenario.rules, lab.plan, sites, site_ca=str(ca), folder=str(folder / "censor"))
    )
    cut = clock.now()
    late = cut + 3 * ALERT_WITHIN
    _until("the alert", lambda: bool(hooks(hooks_file)), stop=lambda: clock.now() > late)
    created = hooks(hooks_file)[0]
    result["first_alert"] = alert_kind(created)

    def cut_seen() -> bool:
        return all(len([c for c in checks(p) if c.time > cut]) >= CHECKS for p in probes)

    _until("local checks during the cut", cut_seen)
    censor.remove()
    lifted = clock.now()
    events = EventStore(data.events)

    def found() -> list[Event]:
        """The events of this cut (none began before the baseline ended)."""
        return [s.event for s in events.select(Query(since=cut)) if s.event.start >= started]

    settled: list[dt.datetime] = []

    def done() -> bool:
        """Every event of the cut ended and each probe's local checks arrived, then SETTLE
        of detection rounds: the last word; or, sooner, the shutdown alert has its end."""
        final = incidents(hooks(hooks_file))
        if scenario.expect_alert == "shutdown" and any(
            alert_kind(i) == "shutdown" and i["data"]["end"] is not None for i in final
        ):
            return True
        now, seen = clock.now(), found()
        if not seen or any(e.end is None for e in seen):
            return False
        if not all(sent_everything(p) for p in probes):
            return False
        if not settled:
            settled.append(now)
        return now > settled[0] + SETTLE

    _until("the event's end and the local checks", done)
    final = incidents(hooks(hooks_file))
    kinds = {alert_kind(i) for i in final}
    seen = found()
    first = min(seen, key=lambda e: e.detected) if seen else None
    detected = (first.detected - cut).total_seconds() if first is not None else None
    result |= {
        "alert": "shutdown" if "shutdown" in kinds else min(kinds, default=None),
        "detected_after_s": detected,
        "events": sorted(f"{e.entity} {e.kind}" for e in seen),
        "cut_minutes": round((lifted - cut).total_seconds() / 60, 1),
        "local_checks": sum(len([c for c in checks(p) if cut < c.time < lifted]) for p in probes),
    }
    why = []
    if created["type"] != "incident.created" or created["data"]["status"] != "suspected":
        why.append(f"the first webhook is {created['type']} ({created['data']['status']})")
    if result["alert"] != scenario.expect_alert:
        why.append(f"alert {result['alert']}, expected {scenario.expect_alert}")
    if detected is None or not 0 < detected <= ALERT_WITHIN.total_seconds():
        bound = ALERT_WITHIN.total_seconds()
        why.append(f"detected {detected} s after the cut, bound {bound:g} s")
    result["passed"] = not why
    if why:
        result["why"] = "; ".join(why)
