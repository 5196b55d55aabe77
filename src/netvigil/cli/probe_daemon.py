"""`netvigil probe daemon`: the command-line adapter around probe/daemon.py.

The same order as `probe run`: options checked, data folder, informed consent, inputs, the
probe's location (country and network only) and the scrubber of its address; then the loop
until --max-runtime or Ctrl-C. The test helper defaults to the server's own (`/th/`), the
gateway to the default route's (/proc/net/route).
"""

from __future__ import annotations

import asyncio
import functools
import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer

from netvigil.addresses import Bogons
from netvigil.cli.console import err, fail, open_data_dir
from netvigil.cli.probe import _require_consent
from netvigil.cli.probe_options import (
    AcceptRisksOpt,
    CaFileOpt,
    CategoryOpt,
    CountryOpt,
    DataDirOpt,
    GeoipDbOpt,
    InputFileOpt,
    InputUrlsOpt,
    LabNetworkOpt,
    MaxRuntimeOpt,
    ParallelismOpt,
    ProbeIpOpt,
    ResolverOpt,
    SourceAddressOpt,
    SystemResolverOpt,
    TestListOpt,
    ThOpt,
    check_options,
    host_port,
    inputs_of,
    is_http_url,
)
from netvigil.datadir import DataDirError
from netvigil.lab.clock import LabClock, LabClockError
from netvigil.net.backend import AsyncioBackend, Backend, StubResolverBackend
from netvigil.probe.daemon import Daemon, DaemonConfig, Tally
from netvigil.probe.heartbeat import load_secret
from netvigil.probe.localcheck import GATEWAY_PORT, default_gateway
from netvigil.probe.location import Learnt, learn_address, locate
from netvigil.probe.report import Location
from netvigil.probe.runner import DEFAULT_PARALLELISM, RunConfig
from netvigil.probe.webconnectivity import Settings
from netvigil.scrub import Scrubber

ROUTES = Path("/proc/net/route")

ServerOpt = Annotated[
    str,
    typer.Option(
        "--server",
        metavar="URL",
        help="The observatory (`netvigil serve`) to send heartbeats, measurements and local "
        "checks to; it also tells this probe its public address and is its test helper.",
    ),
]
HeartbeatOpt = Annotated[
    float,
    typer.Option(
        "--heartbeat",
        metavar="SECONDS",
        help="Seconds between heartbeats, and between local checks while the server cannot "
        "be reached.",
    ),
]
CadenceOpt = Annotated[
    float,
    typer.Option("--cadence", metavar="SECONDS", help="Seconds between measurement runs."),
]
GatewayOpt = Annotated[
    str | None,
    typer.Option(
        "--gateway",
        metavar="HOST[:PORT]",
        help=f"The first hop local checks look at (default: the default route's gateway, "
        f"port {GATEWAY_PORT}); never written anywhere.",
    ),
]

# The lab's sped-up clock (lab/clock.py), for timestamps only; hidden: a volunteer's daemon
# always writes real time, and a lab run passes both.
ClockEpochOpt = Annotated[float | None, typer.Option("--clock-epoch", hidden=True)]
ClockSpeedOpt = Annotated[float | None, typer.Option("--clock-speed", hidden=True)]


def _stamp(epoch: float | None, speed: float | None) -> Callable[[], float] | None:
    if epoch is None and speed is None:
        return None
    try:
        return LabClock(
            epoch=time.time() if epoch is None else epoch, speed=1.0 if speed is None else speed
        ).seconds
    except LabClockError as exc:
        raise fail(str(exc)) from None


def _gateway(option: str | None) -> tuple[str, int] | None:
    if option is not None:
        return host_port(option, GATEWAY_PORT)
    try:
        found = default_gateway(ROUTES.read_text())
    except OSError:
        found = None
    if found is None:
        err.print("[yellow]warning:[/yellow] no default gateway found: local checks look beyond")
        return None
    return found, GATEWAY_PORT


async def _learn(
    backend: Backend, server: str, ca: str | None, every: float, until: float | None
) -> Learnt | None:
    """The server's answer to "what is my address?", asked every `every` seconds until it
    comes or `until` (monotonic) passes. A daemon measures unattended for months: it does
    not start without the address it must scrub (`probe run` warns and goes on, with its
    person watching)."""
    while True:
        learnt, warning = await learn_address(backend, server, ca)
        if learnt is not None:
            return learnt
        if until is not None and time.monotonic() + every > until:
            return None
        err.print(f"waiting: {warning}", soft_wrap=True, markup=False)
        await asyncio.sleep(every)


def _where(address: str, learnt: Learnt | None, database: Path | None) -> tuple[str, Location]:
    """(the probe's address, to scrub it; its country and network), as `probe run` finds
    them; a warning line when they are unknown."""
    if learnt is not None and database is None:
        return address, learnt.location  # the server's lookup of our address
    location, warning = locate(address, database)
    if warning is not None:
        warning = warning.replace("writing ZZ/AS0", "writing ZZ/AS0, sending no heartbeat")
        err.print(f"[yellow]warning:[/yellow] {warning}", soft_wrap=True, markup=True)
    return address, location


