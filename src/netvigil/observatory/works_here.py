"""What works here now: per country and network, which apps and circumvention tools worked.

For each app and tool (nettest_names.SUBJECTS) and each place, over a window ending at `now`
(both parameters; the default window is a day): how many measurements had each outcome, the
latest one, the witness measurement, and a status that never says more than the verdicts:

- "works": at least one ok measurement and no blocked or tampered one in the window;
- "blocked": at least one blocked measurement and no ok one;
- "mixed": ok and blocked (or tampered) measurements both, e.g. on two networks, or
  tampering seen without a block (the traffic was altered: not "works", not "blocked");
- "no recent evidence": nothing but insufficient, unanalysed, error or down verdicts, or no
  measurement at all (a "down" is the service failing for everyone: not a sign of access).

A fixed archive (the demo's years-old sample) would say "no recent evidence" of everything:
with `as_of_newest` the window ends at the place's newest app or tool measurement, which the
Place carries as `as_of` for every view to show. No measurement's time is changed.

The statuses come from one pure function (`assess`) over per-outcome tallies, whether those
are the analysis table's (`works_here`, one DuckDB query) or the verdicts of one probe run
(cli/results.py), so the explorer, the data API and the terminal say the same thing of the
same verdicts. Guidance sentences ("Tor blocked (vanilla_tor) — 3 measurements, last 2 h
ago") are built from the statuses alone.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from pathlib import Path

import msgspec

from netvigil.nettest_names import SUBJECTS
from netvigil.observatory.data import query_rows

WORKS, BLOCKED, MIXED, NO_EVIDENCE = "works", "blocked", "mixed", "no recent evidence"
STATUSES = (WORKS, BLOCKED, MIXED, NO_EVIDENCE)
WINDOW = dt.timedelta(days=1)
# The outcomes that show interference; "tampered" (traffic altered in transit) is one.
ANOMALIES = ("blocked", "tampered")


class Tally(msgspec.Struct, frozen=True, kw_only=True):
    """How many measurements of one nettest had one outcome, and the latest of them."""

    test_name: str
    outcome: str
    count: int
    last: dt.datetime
    uid: str | None  # the latest one's measurement_uid (None: a run's unsaved verdict)
    probe_asn: int = 0


class Status(msgspec.Struct, frozen=True, kw_only=True):
    test_name: str
    name: str  # what people call it (nettest_names)
    kind: str  # "app" or "circumvention"
    status: str  # one of STATUSES
    measurements: int
    counts: dict[str, int]  # outcome -> measurements in the window
    latest_outcome: str | None = None
    latest_time: dt.datetime | None = None
    latest_uid: str | None = None
    witness_uid: str | None = None  # the latest measurement that shows the status
    witness_outcome: str | None = None


class Network(msgspec.Struct, frozen=True, kw_only=True):
    probe_asn: int
    items: tuple[Status, ...]


class Place(msgspec.Struct, frozen=True, kw_only=True):
    probe_cc: str
    probe_asn: int | None
    since: dt.datetime
    until: dt.datetime
    items: tuple[Status, ...]  # every app and tool, in nettest_names' order
    networks: tuple[Network, ...] = ()  # each network with any measurement of one
    as_of: dt.datetime | None = None  # the window ends at the newest measurement, not now


def status_of(counts: dict[str, int]) -> str:
    """The status the outcome counts allow, and no more (see the module's docstring)."""
    ok = counts.get("ok", 0)
    blocked = counts.get("blocked", 0)
    anomalies = sum(counts.get(o, 0) for o in ANOMALIES)
    if ok and not anomalies:
        return WORKS
    if ok or (anomalies and not blocked):
        return MIXED  # access and interference both, or tampering without a block
    if blocked:
        return BLOCKED
    return NO_EVIDENCE


def _latest(tallies: Iterable[Tally]) -> Tally | None:
    # The latest time wins; at the same second the larger uid, so the choice is stable.
    return max(tallies, key=lambda t: (t.last, t.uid or ""), default=None)


def _status(test: str, tallies: Sequence[Tally]) -> Status:
    counts: dict[str, int] = defaultdict(int)
    for tally in tallies:
        counts[tally.outcome] += tally.count
    status = status_of(counts)
    shows = {WORKS: ("ok",), BLOCKED: ("blocked",), MIXED: ANOMALIES}.get(status, ())
    latest = _latest(tallies)
    witness = _latest(t for t in tallies if t.outcome in shows)
    subject = SUBJECTS[test]
    return Status(
        test_name=test,
        name=subject.name,
        kind=subject.kind.value,
        status=status,
        measurements=sum(counts.values()),
        counts=dict(sorted(counts.items())),
        latest_outcome=latest.outcome if latest else None,
        latest_time=latest.last if latest else None,
        latest_uid=latest.uid if latest else None,
        witness_uid=witness.uid if witness else None,
        witness_outcome=witness.outcome if witness else None,
    )


def assess(tallies: Iterable[Tally], tests: Iterable[str] = SUBJECTS) -> tuple[Status, ...]:
    """The status of each of `tests` (apps and tools only) from the tallies of a window."""
    by_test: dict[str, list[Tally]] = defaultdict(list)
    for tally in tallies:
        by_test[tally.test_name].append(tally)
    return tuple(_status(test, by_test[test]) for test in tests if test in SUBJECTS)


_TESTS = ", ".join("?" for _ in SUBJECTS)
# Per network, nettest and outcome in the window: the count, and the latest measurement.
_TALLIES = """
SELECT probe_asn, test_name, outcome, count(*) AS n, max(measurement_start_time) AS last,
       first(measurement_uid ORDER BY measurement_start_time DESC, measurement_uid DESC) AS uid
FROM analysis
WHERE probe_cc = ? AND test_name IN ({tests}) AND measurement_start_time >= ?
  AND measurement_start_time <= ?{network}
GROUP BY probe_asn, test_name, outcome
"""


def tallies(
    tables: Path,
    cc: str,
    *,
    now: dt.datetime,
    window: dt.timedelta = WINDOW,
    asn: int | None = None,
) -> list[Tally]:
    """The analysis table's tallies of the apps and tools for a country (and a network)."""
    sql = _TALLIES.format(tests=_TESTS, network=" AND probe_asn = ?" if asn else "")
    args: list[object] = [cc, *SUBJECTS, now - window, now, *([asn] if asn else [])]
    return [
        Tally(
            test_name=r["test_name"],
            outcome=r["outcome"],
            count=r["n"],
            last=r["last"].astimezone(dt.UTC),
            uid=r["uid"],
            probe_asn=r["probe_asn"],
        )
        for r in query_rows(tables, sql, args)
    ]


_NEWEST = """
SELECT max(measurement_start_time) AS last FROM analysis
WHERE probe_cc = ? AND test_name IN ({tests}) AND measurement_start_time <= ?{network}
"""


def newest(
    tables: Path, cc: str, *, now: dt.datetime, asn: int | None = None
) -> dt.datetime | None:
    """The time of the place's newest app or tool measurement up to `now` (None: none)."""
    sql = _NEWEST.format(tests=_TESTS, network=" AND probe_asn = ?" if asn else "")
    rows = query_rows(tables, sql, [cc, *SUBJECTS, now, *([asn] if asn else [])])
    last = rows[0]["last"] if rows else None
    return last.astimezone(dt.UTC) if last is not None else None


def works_here(
    tables: Path,
    cc: str,
    *,
    now: dt.datetime,
    window: dt.timedelta = WINDOW,
    asn: int | None = None,
    as_of_newest: bool = False,
) -> Place:
    """What works in a country (or one of its networks) over the window ending at `now`, or
    with `as_of_newest` at its newest measurement up to `now` (see the module's docstring)."""
    as_of = newest(tables, cc, now=now, asn=asn) if as_of_newest else None
    now = as_of or now
    found = tallies(tables, cc, now=now, window=window, asn=asn)
    by_network: dict[int, list[Tally]] = defaultdict(list)
    for tally in found:
        by_network[tally.probe_asn].append(tally)
    return Place(
        probe_cc=cc,
        probe_asn=asn,
        since=now - window,
        until=now,
        items=assess(found),
        networks=tuple(
            Network(probe_asn=n, items=assess(t, sorted({x.test_name for x in t}, key=_order)))
            for n, t in sorted(by_network.items())
        ),
        as_of=as_of,
    )


def _order(test: str) -> int:
    return list(SUBJECTS).index(test)


PHRASES = {WORKS: "works", BLOCKED: "blocked", MIXED: "mixed results"}


def ago(delta: dt.timedelta) -> str:
    """A short age: "under a minute", "12 min", "2 h", "3 days" (rounded down)."""
    minutes = max(0, int(delta.total_seconds() // 60))
    if minutes < 1:
        return "under a minute"
    if minutes < 60:
        return f"{minutes} min"
    if minutes < 48 * 60:
        return f"{minutes // 60} h"
    return f"{minutes // (24 * 60)} days"


def guidance(items: Iterable[Status], now: dt.datetime) -> list[str]:
    """One sentence per app or tool with evidence, e.g. "Snowflake works (torsf) — 3
    measurements, last 2 h ago"; nothing for one without (silence claims nothing)."""
    sentences = []
    for item in items:
        if item.status == NO_EVIDENCE or item.latest_time is None:
            continue
        plural = "measurement" if item.measurements == 1 else "measurements"
        sentences.append(
            f"{item.name} {PHRASES[item.status]} ({item.test_name}) — {item.measurements} "
            f"{plural}, last {ago(now - item.latest_time)} ago"
        )
    return sentences
