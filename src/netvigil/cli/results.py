"""The probe's results for people: `probe list`, `show`, `upload` and where a run's results went
(the verdicts at the end of `probe run` are cli/probe_summary.py's).

Each run of `probe run` writes one JSONL file in the data folder's `results/`; its name
(the run's UTC start, `YYYYMMDDTHHMMSSZ`) is the result's id (netvigil.probe.results).
Listing and showing touch no network; reading goes through the project's readers, so a
damaged file gives per-line errors rather than a traceback. What is for machines goes to
stdout (JSON lines), what is for the person to stderr, so --json output stays clean.
"""

from __future__ import annotations

import asyncio
import os
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated

import msgspec
import typer
from rich.console import Console
from rich.table import Table

from netvigil.cli.console import err, fail, open_data_dir
from netvigil.cli.probe_options import check_ca_file, is_http_url
from netvigil.datadir import DataDir
from netvigil.net.backend import AsyncioBackend, Backend
from netvigil.probe.results import results, summarize
from netvigil.probe.upload import upload
from netvigil.readers import Item, ReadError, read_path
from netvigil.records import AnyMeasurement

JsonOpt = Annotated[bool, typer.Option("--json", help="JSON lines instead of a table.")]
DataDirOpt = Annotated[
    Path | None,
    typer.Option("--data-dir", metavar="DIR", help="The data folder (default: $NETVIGIL_HOME)."),
]


def list_command(as_json: JsonOpt = False, data_dir: DataDirOpt = None) -> None:
    """List the results of earlier runs, newest last."""
    summaries = [summarize(p) for p in results(open_data_dir(data_dir).results)]
    if as_json or not sys.stdout.isatty():
        for summary in summaries:
            sys.stdout.buffer.write(msgspec.json.encode(summary) + b"\n")
        return
    table = Table("result", "measurements", "blocked", "accessible", "unreadable")
    for s in summaries:
        table.add_row(
            s.id, str(s.measurements), str(s.blocked), str(s.accessible), str(s.unreadable)
        )
    Console(emoji=False).print(table)


def show_command(
    result: Annotated[
        str, typer.Argument(metavar="RESULT", help="A result id from `netvigil probe list`.")
    ],
    as_json: JsonOpt = False,
    data_dir: DataDirOpt = None,
) -> None:
    """Show the measurements of one result."""
    folder = open_data_dir(data_dir).results
    path = folder / f"{os.path.basename(result)}.jsonl"
    if not path.is_file():
        raise fail(f"no result {result!r} (see `netvigil probe list`)")
    items = list(read_path(path))
    if as_json or not sys.stdout.isatty():
        for item in items:
            line = msgspec.json.encode(item.measurement if isinstance(item, Item) else item)
            sys.stdout.buffer.write(line + b"\n")
        return
    table = Table("URL", "blocking", "accessible", "failure")
    for item in items:
        if isinstance(item, ReadError):
            table.add_row(item.describe(), "", "", "")
            continue
        keys = item.measurement.test_keys_object() or {}
        failure = keys.get("http_experiment_failure") or keys.get("dns_experiment_failure") or ""
        table.add_row(
            item.measurement.url,
            str(keys.get("blocking")),
            str(keys.get("accessible")),
            str(failure),
        )
    Console(emoji=False).print(table)


def upload_hint(folder: DataDir) -> str:
    return f"netvigil probe upload --collector URL --data-dir {shlex.quote(str(folder.root))}"


def upload_results(
    files: list[Path], collector: str, backend: Backend, folder: DataDir, ca_file: str | None
) -> None:
    """Submit results to a collector; what fails stays for a later `probe upload`."""
    summary = asyncio.run(upload(files, collector, backend, folder.uploaded, ca_file=ca_file))
    message = f"uploaded {summary.uploaded}, already uploaded {summary.already} ({collector})"
    if summary.uids:
        message += f"\nmeasurement uid(s): {', '.join(summary.uids)}"
    if summary.failed:
        message += (
            f"\n{summary.failed} kept for later ({summary.last_error}): upload them with "
            f"`{upload_hint(folder)}`"
        )
    err.print(message, soft_wrap=True, highlight=False, markup=False)
    if summary.failed and not summary.uploaded:
        raise typer.Exit(1)


def upload_command(
    collector: Annotated[
        str, typer.Option("--collector", metavar="URL", help="The collector, e.g. https://host/.")
    ],
    data_dir: DataDirOpt = None,
    ca_file: Annotated[
        Path | None,
        typer.Option("--ca-file", metavar="FILE.pem", help="CA bundle (PEM) to validate TLS with."),
    ] = None,
) -> None:
    """Submit the measurements not uploaded yet (they keep their own start times)."""
    if not is_http_url(collector):
        raise fail(f"--collector: expected an http:// or https:// URL, got {collector!r}")
    ca = check_ca_file(ca_file)
    folder = open_data_dir(data_dir)
    upload_results(results(folder.results), collector, AsyncioBackend(), folder, ca)


def where_results_went(
    results: Sequence[AnyMeasurement], result_file: Path, output: Path | None
) -> None:
    """Where the measurements are and their ids (stderr: --json keeps stdout for data)."""
    if not results:
        err.print(f"no measurement was made; result {result_file.stem} is empty", markup=False)
        return
    also = f" and {output}" if output is not None else ""
    reports = sorted({m.report_id for m in results if m.report_id})
    err.print(
        f"saved {len(results)} measurement(s) to {result_file}{also}\n"
        f"result id: {result_file.stem} (see `netvigil probe show {result_file.stem}`); "
        f"report id: {', '.join(reports)} (a collector gives its own ids on upload)",
        soft_wrap=True,
        markup=False,
        highlight=False,
    )
