"""The `netvigil` command: every command group, registered here and nowhere else.

Each group lives in its own module of this package (analyze, probe, results, th, serve,
bulk, incidents and the incident modules, lab) and only defines functions; this module builds the
Typer apps and adds the commands to them in the order `--help` lists them. Output rules and
exit codes: README, "Exit codes". Plain help (rich_markup_mode=None) everywhere: Rich's help
shows a `<bool>` type column even for flags and --help.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer
import typer.core

from netvigil import __version__
from netvigil.cli import (
    analyze,
    bulk,
    demo,
    detect,
    incident_admin,
    incident_exchange,
    incident_publishing,
    incidents,
    lab,
    probe,
    probe_daemon,
    results,
    serve,
    th,
)


def _arguments_show_only_their_metavar() -> None:
    """Typer prints an argument's Python type beside its metavar (`FILE <list[Path]>`,
    fastapi/typer#1156); as for options, the metavar alone names the value."""
    shown = typer.core.TyperArgument.display_type_rich

    def display_type(self: typer.core.TyperArgument, ctx: Any) -> str | None:
        return None if self.metavar else shown(self, ctx)

    typer.core.TyperArgument.display_type_rich = display_type  # type: ignore[method-assign,assignment]


_arguments_show_only_their_metavar()
app = typer.Typer(
    name="netvigil",
    help="An open observatory for Internet censorship and shutdowns, interoperable with OONI.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"netvigil {__version__}")
        raise typer.Exit()


@app.callback()
def main_callback(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = False,
) -> None:
    """Measure, analyse, detect and share evidence of Internet censorship."""


def _group(help_text: str) -> typer.Typer:
    return typer.Typer(help=help_text, no_args_is_help=True, rich_markup_mode=None)


app.command("analyze")(analyze.analyze)
app.command("demo")(demo.demo_command)

probe_app = _group("Measure websites from this network (Web Connectivity).")
probe_app.command("run")(probe.run_command)
probe_app.command("list")(results.list_command)
probe_app.command("show")(results.show_command)
probe_app.command("upload")(results.upload_command)
probe_app.command("daemon")(probe_daemon.daemon_command)
app.add_typer(probe_app, name="probe")

th_app = _group("The test helper: the control vantage probes compare with.")
th_app.command("serve")(th.serve_command)
app.add_typer(th_app, name="th")

incidents_app = _group("Incidents: claims of violations with evidence, shared at graded levels.")
incidents_app.command("create")(incidents.create_command)
incidents_app.command("list")(incidents.list_command)
incidents_app.command("show")(incidents.show_command)
incidents_app.command("org")(incident_admin.org_command)
incidents_app.command("member")(incident_admin.member_command)
incidents_app.command("key")(incident_admin.key_command)
incidents_app.command("group")(incident_admin.group_command)
incidents_app.command("export")(incident_exchange.export_command)
incidents_app.command("verify")(incident_exchange.verify_command)
incidents_app.command("publish")(incident_publishing.publish_command)
incidents_app.command("retract")(incident_publishing.retract_command)
app.add_typer(incidents_app, name="incidents")

app.command("serve")(serve.serve_command)
app.command("ingest")(bulk.ingest_command)
app.command("reanalyze")(bulk.reanalyze_command)
app.command("detect")(detect.detect_command)

lab_app = _group("The censorship lab: network namespaces where a censor sits on the path.")
lab_app.command("up")(lab.up_command)
lab_app.command("run")(lab.run_command)
lab_app.command("down")(lab.down_command)
lab_app.command("list")(lab.list_command)
app.add_typer(lab_app, name="lab")


def main() -> None:
    app()
