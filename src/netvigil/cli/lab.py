"""`netvigil lab up | run | down | list`: the censorship lab's namespaces, made and removed,
and its scenarios, listed and run end to end.

`up` creates one lab's three namespaces (lab/topology.py) and returns, leaving them in place
and recorded in the data folder's `lab/`; `down` removes every recorded lab, then any
namespace named `nvlab-…` whose record was lost; `run` brings a lab up, runs scenarios
through the probe, the collector, the pipeline, the API and the explorer (cli/lab_run.py),
and removes the lab. All three need Linux and root (network
namespaces); anywhere else they say so in one line and do nothing (exit 2, as for any usage
the command cannot serve). `list` reads the scenario table (lab/scenarios.py) and needs
neither.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import sys
from pathlib import Path
from typing import Annotated

import msgspec
import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

from netvigil.cli.console import err, fail, open_data_dir
from netvigil.cli.lab_run import run_all
from netvigil.cli.lab_world import start_world
from netvigil.lab.lab_geoip import write_geoip
from netvigil.lab.labstate import LabStateError
from netvigil.lab.netns import Lab, LabError, down_recorded, lab_running
from netvigil.lab.scenario_result import Result
from netvigil.lab.scenarios import TableError, load_table, select, summary
from netvigil.lab.topology import RESOLVER, Plan, TopologyError, plan

NEEDS: str = "netvigil lab needs Linux and root: it creates network namespaces"

IdOpt = Annotated[
    str,
    typer.Option("--id", metavar="ID", help="The lab's id (1-8 lowercase letters or digits)."),
]
DataDirOpt = Annotated[
    Path | None,
    typer.Option("--data-dir", metavar="DIR", help="The data folder (default: $NETVIGIL_HOME)."),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="One JSON object on stdout.")]
TableOpt = Annotated[
    Path | None,
    typer.Option("--table", metavar="FILE", help="A scenario table (default: the bundled one)."),
]
ScenariosArg = Annotated[
    list[str] | None,
    typer.Argument(metavar="SCENARIO", help="Only these scenarios (default: all)."),
]


class Made(msgspec.Struct, frozen=True, kw_only=True):
    """What `lab up --json` prints: the plan's names and addresses."""

    lab_id: str
    namespaces: dict[str, str]
    links: list[tuple[str, str]]
    client: str
    server: str
    resolver: str
    sites: str


def _can_make_namespaces() -> None:
    if not sys.platform.startswith("linux") or os.geteuid() != 0:
        raise fail(NEEDS, code=2)
    if shutil.which("ip") is None:
        raise fail("netvigil lab needs the `ip` command (Debian: apt-get install iproute2)", 2)


def _made(lab: Plan) -> Made:
    return Made(
        lab_id=lab.lab_id,
        namespaces={"client": lab.client, "censor": lab.censor, "server": lab.server},
        links=[(f"{k.namespace}/{k.name}", f"{k.peer_namespace}/{k.peer}") for k in lab.links],
        client=lab.client_address,
        server=lab.server_address,
        resolver=RESOLVER,
        sites=f"{lab.site_addresses[0]}-{lab.site_addresses[-1]}",
    )


def up_command(lab_id: IdOpt = "1", data_dir: DataDirOpt = None, as_json: JsonOpt = False) -> None:
    """Create a lab's namespaces (client, censor, server) and leave them up."""
    _can_make_namespaces()
    try:
        wanted = plan(lab_id)
    except TopologyError as exc:
        raise fail(f"--id: {exc}", code=2) from None
    folder = open_data_dir(data_dir).lab
    try:
        Lab(wanted, folder).up()
    except (LabError, LabStateError) as exc:
        raise fail(str(exc)) from None
    made = _made(wanted)
    if as_json:
        typer.echo(msgspec.json.encode(made).decode())
        return
    typer.echo(f"lab {made.lab_id} is up (netvigil lab down removes it)")
    for role, name in made.namespaces.items():
        typer.echo(f"  namespace {name} ({role})")
    for one, other in made.links:
        typer.echo(f"  veth {one} <-> {other}")
    typer.echo(f"  client {made.client} -> censor -> server {made.server}")
    typer.echo(f"  resolver {made.resolver}, sites {made.sites}")


