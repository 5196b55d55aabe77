"""`netvigil serve`: the observatory's one process (collector, probe services, helper)."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from netvigil.probe.command import fail
from netvigil.probe.datadir import DataDirError, ensure, resolve_data_dir

SHOWN_ERRORS = 5  # per file; the rest are counted


def _tables(folder: Path) -> Path:
    return folder / "tables" / "analysis"


def load_demo(folder: Path) -> int:
    """Import the bundled sample of real OONI measurements (CC BY-NC-SA 4.0, see SOURCES.md)."""
    from importlib.resources import as_file, files

    from netvigil.observatory.ingest import ingest_file

    sample = files("netvigil") / "data" / "samples" / "web_connectivity.jsonl.gz"
    with as_file(sample) as path:
        rows = ingest_file(str(path), str(_tables(folder))).rows
    from netvigil.observatory.tables import compact

    compact(_tables(folder))
    return rows


def serve_command(
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="Port.")] = 8000,
    data_dir: Annotated[
        Path | None, typer.Option("--data-dir", help="The observatory's data folder.")
    ] = None,
    allow_private_targets: Annotated[
        bool,
        typer.Option(
            "--allow-private-targets",
            help="Let the test helper reach private addresses (labs and tests only).",
        ),
    ] = False,
    demo: Annotated[
        bool, typer.Option("--demo", help="Load a bundled sample of real OONI measurements.")
    ] = False,
) -> None:
    """Run the observatory: OONI collector, probe services and test helper (/th/)."""
    try:
        import uvicorn

        from netvigil.observatory.app import create_app
    except ImportError:
        raise fail("the server needs the server extra: pip install 'netvigil[server]'") from None
    try:
        folder = ensure(resolve_data_dir(data_dir, os.environ))
    except (DataDirError, OSError) as exc:
        raise fail(str(exc).splitlines()[0]) from None
    empty = not any(_tables(folder).glob("**/*.parquet")) and not (folder / "archive").exists()
    if demo or (
        empty
        and sys.stdin.isatty()
        and typer.confirm(
            "The data folder is empty. Load a sample of real OONI measurements?", default=True
        )
    ):
        typer.echo(f"loaded {load_demo(folder)} sample measurements", err=True)
    elif empty:
        typer.echo(
            "empty data folder: submit measurements, `netvigil ingest FILES`, or "
            "restart with --demo for sample data",
            err=True,
        )
    app = create_app(folder, allow_private_targets=allow_private_targets)
    typer.echo(f"netvigil observatory on http://{host}:{port}/ (data in {folder})", err=True)
    uvicorn.run(
        app,
        host=host,
        port=port,
        access_log=False,
        log_level="warning",
        server_header=False,
        proxy_headers=False,
    )


def ingest_command(
    paths: Annotated[
        list[Path],
        typer.Argument(
            help="OONI files (.json, .jsonl, .jsonl.gz) or folders.", show_default=False
        ),
    ],
    data_dir: Annotated[Path | None, typer.Option("--data-dir", help="The data folder.")] = None,
    workers: Annotated[
        int, typer.Option("--workers", min=0, max=64, help="Processes (0: one per core).")
    ] = 0,
    executor: Annotated[
        str, typer.Option("--executor", help="local, or dask://HOST:PORT to run on a Dask cluster.")
    ] = "local",
) -> None:
    """Import OONI measurement files: analyse them into the observatory's tables."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    from netvigil.observatory.ingest import FileResult, files_of, run_dask, run_local

    try:
        folder = ensure(resolve_data_dir(data_dir, os.environ))
    except (DataDirError, OSError) as exc:
        raise fail(str(exc).splitlines()[0]) from None
    if executor != "local" and not executor.startswith("dask://"):
        raise fail(f"--executor: expected local or dask://HOST:PORT, got {executor!r}")
    targets = files_of(paths)
    console = Console(stderr=True)
    totals = {"rows": 0, "errors": 0}
    with Progress(
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
        disable=not console.is_terminal,
    ) as progress:
        task = progress.add_task("files", total=len(targets))

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
            if executor == "local":
                run_local(targets, _tables(folder), workers or os.cpu_count() or 1, done)
            else:
                run_dask(executor.removeprefix("dask://"), targets, _tables(folder), done)
        except OSError as exc:
            raise fail(f"cannot reach the executor: {exc}".splitlines()[0]) from None
    if totals["rows"]:
        from netvigil.observatory.tables import compact

        compact(_tables(folder))  # a re-import leaves two rows for a measurement: keep one
    console.print(
        f"imported {totals['rows']} measurements from {len(targets)} file(s), "
        f"{totals['errors']} error(s)",
        highlight=False,
    )
    if totals["rows"] == 0:
        raise typer.Exit(1)
