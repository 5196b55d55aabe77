"""The run itself: each nettest in turn, every measurement written the moment it is made.

One result file per run (probe/results.py) and `--output` receive every measurement of
every nettest of the run, one JSON line each, scrubbed of the probe's address (the
`Scrubber` of cli/probe.py: every textual form, netvigil.scrub) before it touches the disk,
and flushed at once, so a run cut short by --max-runtime or Ctrl-C keeps what completed.
web_connectivity runs on its own runner (probe/runner.py: per-host politeness, its test
helper); the others on the generic one (probe/nettest_runner.py). --max-runtime bounds the
whole run: each nettest gets what is left of it.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import msgspec
import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from netvigil.cli.console import err, fail
from netvigil.cli.probe_nettests import Plan
from netvigil.datadir import DataDir
from netvigil.net.backend import Backend
from netvigil.probe.nettest import EndpointError
from netvigil.probe.nettest_runner import NettestConfig, run_nettest
from netvigil.probe.results import new_result
from netvigil.probe.runner import RunConfig, run
from netvigil.records import AnyMeasurement
from netvigil.scrub import Scrubber


class Work(msgspec.Struct, frozen=True, kw_only=True):
    """What to measure: web_connectivity's URLs, and each other nettest's inputs."""

    urls: Sequence[str] = ()
    inputs: dict[str, list[str]] = {}


def execute(
    plan: Plan,
    work: Work,
    backend: Backend,
    configs: tuple[RunConfig, NettestConfig],
    scrubber: Scrubber,
    folder: DataDir,
    output: Path | None,
    describe: Callable[[AnyMeasurement], bytes] | None,
) -> tuple[list[AnyMeasurement], Path]:
    result_file = new_result(folder.results, dt.datetime.now(dt.UTC))
    files = [open(result_file, "ab")]  # noqa: SIM115 - closed below
    if output is not None:
        try:
            files.append(open(output, "ab"))  # noqa: SIM115
        except OSError as exc:
            files[0].close()
            raise fail(f"cannot write {output}: {exc.strerror}") from None
    results: list[AnyMeasurement] = []
    encoder = msgspec.json.Encoder()

    def sink(measurement: AnyMeasurement) -> None:
        line = scrubber.json(encoder.encode(measurement)) + b"\n"
        for handle in files:
            handle.write(line)
            handle.flush()
        if describe is not None:  # --json: the measurement and our verdict beside it
            sys.stdout.buffer.write(
                b'{"measurement":' + line[:-1] + b',"verdict":' + describe(measurement) + b"}\n"
            )
            sys.stdout.flush()
        results.append(measurement)

    counts = [max(1, len(work.inputs.get(n.name, []))) for n in plan.nettests]
    total = len(work.urls) * plan.web + sum(counts)
    columns = (TextColumn("measuring"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=err, transient=True, disable=not err.is_terminal) as bar:
        task = bar.add_task("measurements", total=total)
        try:
            _measure(plan, work, backend, configs, scrubber.data, sink, lambda: bar.advance(task))
        except KeyboardInterrupt:
            err.print(f"interrupted: kept {len(results)} measurement(s)")
            raise typer.Exit(130) from None
        finally:
            for handle in files:
                handle.close()
    return results, result_file


def _measure(
    plan: Plan,
    work: Work,
    backend: Backend,
    configs: tuple[RunConfig, NettestConfig],
    scrub: Callable[[bytes], bytes],
    sink: Callable[[AnyMeasurement], None],
    advance: Callable[[], None],
) -> None:
    web, other = configs
    deadline = time.monotonic() + web.max_runtime if web.max_runtime is not None else None
    try:
        if plan.web:
            summary = asyncio.run(
                run(work.urls, backend, web, sink, scrub=scrub, progress=lambda url: advance())
            )
            _say_cut(summary.timed_out, summary.measured, summary.skipped)
        for nettest in plan.nettests:
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                err.print(f"max runtime reached: {nettest.name} not started", markup=False)
                continue
            # Its own keys only: a run's other nettests' keys are not this one's typos.
            mine = other.endpoints.only(nettest.endpoint_help)
            done = asyncio.run(
                run_nettest(nettest, work.inputs.get(nettest.name, []), backend,
                            msgspec.structs.replace(other, endpoints=mine, max_runtime=left),
                            sink, scrub=scrub, progress=lambda item: advance())
            )  # fmt: skip
            _say_cut(done.timed_out, done.measured, done.skipped, nettest.name)
    except* EndpointError as group:  # a backstop: plan_run checked every value before
        raise fail(str(group.exceptions[0])) from None


def _say_cut(timed_out: bool, measured: int, skipped: int, name: str = "") -> None:
    if timed_out:
        which = f"{name}: " if name else ""
        err.print(f"max runtime reached: {which}{measured} measured, {skipped} not started")
