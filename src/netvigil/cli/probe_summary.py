"""The end of `probe run`: our layered verdict of each measurement, and what works here.

The verdicts are the pipeline's own (`analysis.layered.analyze`, which dispatches to each
nettest's analyser): web_connectivity's with the run's lab networks as public addresses, a
nettest no analyser judges yet reads "unanalysed", keys that do not decode "error" — never
ok. For --json, each measurement's line carries the verdict beside it (null when there is
none). The "What works here now" block reads the statuses of observatory/works_here.py from
this run's verdicts only, and says so: other runs and other people's measurements are the
explorer's (`/country/CC`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence

import msgspec
from rich.console import Console
from rich.table import Table

from netvigil.addresses import Bogons
from netvigil.analysis.fingerprints import FingerprintDB
from netvigil.analysis.layered import UnsupportedTest, analyze
from netvigil.analysis.verdicts import Verdict
from netvigil.nettest_names import SUBJECTS
from netvigil.observatory.columns import ERROR, UNANALYSED
from netvigil.observatory.rows import start_time
from netvigil.observatory.works_here import Tally, assess, guidance
from netvigil.records import AnyMeasurement, MeasurementFormatError, WebMeasurement
from netvigil.scrub import Scrubber


def verdict_of(
    measurement: AnyMeasurement, fingerprints: FingerprintDB, bogons: Bogons
) -> Verdict | str:
    """Our verdict, or the outcome that stands for none ("unanalysed", "error")."""
    try:
        return analyze(measurement, fingerprints, bogons)
    except UnsupportedTest:
        return UNANALYSED
    except MeasurementFormatError:
        return ERROR


def verdict_json(scrubber: Scrubber, bogons: Bogons) -> Callable[[AnyMeasurement], bytes]:
    """Our layered verdict of a measurement as scrubbed JSON (null: none), for --json."""
    fingerprints = FingerprintDB.load()
    encoder = msgspec.json.Encoder()

    def describe(measurement: AnyMeasurement) -> bytes:
        verdict = verdict_of(measurement, fingerprints, bogons)
        if isinstance(verdict, str):
            return b"null"
        return scrubber.json(encoder.encode(verdict))

    return describe


def _failing_step(measurement: AnyMeasurement) -> str:
    """Where a web_connectivity fetch failed (its classic keys); the others say it per layer."""
    if not isinstance(measurement, WebMeasurement) or measurement.test_keys is None:
        return ""
    keys = measurement.test_keys
    return keys.http_experiment_failure or keys.dns_experiment_failure or ""


def _blocking(measurement: AnyMeasurement) -> str:
    if isinstance(measurement, WebMeasurement):
        return str(measurement.test_keys.blocking if measurement.test_keys else None)
    return ""


def print_summary(results: Sequence[AnyMeasurement], bogons: Bogons, as_json: bool) -> None:
    """The table of verdicts, then what works here (stdout); nothing with --json."""
    if as_json or not results:
        return
    fingerprints = FingerprintDB.load()
    web = any(isinstance(m, WebMeasurement) for m in results)
    headers = ["test", "input", "outcome", "layer", "technique", "failing step"]
    table = Table(*headers, *(["OONI blocking"] if web else []))
    tallies = []
    for m in results:
        verdict = verdict_of(m, fingerprints, bogons)
        outcome = verdict if isinstance(verdict, str) else verdict.outcome.value
        tallies.append(
            Tally(
                test_name=m.test_name,
                outcome=outcome,
                count=1,
                last=start_time(m.measurement_start_time),
                uid=None,
            )
        )
        if isinstance(verdict, str):
            cells = [outcome, "", "", ""]
        else:
            # "insufficient: no control" says why nothing could be concluded.
            words = f"{outcome}: {verdict.reason.split(':')[0]}" if verdict.reason else outcome
            layer = verdict.layer.value if verdict.layer else ""
            cells = [words, layer, verdict.technique or "", _failing_step(m)]
        table.add_row(m.test_name, m.url, *cells, *([_blocking(m)] if web else []))
    Console().print(table)
    works_here_block(tallies, dt.datetime.now(dt.UTC))


def works_here_block(tallies: Sequence[Tally], now: dt.datetime) -> None:
    """What works here, from this run's verdicts of apps and tools (none: nothing printed)."""
    tests = [t for t in SUBJECTS if any(x.test_name == t for x in tallies)]
    if not tests:
        return
    items = assess(tallies, tests)
    console = Console(emoji=False, highlight=False)
    console.print(
        "What works here now (this run's measurements only; the explorer's country page "
        "adds everyone's of the last day):",
        soft_wrap=True,
        markup=False,
    )
    for item in items:
        said = guidance([item], now)  # the statuses' own sentence; none without evidence
        seen = ", ".join(f"{n} {o}" for o, n in item.counts.items())
        line = said[0] if said else f"{item.name}: no evidence either way ({seen})"
        console.print(f"  {line}", soft_wrap=True, markup=False)
