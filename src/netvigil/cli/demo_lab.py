"""`netvigil demo` as root: real censorship in the lab, then the explorer that saw it.

The lab's namespaces have no route to the root namespace (011-lab.md, Topology), so a
browser on this machine cannot reach the observatory that runs inside the lab. The demo is
therefore two phases over one data folder:

1. **The lab.** One lab is brought up; its world and its observatory start in `server` with
   the demo's data folder as the observatory's own (cli/lab_world.py), and each scenario runs
   through the censor, the probe, the collector and the pipeline (cli/lab_run.py), with a
   progress bar (ETA) on stderr and one pass/fail line per scenario. The lab is torn down
   however this phase ends (netns.lab_running: Ctrl-C included, and then nothing is served).
2. **The explorer.** The same folder, with `serve --demo`'s bundled data loaded beside the
   lab's measurements, served in the root namespace until Ctrl-C; stdout says where to look:
   the lab network's page (every lab measurement is on AS64777, lab/lab_geoip.py) and each
   scenario's measurement page.

The port is bound before the lab starts, so a busy one is one line before a minute of work.
A scenario that fails is shown as failed and the demo goes on: what the explorer shows is
what the pipeline said, whatever the table expected.
"""

from __future__ import annotations

import datetime as dt
import socket
from collections.abc import Sequence
from pathlib import Path
from typing import Final

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from netvigil.cli.console import err, fail, listening, open_data_dir
from netvigil.cli.demo_data import DemoError
from netvigil.cli.lab_run import run_scenario
from netvigil.cli.lab_world import start_world
from netvigil.cli.serve import geoip_of, load_demo
from netvigil.datadir import DataDir
from netvigil.lab.lab_geoip import LAB_ASN, write_geoip
from netvigil.lab.labstate import LabStateError
from netvigil.lab.netns import LabError, lab_running
from netvigil.lab.scenario_records import Scenario, Table
from netvigil.lab.scenario_result import Result
from netvigil.lab.scenarios import TableError, load_table, select
from netvigil.lab.topology import Plan, TopologyError, plan
from netvigil.listening import url_of

__all__ = ["DEMO_SCENARIOS", "run_lab_demo"]

# One scenario per layer and technique a newcomer should see, each a few seconds (the two
# timeouts, ip-blackhole and throttle-http, ~12 and ~17 s): about a minute in all. The
# shutdown scenarios need probe daemons and the detector's rounds (`netvigil lab run`).
DEMO_SCENARIOS: Final = (
    "web-https-ok",  # the contrast: an uncensored site is ok
    "dns-nxdomain",
    "dns-blockpage-ip",  # a forged answer our fingerprints name (Iran's 10.10.34.x)
    "tcp-rst-on-connect",
    "ip-blackhole",
    "http-blockpage-iran",
    "tls-sni-reset",
    "tls-interception",
    "throttle-http",
    "whatsapp-registration-nxdomain",  # a messaging app
    "tor-bridge-rst",
)


def run_lab_demo(
    *, names: Sequence[str], host: str, port: int, data_dir: Path | None, lab_id: str
) -> None:
    """Run the scenarios in a lab into the data folder, remove the lab, serve the folder."""
    try:
        table = load_table(None)
        chosen = select(table, names or DEMO_SCENARIOS)
        wanted = plan(lab_id)
    except TableError as exc:
        raise fail(f"--scenario: {exc}", code=2) from None
    except TopologyError as exc:
        raise fail(f"--lab-id: {exc}", code=2) from None
    shutdowns = [s.name for s in chosen if s.expect_alert is not None]
    if shutdowns:
        raise fail(f"--scenario {shutdowns[0]}: a shutdown scenario (`netvigil lab run`)", 2)
    sock = listening(host, port)
    folder = open_data_dir(data_dir)
    try:
        results = _run_lab(folder, table, chosen, wanted)
    except KeyboardInterrupt:
        sock.close()
        raise fail("interrupted: the lab is removed and nothing is served", code=130) from None
    passed = sum(r.passed for r in results)
    err.print(f"{passed}/{len(results)} scenarios as expected; the lab is removed", markup=False)
    _serve(sock, folder, url_of(host, port).rstrip("/"), table, results)


def _line(result: Result) -> str:
    mark = "[green]pass[/green]" if result.passed else "[red]FAIL[/red]"
    got = result.got[0] if result.got else None
    seen = f"{got.outcome} {got.layer or ''} {got.technique or ''}".strip() if got else "-"
    why = f"  ({escape(result.why)})" if result.why else ""
    return f"{mark} {escape(result.scenario)}: {escape(seen)}{why}"


def _run_lab(
    folder: DataDir, table: Table, chosen: Sequence[Scenario], wanted: Plan
) -> list[Result]:
    run = folder.lab / "runs" / dt.datetime.now(dt.UTC).strftime("demo-%Y%m%dT%H%M%SZ")
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
    )
    results = []
    # Off when stderr is no terminal: a log gets the pass/fail lines and no bar redrawn.
    with Progress(*columns, console=err, transient=True, disable=not err.is_terminal) as progress:
        task = progress.add_task("starting the lab", total=len(chosen))
        try:
            run.mkdir(parents=True, exist_ok=False)
            with lab_running(wanted, folder.lab) as lab:
                geoip = write_geoip(table, "ZZ", run / "geoip-observatory.mmdb")
                world = start_world(
                    lab, run, geoip, networks=table.lab.networks, observatory_dir=folder.root
                )
                for scenario in chosen:
                    progress.update(task, description=f"lab: {scenario.name}")
                    result = run_scenario(lab, world, table, scenario, run)
                    progress.console.print(_line(result), soft_wrap=True, highlight=False)
                    progress.advance(task)
                    results.append(result)
                progress.update(task, description="removing the lab")
        except (LabError, LabStateError, OSError) as exc:
            raise fail(str(exc).splitlines()[0]) from None
    return results


def _serve(
    sock: socket.socket, folder: DataDir, url: str, table: Table, results: Sequence[Result]
) -> None:
    """`netvigil serve --demo` on the folder the lab filled, in the root namespace; its pages
    analyse the lab's range as the observatory inside the lab did (`lab_networks`)."""
    from netvigil.incidents.db import OPEN_ERRORS
    from netvigil.server import create_app
    from netvigil.serving import serve

    refused: tuple[type[Exception], ...] = (OSError, ValueError, DemoError, *OPEN_ERRORS)
    geoip = geoip_of(folder, None)
    try:
        load_demo(folder, geoip, url=url)
        app = create_app(folder.root, geoip=geoip, public_url=url, lab_networks=table.lab.networks)
    except refused as exc:
        raise fail(f"cannot serve the demo: {exc}".splitlines()[0]) from None
    typer.echo(f"netvigil observatory on {url}/ (data in {folder.root}); Ctrl-C stops it")
    typer.echo(f"the lab's network, every lab measurement: {url}/network/AS{LAB_ASN}")
    for result in results:
        for got in result.got[:1]:
            typer.echo(f"  {result.scenario}: {url}/measurement/{got.uid}")
    serve(app, sock)