def down_command(
    lab_id: Annotated[
        str | None,
        typer.Option("--id", metavar="ID", help="Only this lab (default: every lab)."),
    ] = None,
    data_dir: DataDirOpt = None,
) -> None:
    """Remove the labs' namespaces and stop their processes (also after a crash)."""
    _can_make_namespaces()
    try:
        if lab_id is not None:
            plan(lab_id)
    except TopologyError as exc:
        raise fail(f"--id: {exc}", code=2) from None
    try:
        removed, problems = down_recorded(open_data_dir(data_dir).lab, lab_id)
    except (LabError, OSError) as exc:
        raise fail(str(exc)) from None
    for problem in problems:
        typer.echo(f"warning: {problem} (removed; its namespaces were found by name)", err=True)
    if not removed.namespaces and not removed.processes:
        typer.echo("no lab was up: nothing to remove")
    for name in removed.namespaces:
        typer.echo(f"removed namespace {name}")
    for pid in removed.processes:
        typer.echo(f"stopped process {pid}")
    if removed.stuck:
        stuck = ", ".join(str(p) for p in removed.stuck)
        raise fail(f"processes {stuck} did not end even on SIGKILL")


def _line(result: Result) -> str:
    mark = "[green]pass[/green]" if result.passed else "[red]FAIL[/red]"
    got = result.got[0] if result.got else None
    seen = f"{got.outcome} {got.layer or ''} {got.technique or ''}".strip() if got else "-"
    took = f"{result.seconds:.1f} s" if result.seconds is not None else ""
    why = f"  ({result.why})" if result.why else ""
    return f"{mark} {result.scenario}: {seen}  {took}{why}"


def run_command(
    names: ScenariosArg = None,
    table: TableOpt = None,
    lab_id: Annotated[
        str,
        typer.Option(
            "--id", metavar="ID", help="The run's lab id (1-8 lowercase letters or digits)."
        ),
    ] = "run",
    data_dir: DataDirOpt = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="One JSON object per scenario: scenario, passed, ...")
    ] = False,
    capture: Annotated[
        Path | None,
        typer.Option(
            "--capture",
            metavar="DIR",
            help="Keep a packet capture of each probe run, DIR/SCENARIO.pcap (tcpdump in client).",
        ),
    ] = None,
) -> None:
    """Run scenarios end to end: censor, probe, collector, pipeline, API and explorer."""
    try:
        loaded = load_table(table)
        chosen = select(loaded, names or ())
        wanted = plan(lab_id)
    except TableError as exc:
        raise fail(str(exc), code=2) from None
    except TopologyError as exc:
        raise fail(f"--id: {exc}", code=2) from None
    _can_make_namespaces()
    base = open_data_dir(data_dir).lab
    folder = base / "runs" / dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    results: list[Result] = []
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total} scenarios"),
        TimeRemainingColumn(),
    )
    progress = Progress(*columns, console=err, transient=True, disable=not err.is_terminal)

    def each(result: Result) -> None:
        results.append(result)
        if as_json:
            typer.echo(msgspec.json.encode(result).decode())
        else:
            progress.console.print(_line(result), soft_wrap=True, highlight=False)
        progress.advance(task)

    try:
        folder.mkdir(parents=True, exist_ok=False)
        with progress, lab_running(wanted, base) as lab:
            task = progress.add_task("bringing the lab up", total=len(chosen))
            geoip = write_geoip(loaded, "ZZ", folder / "geoip-observatory.mmdb")
            world = start_world(lab, folder, geoip, table, networks=loaded.lab.networks)
            progress.update(task, description="running")
            run_all(lab, world, loaded, chosen, folder, each, capture)
    except (LabError, LabStateError, OSError) as exc:
        raise fail(str(exc).splitlines()[0]) from None
    passed = sum(r.passed for r in results)
    if not as_json:
        typer.echo(f"{passed}/{len(results)} scenarios passed; the run's files: {folder}")
    if passed < len(results):
        raise typer.Exit(1)


def list_command(
    names: ScenariosArg = None,
    table: TableOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
) -> None:
    """The lab's scenarios: nettest and inputs, the censor's rules, the verdict expected."""
    try:
        chosen = select(load_table(table), names or ())
    except TableError as exc:
        raise fail(str(exc), code=2) from None
    for scenario in chosen:
        if as_json:
            typer.echo(msgspec.json.encode(scenario).decode())
        else:
            typer.echo(summary(scenario))
