"""`netvigil probe list` and `netvigil probe show`: the local results, as ooniprobe's are.

Each run of `probe run` writes one JSONL file in the data folder's `results/`; its name
(the run's UTC start, `YYYYMMDDTHHMMSSZ`) is the result's id. Nothing here touches the
network; reading goes through the project's readers, so a damaged file gives per-line
errors rather than a traceback.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections import Counter
from pathlib import Path
from typing import Annotated

import msgspec
import typer
from rich.console import Console
from rich.table import Table

from netvigil.cli.console import err, fail, open_data_dir
from netvigil.cli.probe import _is_http_url, check_ca_file, upload_hint
from netvigil.datadir import DataDir
from netvigil.net.backend import AsyncioBackend, Backend
from netvigil.probe.upload import upload
from netvigil.readers import Item, ReadError, read_path


class ResultSummary(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    measurements: int
    blocked: int  # OONI's classic `blocking` is a string
    accessible: int
    unreadable: int


def summarize(path: Path) -> ResultSummary:
    counts: Counter[str] = Counter()
    for item in read_path(path):
        if isinstance(item, ReadError):
            counts["unreadable"] += 1
            continue
        counts["measurements"] += 1
        keys = item.measurement.test_keys_object() or {}
        counts["blocked"] += isinstance(keys.get("blocking"), str)
        counts["accessible"] += keys.get("accessible") is True
    return ResultSummary(
        id=path.stem,
        **{k: counts[k] for k in ("measurements", "blocked", "accessible", "unreadable")},
    )


def results(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.jsonl")) if folder.is_dir() else []


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


def upload_results(
    files: list[Path], collector: str, backend: Backend, folder: DataDir, ca_file: str | None
) -> None:
    """Submit results to a collector; what fails stays for a later `probe upload`."""
    summary = asyncio.run(
        upload(files, collector, backend, folder.root / "uploaded.jsonl", ca_file=ca_file)
    )
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
    if not _is_http_url(collector):
        raise fail(f"--collector: expected an http:// or https:// URL, got {collector!r}")
    ca = check_ca_file(ca_file)
    folder = open_data_dir(data_dir)
    upload_results(results(folder.results), collector, AsyncioBackend(), folder, ca)
