"""Running any nettest but web_connectivity: its inputs, bounded concurrency, a deadline.

The same discipline as runner.py (structured concurrency, aesthetics.md principle 6): one
task group owns every measurement, a semaphore bounds how many run at once, `max_runtime`
is a cancel scope over the whole run, and each finished measurement is handed to `sink` at
once (written, scrubbed and flushed by the caller), so a run cut short keeps everything that
completed. A nettest's inputs follow its `input` kind (ooni/probe-cli model.InputPolicy):

- "none": one measurement with no input; inputs given for it are a mistake the command
  line refuses before anything runs (`InputError` here, for other callers);
- "required": one measurement per input, and none given is an `InputError`;
- "optional": one per input, or one with no input when none is given.

Each measurement gets a fresh `Trace` and its own `Context`; the report id names the
nettest in OONI's shape (`..._<testname without underscores>_<CC>_<ASN>_n1_...`). Time comes
from the `clock` and `now` parameters.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import Callable, Sequence

import msgspec

from netvigil.net.backend import Backend
from netvigil.probe.nettest import Context, Endpoints, Nettest, Settings
from netvigil.probe.recording import Scrub, Trace, no_scrub
from netvigil.probe.report import Location, nettest_envelope, report_id
from netvigil.probe.whoami import ResolverIdentity, with_resolver
from netvigil.records import Measurement

DEFAULT_PARALLELISM = 4  # apps and tunnels open several connections each; be gentle
# A backstop over every step's deadline: a tunnel's bootstrap may take minutes, no more.
PER_MEASUREMENT_DEADLINE = 900.0


class InputError(ValueError):
    """Inputs that do not fit the nettest's input kind (one line, naming the nettest)."""


class NettestConfig(msgspec.Struct, frozen=True, kw_only=True):
    settings: Settings = msgspec.field(default_factory=Settings)
    endpoints: Endpoints = msgspec.field(default_factory=Endpoints)
    location: Location = Location()
    parallelism: int = DEFAULT_PARALLELISM
    max_runtime: float | None = None
    # The run's resolver, learnt once before it (probe/whoami.py); None: unknown.
    resolver_identity: ResolverIdentity | None = None


class NettestSummary(msgspec.Struct, kw_only=True):
    measured: int = 0
    skipped: int = 0  # not started or not finished: max runtime reached
    timed_out: bool = False
    report_id: str = ""


def inputs_for(nettest: Nettest, inputs: Sequence[str]) -> list[str | None]:
    """What the nettest measures, one item per measurement; raises InputError."""
    if nettest.input == "none":
        if inputs:
            raise InputError(f"{nettest.name} takes no input (got {inputs[0]!r})")
        return [None]
    if nettest.input == "required" and not inputs:
        raise InputError(f"{nettest.name} needs at least one input (--input)")
    return list(inputs) if inputs else [None]


async def run_nettest(
    nettest: Nettest,
    inputs: Sequence[str],
    backend: Backend,
    config: NettestConfig,
    sink: Callable[[Measurement], None],
    *,
    scrub: Scrub = no_scrub,
    clock: Callable[[], float] = time.monotonic,
    now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    progress: Callable[[str | None], None] = lambda item: None,
) -> NettestSummary:
    """Measure `nettest` over its inputs; `sink` receives each measurement when complete."""
    items = inputs_for(nettest, inputs)
    test_started = now()
    summary = NettestSummary(report_id=report_id(test_started, config.location, nettest.name))
    slots = asyncio.Semaphore(max(1, config.parallelism))

    async def one(item: str | None) -> None:
        async with slots:
            started, t0 = now(), clock()
            context = Context(
                backend=backend,
                trace=Trace(clock),
                endpoints=config.endpoints,
                settings=config.settings,
                scrub=scrub,
                clock=clock,
                now=now,
            )
            try:
                async with asyncio.timeout(PER_MEASUREMENT_DEADLINE):
                    keys = await nettest.measure(item, context)
            except TimeoutError:
                return  # every step has its own deadline; this is a backstop
            measurement = nettest_envelope(
                nettest.name,
                nettest.version,
                item,
                keys,
                location=config.location,
                report=summary.report_id,
                started=started,
                test_started=test_started,
                runtime=clock() - t0,
            )
            sink(with_resolver(measurement, config.resolver_identity))
            summary.measured += 1
            progress(item)

    try:
        async with asyncio.timeout(config.max_runtime):
            async with asyncio.TaskGroup() as group:
                for item in items:
                    group.create_task(one(item))
    except TimeoutError:
        summary.timed_out = True
    summary.skipped = len(items) - summary.measured
    return summary
