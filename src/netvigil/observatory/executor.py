"""Where the per-file work runs: here, in a pool of processes, or on a Dask cluster.

`netvigil ingest` and `netvigil reanalyze` hand the same unit of work (`ingest.ingest_file`:
a file in, Parquet files out, a small `FileResult` back) to `run`, which is the one place that
chooses between a local process pool (the default: JSON decoding and analysis are CPU-bound,
and the GIL would serialise threads) and a Dask cluster (`--executor dask://SCHEDULER`), which
is how the same pipeline scales past one machine (DESIGN.md principle 6).
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from pathlib import Path
from queue import Empty
from typing import Any

import msgspec

from netvigil.observatory.ingest import FileResult, Progress, ingest_file

Done = Callable[[FileResult], None]


class Executor(msgspec.Struct, frozen=True, kw_only=True):
    """`workers` processes on this machine, or the Dask scheduler at `dask` (HOST:PORT)."""

    workers: int = 1
    dask: str | None = None


def run(
    executor: Executor,
    files: list[Path],
    tables: Path,
    done: Done,
    geoip: Path | None = None,
    progress: Progress | None = None,
) -> None:
    """`ingest_file` on each file, `done` told of each result as it comes. Progress within
    a file is reported from local workers only (a Dask worker's bytes are its own)."""
    if executor.dask is not None:
        run_dask(executor.dask, files, tables, done, geoip)
    else:
        run_local(files, tables, executor.workers, done, geoip, progress)


def run_local(
    files: list[Path],
    tables: Path,
    workers: int,
    done: Done,
    geoip: Path | None = None,
    progress: Progress | None = None,
) -> None:
    """Each file in this process (one worker or one file), else in a pool of processes."""
    database = str(geoip) if geoip else None
    if workers <= 1 or len(files) <= 1:
        for path in files:
            done(ingest_file(str(path), str(tables), database, progress))
        return
    context = multiprocessing.get_context()
    queue = context.Queue() if progress is not None else None
    with ProcessPoolExecutor(
        max_workers=min(workers, len(files)),
        mp_context=context,
        initializer=_start_worker,
        initargs=(queue,),
    ) as pool:
        pending = {pool.submit(_in_worker, str(p), str(tables), database) for p in files}
        while pending:
            finished, pending = wait(pending, timeout=0.25, return_when=FIRST_COMPLETED)
            _drain(queue, progress)
            for future in finished:
                done(future.result())


_queue: Any = None  # in a pool worker: where progress goes (set by _start_worker)


def _start_worker(queue: Any) -> None:
    global _queue
    _queue = queue


def _in_worker(path: str, tables: str, geoip: str | None) -> FileResult:
    """The unit of work in a pool worker: its progress goes back through the pool's queue."""
    return ingest_file(path, tables, geoip, _worker_progress if _queue is not None else None)


def _worker_progress(path: str, position: int) -> None:
    _queue.put((path, position))


def _drain(queue: Any, progress: Progress | None) -> None:
    while queue is not None and progress is not None:
        try:
            path, position = queue.get_nowait()
        except Empty:
            return
        progress(path, position)


def run_dask(
    address: str,
    files: list[Path],
    tables: Path,
    done: Done,
    geoip: Path | None = None,
) -> None:
    """The same unit of work on a Dask cluster; its workers must see the same paths."""
    import distributed  # the `dask` extra

    dask: Any = distributed  # an untyped library
    with dask.Client(address) as client:
        futures = client.map(
            ingest_file,
            [str(p) for p in files],
            tables=str(tables),
            geoip=str(geoip) if geoip else None,
            pure=False,
        )
        for future in dask.as_completed(futures):
            done(future.result())
