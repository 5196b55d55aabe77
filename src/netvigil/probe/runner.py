"""Running many measurements: bounded concurrency, politeness, deadlines, nothing lost.

Structured concurrency only (aesthetics.md principle 6): one task group owns every
measurement; a semaphore bounds how many run at once (`--parallelism`, default 32); a
:class:`HostLimiter` keeps at most two connections to one host; `max_runtime` is a cancel
scope over the whole run. Each finished measurement is handed to `sink` at once (written
and flushed by the caller), so a run cut short by its deadline or by Ctrl-C keeps every
measurement that completed. Time comes from the `clock` and `now` parameters.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import Callable, Sequence

import msgspec

from netvigil.net.backend import Backend
from netvigil.probe.recording import Scrub, Trace, no_scrub
from netvigil.probe.report import Location, envelope, report_id
from netvigil.probe.steps import HostLimiter
from netvigil.probe.webconnectivity import Settings, measure
from netvigil.probe.whoami import ResolverIdentity, with_client_resolver, with_resolver
from netvigil.records import WebMeasurement

DEFAULT_PARALLELISM = 32
# A backstop over every per-step deadline: no single URL may hold a slot longer.
PER_URL_DEADLINE = 600.0


class RunConfig(msgspec.Struct, frozen=True, kw_only=True):
    settings: Settings
    location: Location = Location()
    parallelism: int = DEFAULT_PARALLELISM
    max_runtime: float | None = None
    per_host: int = 2
    # The run's resolver, learnt once before it (probe/whoami.py); None: unknown.
    resolver_identity: ResolverIdentity | None = None


class RunSummary(msgspec.Struct, kw_only=True):
    measured: int = 0
    skipped: int = 0  # not started: max runtime reached or interrupted
    timed_out: bool = False


async def run(
    urls: Sequence[str],
    backend: Backend,
    config: RunConfig,
    sink: Callable[[WebMeasurement], None],
    *,
    scrub: Scrub = no_scrub,
    clock: Callable[[], float] = time.monotonic,
    now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    progress: Callable[[str], None] = lambda url: None,
) -> RunSummary:
    """Measure `urls`; `sink` receives each measurement as soon as it is complete."""
    summary = RunSummary()
    slots = asyncio.Semaphore(max(1, config.parallelism))
    limiter = HostLimiter(config.per_host)
    test_started = now()
    report = report_id(test_started, config.location)

    async def one(url: str) -> None:
        async with slots:
            started, t0 = now(), clock()
            try:
                async with asyncio.timeout(PER_URL_DEADLINE):
                    keys, helper = await measure(
                        url, backend, config.settings, Trace(clock), limiter=limiter, scrub=scrub
                    )
            except TimeoutError:
                return  # every step has its own deadline; this is a backstop
            identity = config.resolver_identity
            measurement = envelope(
                url,
                with_client_resolver(keys, identity),
                location=config.location,
                report=report,
                started=started,
                test_started=test_started,
                runtime=clock() - t0,
                test_helper=helper,
            )
            sink(with_resolver(measurement, identity))
            summary.measured += 1
            progress(url)

    try:
        async with asyncio.timeout(config.max_runtime):
            async with asyncio.TaskGroup() as group:
                for url in urls:
                    group.create_task(one(url))
    except TimeoutError:
        summary.timed_out = True
    summary.skipped = len(urls) - summary.measured
    return summary
