"""`netvigil ingest` and `netvigil reanalyze`: bulk work over files, with one report style.

Both run the same per-file function (`ingest.ingest_file`) on a process pool or a Dask
cluster, show a progress bar with ETA on a terminal, print each file's first errors (one
line each) and a one-line summary, and compact the tables at the end.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from netvigil.cli.console import fail, open_data_dir
from netvigil.cli.serve import GeoipOpt, check_geoip, geoip_of
from netvigil.datadir import DataDir, DataDirError, resolve_data_dir
from netvigil.observatory.executor import Executor
from netvigil.observatory.ingest import FileResult

SHOWN_ERRORS = 5  # per file; the rest are counted

DataDirOpt = Annotated[
    Path | None,
    typer.Option("--data-dir", metavar="DIR", help="The data folder (default: $NETVIGIL_HOME)."),
]
WorkersOpt = Annotated[
    int,
    typer.Option("--workers", metavar="N", min=0, max=64, help="Processes (0: one per core)."),
]
ExecutorOpt = Annotated[
    str,
    typer.Option(
        "--executor",
        metavar="local|dask://HOST:PORT",
        help="Where the per-file work runs: here (local), or on a Dask cluster "
        "(needs the dask extra: pip install 'netvigil[dask]').",
    ),
]


def _existing_folder(data_dir: Path | None) -> DataDir:
    """The data folder, which must exist: re-analysis of a mistyped path creates nothing."""
    try:
        folder = resolve_data_dir(data_dir, os.environ)
    except DataDirError as exc:
        raise fail(str(exc).splitlines()[0]) from None
    if not folder.is_dir():
        raise fail(
            f"--data-dir: no data folder at {folder} (nothing to re-analyse; "
            "`netvigil ingest` or `netvigil serve` creates one)"
        )
    return DataDir(root=folder)


def _executor(executor: str, workers: int) -> Executor:
    """The `--executor` and `--workers` options, or one line saying what is wrong."""
    if executor != "local" and not executor.startswith("dask://"):
        raise fail(f"--executor: expected local or dask://HOST:PORT, got {executor!r}")
    if executor.startswith("dask://"):
        if not executor.removeprefix("dask://"):
            raise fail("--executor: expected dask://HOST:PORT, with the scheduler's address")
        try:
            import distributed  # noqa: F401 - the `dask` extra
        except ImportError:
            raise fail(
                "--executor dask://: Dask is not installed: pip install 'netvigil[dask]'"
            ) from None
        return Executor(dask=executor.removeprefix("dask://"))
    return Executor(workers=workers or os.cpu_count() or 1)


def _size(path: str) -> int:
    try:
        return os.stat(path).st_size
    except OSError:
        return 0  # a missing file is a per-file error, reported when it is read


class _Bar:
    """Progress in bytes of the input files: one large file moves the bar and has an ETA."""

    def __init__(self, progress: Progress, files: list[str]) -> None:
        self.progress = progress
        self.sizes = {name: _size(name) for name in files}
        self.read = dict.fromkeys(self.sizes, 0)
        self.finished = 0
        self.task = progress.add_task(
            "files", total=sum(self.sizes.values()), files=f"0/{len(files)} files"
        )

    def advance(self, name: str, position: int) -> None:
        if name in self.read and position > self.read[name]:
            self.read[name] = min(position, self.sizes[name])
            self.progress.update(self.task, completed=sum(self.read.values()))

    def file_done(self, name: str) -> None:
        self.finished += 1
        self.advance(name, self.sizes.get(name, 0))
        self.progress.update(self.task, files=f"{self.finished}/{len(self.sizes)} files")


@contextmanager
def _reporting(
    console: Console, files: list[str], totals: dict[str, int]
) -> Iterator[tuple[Callable[[FileResult], None], Callable[[str, int], None]]]:
    """A `done` callback that advances the bar and prints the file's errors, and the
    `progress` callback for bytes read within a file."""
    with Progress(
        TextColumn("{task.fields[files]}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
        disable=not console.is_terminal,
    ) as progress:
        bar = _Bar(progress, files)

        def done(result: FileResult) -> None:
            totals["rows"] += result.rows
            totals["errors"] += len(result.errors)
            for problem in result.errors[:SHOWN_ERRORS]:
                console.print(
                    f"[red]error:[/red] {escape(problem)}", soft_wrap=True, highlight=False
                )
            if len(result.errors) > SHOWN_ERRORS:
                hidden = len(result.errors) - SHOWN_ERRORS
                console.print(
                    f"[red]error:[/red] {escape(result.source)}: {hidden} more",
                    highlight=False,
                    soft_wrap=True,
                )
            bar.file_done(result.source)

        try:
            yield done, bar.advance
        except OSError as exc:
            raise fail(f"cannot reach the executor: {exc}".splitlines()[0]) from None


def ingest_command(
    paths: Annotated[
        list[Path],
        typer.Argument(
            metavar="FILE",
            help="OONI files (.json, .jsonl, .jsonl.gz) or folders.",
            show_default=False,
        ),
    ],
    data_dir: DataDirOpt = None,
    workers: WorkersOpt = 0,
    executor: ExecutorOpt = "local",
    geoip_db: GeoipOpt = None,
) -> None:
    """Import OONI measurement files: analyse them into the observatory's tables.

    A measurement already stored (same uid) is counted as a duplicate and kept once.
    """
    import datetime as dt

    from netvigil.observatory.executor import run
    from netvigil.observatory.ingest import count_new, files_of
    from netvigil.observatory.tables import compact

    where = _executor(executor, workers)
    if geoip_db is not None:
        check_geoip(geoip_db)  # before the data folder is created
    folder = open_data_dir(data_dir)
    geoip = geoip_of(folder, geoip_db)
    targets = files_of(paths)
    console = Console(stderr=True, emoji=False)
    totals = {"rows": 0, "errors": 0}
    since = dt.datetime.now(dt.UTC)
    with _reporting(console, [str(p) for p in targets], totals) as (done, progress):
        run(where, targets, folder.tables, done, geoip, progress)
    new = count_new(folder.tables, targets, since) if totals["rows"] else 0
    if totals["rows"]:
        compact(folder.tables)  # a re-import leaves two rows for a measurement: keep one
    console.print(
        f"imported {totals['rows']} measurements from {len(targets)} file(s): "
        f"{new} new, {totals['rows'] - new} duplicate(s) of stored ones, "
        f"{totals['errors']} error(s)",
        highlight=False,
        soft_wrap=True,
    )
    if totals["rows"] == 0:
        raise typer.Exit(1)


def reanalyze_command(
    data_dir: DataDirOpt = None,
    everything: Annotated[
        bool,
        typer.Option("--all", help="Re-analyse every measurement, not only older rules' rows."),
    ] = False,
    workers: WorkersOpt = 0,
    executor: ExecutorOpt = "local",
    geoip_db: GeoipOpt = None,
) -> None:
    """Re-analyse stored measurements with the current rules, replacing their rows."""
    from netvigil.analysis.verdicts import RULES_VERSION
    from netvigil.observatory.reanalysis import plan, reanalyse

    where = _executor(executor, workers)
    folder = _existing_folder(data_dir)
    geoip = geoip_of(folder, geoip_db)
    todo = plan(folder.tables, everything=everything)
    console = Console(stderr=True, emoji=False)
    if todo.unknown:
        console.print(
            f"warning: {todo.unknown} row(s) have no recorded source; import their files again",
            highlight=False,
        )
    totals = {"rows": 0, "errors": 0}
    with _reporting(console, list(todo.files), totals) as (done, _):
        written = reanalyse(folder, todo, executor=where, geoip=geoip, done=done)
    console.print(
        f"re-analysed {written} measurements with rules {RULES_VERSION} "
        f"({todo.stale} were older; {len(todo.files)} file(s), {totals['errors']} error(s))",
        highlight=False,
        soft_wrap=True,
    )
    if totals["errors"]:
        raise typer.Exit(1)
