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
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

from netvigil.observatory.command import GeoipOpt, geoip_of, tables_of
from netvigil.observatory.ingest import FileResult
from netvigil.probe.command import fail
from netvigil.probe.datadir import DataDirError, ensure, resolve_data_dir

SHOWN_ERRORS = 5  # per file; the rest are counted

DataDirOpt = Annotated[Path | None, typer.Option("--data-dir", help="The data folder.")]
WorkersOpt = Annotated[
    int, typer.Option("--workers", min=0, max=64, help="Processes (0: one per core).")
]
ExecutorOpt = Annotated[
    str, typer.Option("--executor", help="local, or dask://HOST:PORT to run on a Dask cluster.")
]


def _folder(data_dir: Path | None) -> Path:
    try:
        return ensure(resolve_data_dir(data_dir, os.environ))
    except (DataDirError, OSError) as exc:
        raise fail(str(exc).splitlines()[0]) from None


def _check_executor(executor: str) -> None:
    if executor != "local" and not executor.startswith("dask://"):
        raise fail(f"--executor: expected local or dask://HOST:PORT, got {executor!r}")


@contextmanager
def _reporting(
    console: Console, files: int, totals: dict[str, int]
) -> Iterator[Callable[[FileResult], None]]:
    """A `done` callback that advances the bar and prints the file's errors."""
    with Progress(
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
        disable=not console.is_terminal,
    ) as progress:
        task = progress.add_task("files", total=files)

        def done(result: FileResult) -> None:
            totals["rows"] += result.rows
            totals["errors"] += len(result.errors)
            for problem in result.errors[:SHOWN_ERRORS]:
                console.print(f"[red]error:[/red] {problem}", soft_wrap=True, highlight=False)
            if len(result.errors) > SHOWN_ERRORS:
                hidden = len(result.errors) - SHOWN_ERRORS
                console.print(f"[red]error:[/red] {result.source}: {hidden} more", highlight=False)
            progress.advance(task)

        try:
            yield done
        except OSError as exc:
            raise fail(f"cannot reach the executor: {exc}".splitlines()[0]) from None


def ingest_command(
    paths: Annotated[
        list[Path],
        typer.Argument(
            help="OONI files (.json, .jsonl, .jsonl.gz) or folders.", show_default=False
        ),
    ],
    data_dir: DataDirOpt = None,
    workers: WorkersOpt = 0,
    executor: ExecutorOpt = "local",
    geoip_db: GeoipOpt = None,
) -> None:
    """Import OONI measurement files: analyse them into the observatory's tables."""
    from netvigil.observatory.ingest import files_of, run_dask, run_local
    from netvigil.observatory.tables import compact

    folder = _folder(data_dir)
    _check_executor(executor)
    geoip = geoip_of(folder, geoip_db)
    targets = files_of(paths)
    console = Console(stderr=True)
    totals = {"rows": 0, "errors": 0}
    with _reporting(console, len(targets), totals) as done:
        if executor == "local":
            run_local(targets, tables_of(folder), workers or os.cpu_count() or 1, done, geoip)
        else:
            run_dask(executor.removeprefix("dask://"), targets, tables_of(folder), done, geoip)
    if totals["rows"]:
        compact(tables_of(folder))  # a re-import leaves two rows for a measurement: keep one
    console.print(
        f"imported {totals['rows']} measurements from {len(targets)} file(s), "
        f"{totals['errors']} error(s)",
        highlight=False,
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

    folder = _folder(data_dir)
    _check_executor(executor)
    geoip = geoip_of(folder, geoip_db)
    todo = plan(tables_of(folder), everything=everything)
    console = Console(stderr=True)
    if todo.unknown:
        console.print(
            f"warning: {todo.unknown} row(s) have no recorded source; import their files again",
            highlight=False,
        )
    totals = {"rows": 0, "errors": 0}
    with _reporting(console, len(todo.files), totals) as done:
        written = reanalyse(
            folder,
            todo,
            workers=workers or os.cpu_count() or 1,
            executor=executor,
            geoip=geoip,
            done=done,
        )
    console.print(
        f"re-analysed {written} measurements with rules {RULES_VERSION} "
        f"({todo.stale} were older; {len(todo.files)} file(s), {totals['errors']} error(s))",
        highlight=False,
    )
    if totals["errors"]:
        raise typer.Exit(1)
