"""`netvigil demo`: the bundled sample analysed offline, and as root the censorship lab too.

Anywhere, `netvigil demo` analyses the bundled sample of real OONI measurements and exits
(cli/analyze.py's output: a table, or JSON lines with --json or when piped). As root on
Linux, with the lab's tools present, it also shows censorship happening: it runs a set of lab
scenarios into a data folder and then serves that folder's explorer (cli/demo_lab.py), so a
newcomer sees real detections of a real censor. It serves until Ctrl-C, so `--json`, which
scripts use for the offline analysis, never starts the lab, and neither does `--no-lab`.

When the lab cannot run here the offline demo runs as before, after one line saying why
(not root; a missing tool, with what to install; a missing extra). With --json that line is
left out too, so a script's stderr is what it always was.
"""

from __future__ import annotations

import os
import shutil
import sys
from importlib.util import find_spec
from pathlib import Path
from typing import Annotated, Final

import typer

from netvigil.cli.analyze import FingerprintsOpt, JsonOpt, run_analysis
from netvigil.cli.console import HostOpt, PortOpt, err
from netvigil.readers import read_path

__all__ = ["demo_command", "lab_refusal"]

TOOLS: Final = ("ip", "nft", "iptables", "tc")  # what the lab's plan and censor run
INSTALL: Final = "Debian: apt-get install iproute2 nftables iptables"
NOT_ROOT: Final = (
    "as root on Linux, `netvigil demo` also runs the censorship lab (a censor in network "
    "namespaces, our probe measuring through it) and serves the explorer showing what it detected"
)


def lab_refusal() -> str | None:
    """Why the lab demo cannot run on this machine (one line), or None when it can."""
    if not sys.platform.startswith("linux") or os.geteuid() != 0:
        return NOT_ROOT
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if missing:
        return (
            f"the censorship lab needs {', '.join(missing)} ({INSTALL}); "
            "showing the offline demo only"
        )
    if find_spec("mmdb_writer") is None or find_spec("uvicorn") is None:
        return (
            "the censorship lab needs the lab extra (pip install 'netvigil[lab]'); "
            "showing the offline demo only"
        )
    return None


def demo_command(
    as_json: JsonOpt = False,
    fingerprints: FingerprintsOpt = None,
    no_lab: Annotated[
        bool, typer.Option("--no-lab", help="Only the offline analysis, even as root.")
    ] = False,
    scenarios: Annotated[
        list[str] | None,
        typer.Option(
            "--scenario",
            metavar="NAME",
            help="As root: run this lab scenario (repeatable; default: a set showing each layer; "
            "`netvigil lab list` names them all).",
        ),
    ] = None,
    host: HostOpt = "127.0.0.1",
    port: PortOpt = 8000,
    data_dir: Annotated[
        Path | None,
        typer.Option(
            "--data-dir",
            metavar="DIR",
            help="As root: the folder the lab's observatory fills and the explorer serves "
            "(default: $NETVIGIL_HOME).",
        ),
    ] = None,
    lab_id: Annotated[
        str,
        typer.Option("--lab-id", metavar="ID", help="As root: the lab's id (1-8 a-z, 0-9)."),
    ] = "demo",
) -> None:
    """Analyse the bundled sample of real OONI measurements from several countries; as root,
    also run the censorship lab and serve the explorer showing what it detected.

    The sample is OONI's data (CC BY-NC-SA 4.0); its SOURCES.md names each measurement.
    """
    if not (as_json or no_lab):
        why = lab_refusal()
        if why is None:
            from netvigil.cli.demo_lab import run_lab_demo

            run_lab_demo(
                names=scenarios or (), host=host, port=port, data_dir=data_dir, lab_id=lab_id
            )
            return
        err.print(why, soft_wrap=True, markup=False)
    from netvigil.samples import sample_path, sources_note

    with sample_path() as path:
        err.print(sources_note(sum(1 for _ in read_path(path))), soft_wrap=True, markup=False)
        run_analysis(
            [path], classic=False, as_json=as_json, strict=False, fingerprints=fingerprints
        )
