"""`netvigil probe daemon`'s loop: heartbeats, scheduled runs, local checks, the backlog.

One task group owns everything: the loop performs what the pure schedule (heartbeat.py)
says is due; a measurement run and an upload each run as a task of the group, so heartbeats
go on while they work; every network step has its deadline. At `max_runtime` nothing new
starts and the work in progress ends first; at `stop()` it is cancelled.

- Each heartbeat interval: `POST {server}/api/v1/heartbeats`; any HTTP answer means the
  server is reachable, none means a local check (localcheck.py) in the data folder.
- Each cadence: one whoami lookup (whoami.py), then the inputs through the runner, stored
  (scrubbed) as `probe run` stores them.
- While the server answers: upload what waits, measurements through the collector protocol
  (upload.py: own `measurement_start_time`, a ledger against doubles) and local checks.

Time is a parameter: `clock` gives Unix seconds, `sleep` waits (a test passes its own);
`stamp`, the time written on heartbeats, records and measurements, is `clock` unless the
lab gives its sped-up clock (lab/clock.py), with which the schedule stays real.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import msgspec

from netvigil.addresses import REAL_WORLD, Bogons
from netvigil.datadir import DataDir
from netvigil.net.backend import Backend
from netvigil.net.connect import tls_context
from netvigil.net.posting import post_json
from netvigil.probe import heartbeat as schedule
from netvigil.probe import localcheck
from netvigil.probe.report import Location
from netvigil.probe.results import new_result, results
from netvigil.probe.runner import RunConfig, run
from netvigil.probe.upload import upload
from netvigil.probe.whoami import learn_resolver
from netvigil.records import WebMeasurement
from netvigil.scrub import Scrubber

DEADLINE = 10.0  # seconds for a heartbeat or a batch of local checks to be answered
MAX_ANSWER = 64 << 10
KEEP = dt.timedelta(days=34)  # the server takes local checks of the last 35 days


class DaemonConfig(msgspec.Struct, frozen=True, kw_only=True):
    server: str
    urls: tuple[str, ...]
    run: RunConfig
    interval: float = 60.0
    cadence: float = 3600.0
    gateway: tuple[str, int] | None = None
    resolver: tuple[str, int] | None = None
    max_runtime: float | None = None
    ca_file: str | None = None
    bogon: Bogons = REAL_WORLD  # for the whoami answer, with the IP-to-AS database:
    geoip_db: Path | None = None


class Tally(msgspec.Struct, kw_only=True):
    heartbeats: int = 0
    answered: int = 0
    local_checks: int = 0
    runs: int = 0
    measured: int = 0
    uploaded: int = 0
    local_uploaded: int = 0


class Daemon:
    def __init__(
        self,
        config: DaemonConfig,
        backend: Backend,
        folder: DataDir,
        secret: bytes,
        scrubber: Scrubber,
        *,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        say: Callable[[str], None] = lambda line: None,
        stamp: Callable[[], float] | None = None,
    ) -> None:
        self.config, self.backend, self.folder, self.secret = config, backend, folder, secret
        self.scrubber, self.clock, self.sleep, self.say = scrubber, clock, sleep, say
        self.stamp = stamp or clock
        self.base = config.server.rstrip("/")
        self.context = tls_context(config.ca_file)
        self.location: Location = config.run.location
        self.tally, self.stopping = Tally(), False
        self._said: set[str] = set()
        ths = config.run.settings.test_helpers
        self.destinations = tuple(dict.fromkeys(map(localcheck.endpoint, (config.server, *ths))))

    def stop(self) -> None:  # SIGINT, SIGTERM: seen at the loop's next turn, even if the
        self.stopping = True  # cancellation sent with it is lost (3.11's asyncio.timeout)

    def now(self) -> dt.datetime:
        return dt.datetime.fromtimestamp(self.stamp(), dt.UTC)

    def _once(self, kind: str, line: str) -> None:
        """Say `line` the first time something of this kind happens: a daemon runs for
        months, and a wrong clock or a refused upload must not fill its log."""
        if kind not in self._said:
            self._said.add(kind)
            self.say(line)

    async def run(self) -> Tally:
        """Until `max_runtime` (for ever without one); the tally of what happened."""
        started = self.clock()
        end = started + self.config.max_runtime if self.config.max_runtime else None
        plan = schedule.start(started, interval=self.config.interval, cadence=self.config.cadence)

        async def measure() -> None:
            nonlocal plan
            try:
                await self.measure()
            finally:
                plan = schedule.measured(plan)

        async def send_backlog() -> None:
            nonlocal plan
            complete, left = False, False
            try:
                complete, left = await self.upload()
            finally:
                plan = schedule.uploaded(plan, self.clock(), complete=complete, left=left)

        async with asyncio.TaskGroup() as group:
            while not self.stopping and (end is None or self.clock() < end):
                for action in schedule.due(plan, self.clock()):
                    if action == "heartbeat":
                        reached = await self.heartbeat()
                        plan = schedule.heard(plan, self.clock(), reached=reached)
                    elif action == "local_check":
                        await self.local_check()
                        plan = schedule.checked(plan)
                    elif action == "measure":
                        plan = schedule.measuring(plan, self.clock())
                        group.create_task(measure())
                    else:
                        plan = schedule.uploading(plan)
                        group.create_task(send_backlog())
                pause = schedule.wait(plan, self.clock())
                if end is not None:
                    pause = min(pause, max(0.0, end - self.clock()))
                await self.sleep(pause)
            if self.stopping:  # a stop is a cancellation: the group cancels its tasks
                raise asyncio.CancelledError
        return self.tally

    async def _post(self, path: str, body: bytes) -> tuple[int | None, dict[str, object]]:
        """(HTTP status or None when the server did not answer, the JSON answer)."""
        exchange = await post_json(
            self.backend,
            self.base + path,
            body,
            deadline=DEADLINE,
            ssl_context=self.context,
            max_body=MAX_ANSWER,
        )
        if exchange.failure is not None:
            return None, {}
        try:
            answer = json.loads(exchange.body)
        except ValueError:
            answer = None
        return exchange.status, answer if isinstance(answer, dict) else {}

    async def heartbeat(self) -> bool:
        self.tally.heartbeats += 1
        beat = schedule.heartbeat(
            self.secret, self.location.probe_cc, self.location.probe_asn, self.now()
        )
        status, answer = await self._post("/api/v1/heartbeats", msgspec.json.encode(beat))
        if status is None:
            return False
        self.tally.answered += 1
        if status != 200:
            self._once("refused", f"heartbeat refused (HTTP {status}): {answer.get('error', '')}")
        elif "clock_skew_seconds" in answer:
            self._once("skew", f"this device's clock is off: {answer.get('warning', '')}")
        return True

    async def local_check(self) -> None:
        gateway_up, upstream_down = await localcheck.look(
            self.backend,
            gateway=self.config.gateway,
            resolver=self.config.resolver,
            destinations=self.destinations,
        )
        record = localcheck.Record(
            time=self.now(), gateway_up=gateway_up, upstream_down=upstream_down
        )
        localcheck.append(self.folder.local_checks, record)
        self.tally.local_checks += 1

    async def measure(self) -> None:
        bogon, database = self.config.bogon, self.config.geoip_db  # a resolver changes, too
        found = await learn_resolver(self.backend, self.scrubber, bogon=bogon, database=database)
        config = msgspec.structs.replace(self.config.run, resolver_identity=found)
        encoder = msgspec.json.Encoder()
        with open(new_result(self.folder.results, self.now()), "ab") as handle:

            def sink(measurement: WebMeasurement) -> None:
                handle.write(self.scrubber.json(encoder.encode(measurement)) + b"\n")
                handle.flush()

            urls, scrub = self.config.urls, self.scrubber.data
            summary = await run(urls, self.backend, config, sink, scrub=scrub, now=self.now)
        self.tally.runs += 1
        self.tally.measured += summary.measured

    async def upload(self) -> tuple[bool, bool]:
        """(everything was sent, local checks of the current minute wait)."""
        files = results(self.folder.results)
        summary = await upload(
            files, self.base, self.backend, self.folder.uploaded, ca_file=self.config.ca_file
        )
        self.tally.uploaded += summary.uploaded
        if summary.failed:
            self._once("upload", f"upload: {summary.failed} kept for later ({summary.last_error})")
        sent, left = await self.send_local_checks()
        return summary.failed == 0 and sent, left

    async def send_local_checks(self) -> tuple[bool, bool]:
        """(the server took every whole minute, the current minute waits)."""
        path, ledger = self.folder.local_checks, self.folder.local_checks_uploaded
        while True:
            now = self.now()
            records, upto, left = localcheck.pending(path, ledger, now)
            kept = [r for r in records if r.time >= now - KEEP]
            if not records:
                return True, left
            if kept:
                where = {"probe_cc": self.location.probe_cc, "probe_asn": self.location.probe_asn}
                pseudonym = schedule.pseudonym(self.secret, now)
                batch = {**where, "pseudonym": pseudonym, "checks": localcheck.per_minute(kept)}
                status, answer = await self._post(
                    "/api/v1/heartbeats/local", msgspec.json.encode(batch)
                )
                if status is None:
                    return False, left
                if status != 200:  # refused for good: keeping them would block the rest
                    error = answer.get("error", "")
                    self._once("local", f"local checks refused (HTTP {status}): {error}")
                else:
                    self.tally.local_uploaded += len(kept)
            localcheck.mark_sent(ledger, upto)