async def _until_signalled(daemon: Daemon) -> Tally:
    """The daemon until its runtime ends or SIGINT/SIGTERM: then it stops starting things
    and its work in progress is cancelled."""
    loop, main = asyncio.get_running_loop(), asyncio.current_task()

    def stop() -> None:
        daemon.stop()
        if main is not None:
            main.cancel()

    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop)
    try:
        return await daemon.run()
    except asyncio.CancelledError:
        return daemon.tally


def daemon_command(
    server: ServerOpt,
    heartbeat: HeartbeatOpt = 60.0,
    cadence: CadenceOpt = 3600.0,
    gateway: GatewayOpt = None,
    input_urls: InputUrlsOpt = [],  # noqa: B006
    input_file: InputFileOpt = None,
    test_list: TestListOpt = None,
    category: CategoryOpt = [],  # noqa: B006
    country: CountryOpt = None,
    th: ThOpt = [],  # noqa: B006
    resolver: ResolverOpt = None,
    ca_file: CaFileOpt = None,
    parallelism: ParallelismOpt = DEFAULT_PARALLELISM,
    max_runtime: MaxRuntimeOpt = None,
    accept_risks: AcceptRisksOpt = False,
    probe_ip: ProbeIpOpt = None,
    geoip_db: GeoipDbOpt = None,
    data_dir: DataDirOpt = None,
    system_resolver: SystemResolverOpt = None,
    source_address: SourceAddressOpt = None,
    lab_network: LabNetworkOpt = [],  # noqa: B006
    clock_epoch: ClockEpochOpt = None,
    clock_speed: ClockSpeedOpt = None,
) -> None:
    """Measure on a schedule and send heartbeats; while cut off, check the local network.

    Every --heartbeat seconds a heartbeat (country, network and a pseudonym that changes
    each UTC day, never an address) goes to the server; every --cadence seconds the inputs
    are measured and stored in the data folder. When the server cannot be reached the probe
    records what it sees of its gateway and beyond, and uploads it with the measurements,
    at their own times, when the server is back. Without --probe-ip it first waits until
    the server has told it its public address (to scrub it from what it writes).
    """
    if not is_http_url(server):
        raise fail(f"--server: expected an http:// or https:// URL, got {server!r}")
    for flag, value in (("--heartbeat", heartbeat), ("--cadence", cadence)):
        if not value > 0:  # NaN too
            raise fail(f"{flag}: expected a number of seconds above 0, got {value:g}")
    checked = check_options(resolver, max_runtime, ca_file, geoip_db)
    stamp = _stamp(clock_epoch, clock_speed)
    first_hop = _gateway(gateway)
    folder = open_data_dir(data_dir)
    _require_consent(folder, accept_risks)
    targets = inputs_of(input_urls, input_file, test_list, category, country)
    for problem in targets.problems:
        where = problem.source + (f":{problem.line}" if problem.line else "")
        err.print(f"skipped: {where}: {problem.value!r}: {problem.reason}", markup=False)
    if not targets.targets:
        raise fail("nothing to measure: give --input, --input-file, --test-list or --country")
    try:
        secret = load_secret(folder.pseudonym_secret)
    except DataDirError as exc:
        raise fail(str(exc)) from None
    backend: Backend = (
        StubResolverBackend(host_port(system_resolver, 53), source=source_address)
        if system_resolver
        else AsyncioBackend(source=source_address)
    )
    database = geoip_db or folder.geoip_database()
    address, learnt = probe_ip, None
    if address is None:
        until = time.monotonic() + max_runtime if max_runtime else None
        learnt = asyncio.run(_learn(backend, server, checked.ca_file, heartbeat, until))
        if learnt is None:
            raise fail("max runtime reached before the server told this probe its address")
        address = learnt.address
    address, location = _where(address, learnt, database)
    try:
        bogons = Bogons.with_lab(lab_network)
        scrubber = Scrubber([address], lab=bogons.lab_networks)
    except ValueError as exc:
        raise fail(str(exc).splitlines()[0]) from None
    helpers = tuple(th) or (server.rstrip("/") + "/th/",)
    settings = Settings(resolver=checked.resolver, test_helpers=helpers, ca_file=checked.ca_file)
    config = DaemonConfig(
        server=server,
        urls=tuple(t.url for t in targets.targets),
        run=RunConfig(settings=settings, location=location, parallelism=parallelism),
        interval=heartbeat,
        cadence=cadence,
        gateway=first_hop,
        resolver=checked.resolver,
        max_runtime=max_runtime,
        ca_file=checked.ca_file,
        bogon=bogons,
        geoip_db=database,
    )
    say = functools.partial(err.print, markup=False, soft_wrap=True)  # lines as they are
    daemon = Daemon(config, backend, folder, secret, scrubber, say=say, stamp=stamp)
    tally = asyncio.run(_until_signalled(daemon))
    say(
        f"heartbeats {tally.heartbeats} (answered {tally.answered}), local checks "
        f"{tally.local_checks}, runs {tally.runs} ({tally.measured} measured), uploaded "
        f"{tally.uploaded} measurement(s) and {tally.local_uploaded} local check(s)"
    )
    raise typer.Exit(0)
