"""`netvigil detect`: events from series, IODA files or the observatory's own data (008).

Reads series CSV files (detect/series.py, docs/design/008-detection.md) and IODA files
(detect/ioda_signals.py), with `now` at the end of their data (an event still open then is
ongoing); or the observatory's data folder (its verdicts, measurement counts, heartbeats and
local checks over the 35 days before --until or now, as the server's detection reads them,
observatory/detection.py); or both. It prints the events that overlap --since/--until: JSON
lines when --json is given or stdout is not a terminal, a table otherwise. Exit codes: 0, even
when there is no event; 1 for a file or an option value that cannot be read (one line,
`error: ...`, nothing else); 2 for usage errors (Typer's).
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import msgspec
import typer
from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from netvigil.cli.console import fail, open_data_dir

if TYPE_CHECKING:
    from netvigil.detect.blocking import Verdict
    from netvigil.detect.model import Event, LocalCheck, Series
    from netvigil.observatory.detection import Inputs

SeriesOpt = Annotated[
    list[Path] | None,
    typer.Option(
        "--series",
        metavar="FILE.csv",
        help="A CSV with the header entity,signal,time,value (docs/design/008-detection.md)."
        " Repeat for more files.",
        show_default=False,
    ),
]
IodaOpt = Annotated[
    list[Path] | None,
    typer.Option(
        "--ioda",
        metavar="FILE",
        help="An IODA API v2 /signals/raw JSON response or a dashboard CSV export. Repeat for "
        "more files.",
        show_default=False,
    ),
]
EntityOpt = Annotated[
    str | None,
    typer.Option(
        "--entity",
        metavar="ENTITY",
        help="What the --ioda files are about (country:CC, region:CC-NAME or asn:N): needed "
        "for a dashboard export, which does not say, and for IODA regions, whose numeric codes "
        "name no country (give country:CC).",
    ),
]
SinceOpt = Annotated[
    str | None,
    typer.Option(
        "--since",
        metavar="TIME",
        help="Only events still going on at or after TIME (ISO 8601 with an offset or Z, or "
        "Unix seconds).",
    ),
]
UntilOpt = Annotated[
    str | None,
    typer.Option(
        "--until", metavar="TIME", help="Only events that began at or before TIME (as --since)."
    ),
]
DataOpt = Annotated[
    Path | None,
    typer.Option(
        "--data-dir",
        metavar="DIR",
        help="Read the observatory's own data in DIR too (its verdicts, measurement counts, "
        "heartbeats and local checks); with no --series or --ioda, the data folder is read "
        "(default: $NETVIGIL_HOME).",
    ),
]
JsonOpt = Annotated[
    bool, typer.Option("--json", help="JSON lines on stdout (the default when piped).")
]


def _moment(option: str, text: str | None) -> dt.datetime | None:
    from netvigil.detect.series import SeriesError, parse_time

    if text is None:
        return None
    try:
        return dt.datetime.fromtimestamp(parse_time(text), dt.UTC)
    except SeriesError as exc:
        raise fail(f"{option}: {exc}") from None


def _load(csvs: list[Path], iodas: list[Path], entity_name: str | None) -> list[Series]:
    """Every file's series, each (entity, signal) from one file only."""
    from netvigil.detect.ioda_signals import read_ioda
    from netvigil.detect.series import SeriesError, read_series

    found: list[Series] = []
    origin: dict[tuple[str, str], Path] = {}
    try:
        files = [(path, read_series(path)) for path in csvs]
        files += [(path, read_ioda(path, entity_name)) for path in iodas]
    except SeriesError as exc:
        raise fail(str(exc)) from None
    for path, series in files:
        for one in series:
            key = (one.entity, one.signal)
            if key in origin:
                raise fail(f"{path}: {one.entity} {one.signal} is also in {origin[key]}")
            origin[key] = path
            found.append(one)
    return found


def _observatory(option: Path | None, until: dt.datetime | None) -> tuple[Inputs, dt.datetime]:
    """The detector's inputs from a data folder, as the server's detection gathers them."""
    from netvigil.observatory.detection import NO_HEARTBEATS, WINDOW, gather
    from netvigil.observatory.heartbeat_store import HeartbeatStore

    if option is not None and not option.is_dir():
        raise fail(f"--data-dir: no data folder at {option}")  # a typo is no clean bill
    folder = open_data_dir(option)
    now = until or dt.datetime.now(dt.UTC)
    if not folder.heartbeats.exists():
        return gather(folder.tables, NO_HEARTBEATS, now - WINDOW, now), now
    store = HeartbeatStore(folder.heartbeats, now=lambda: now)
    try:
        return gather(folder.tables, store, now - WINDOW, now), now
    finally:
        store.close()


def detect_command(
    series: SeriesOpt = None,
    ioda: IodaOpt = None,
    entity: EntityOpt = None,
    data_dir: DataOpt = None,
    since: SinceOpt = None,
    until: UntilOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Find shutdowns, outages, throttling and blocking changes: in series of signals (CSV
    files, IODA exports) or in the observatory's own data.

    From outside series alone an event is an outage of unknown cause, never a shutdown: that
    takes probes that kept measuring through the gap.
    """
    from netvigil.detect.engine import detect
    from netvigil.detect.model import EntityError
    from netvigil.detect.model import entity as checked

    if entity is not None and not ioda:
        raise fail("--entity names what an --ioda file is about; a --series CSV names its own")
    try:
        entity = None if entity is None else checked(entity)
    except EntityError as exc:
        raise fail(f"--entity: {exc}") from None
    start, end = _moment("--since", since), _moment("--until", until)
    if start and end and start > end:
        raise fail("--since is after --until")
    found = _load(series or [], ioda or [], entity)
    local: list[LocalCheck] = []
    verdicts: list[Verdict] = []
    now = max((int(one.times[-1]) + one.step for one in found), default=0)
    if data_dir is not None or not found:
        inputs, moment = _observatory(data_dir, end)
        found, local, verdicts = [*found, *inputs.series], inputs.local, inputs.verdicts
        now = max(now, int(moment.timestamp()))
    events = [
        event
        for event in detect(
            found, local=local, verdicts=verdicts, now=dt.datetime.fromtimestamp(now, dt.UTC)
        )
        if (end is None or event.start <= end)
        and (start is None or event.end is None or event.end > start)  # ends are exclusive
    ]
    if as_json or not sys.stdout.isatty():
        encoder = msgspec.json.Encoder()
        for event in events:
            sys.stdout.buffer.write(encoder.encode(event) + b"\n")
        sys.stdout.flush()
        return
    _print_table(events, len(found) + len(verdicts))


def _print_table(events: list[Event], count: int) -> None:
    console = Console(emoji=False, highlight=False)
    if not events:
        console.print(f"no events in {count} series and verdicts", markup=False)
        return
    # No vertical rules, padding shared between columns, the level under the kind and times
    # on two lines: an outage's row fits in 80 columns; longer words fold, never vanish.
    table = Table(
        title="Events (times in UTC)",
        box=box.SIMPLE_HEAD,
        show_edge=False,
        collapse_padding=True,
        pad_edge=False,
    )
    for name in ("entity", "kind", "start", "end", "conf.", "cause", "signals"):
        table.add_column(name, overflow="fold", no_wrap=name in ("start", "end", "conf."))
    for event in events:
        fired = dict.fromkeys(
            f.signal if f.entity == event.entity else f"{f.entity} {f.signal}"
            for f in event.signals
        )
        cells = (
            event.entity,
            f"{event.kind}\n{event.level}",
            f"{event.start:%Y-%m-%d\n%H:%M}",
            "ongoing" if event.end is None else f"{event.end:%Y-%m-%d\n%H:%M}",
            f"{event.confidence:.2f}",
            event.cause,
            "\n".join(fired),
        )
        table.add_row(*(escape(cell) for cell in cells))  # names come from files: text
    console.print(table)
