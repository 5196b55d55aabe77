"""What `netvigil serve --demo` loads, each part real and each told with its source and licence.

1. OONI's measurements (the bundled samples, web_connectivity and apps and circumvention
   tools; data/samples/SOURCES.md), analysed into our table, and the folder marked a demo's
   (DataDir.demo): "What works here" then ends its window at the newest measurement, saying so;
2. OONI's own verdicts of 1,081 other measurements (fastpath rows), in a table of their own
   (observatory/ooni_verdicts.py): shown as OONI's, never as ours;
3. detection events: the detector run over Monash IP Observatory's replies from Bago,
   Myanmar (data/series/SOURCES.md), stored as one detection round that read only that
   series. Its `since` is the load time, so it withdraws nothing of the server's own; the
   server's rounds withdraw only what starts in their last 35 days (eventstore.py), so the
   2021 events stay;
4. two public example incidents by a demo organisation, each published by two people through
   the incidents service (cli/demo_incidents.py): the 2022-08-15 DNS blocking of
   www.facebook.com on AS197207 (IR), its measurement the evidence, and Bago's nightly
   outages, the events the evidence. An outage, not a shutdown: the series shows no cause.

Every part is keyed by what it is (uids, event ids, fixed incident ids, names), so loading
twice adds nothing. Time is a parameter.
"""

from __future__ import annotations

import datetime as dt
import gzip
from collections.abc import Sequence
from importlib.resources import as_file, files
from pathlib import Path

import msgspec

from netvigil.cli.demo_incidents import ORG, DemoError, publish
from netvigil.datadir import DataDir
from netvigil.detect.engine import detect
from netvigil.detect.model import Event
from netvigil.detect.series import read_series
from netvigil.observatory import ooni_verdicts
from netvigil.observatory.eventstore import EventStore
from netvigil.samples import ATTRIBUTION

__all__ = ["DemoError", "Part", "load"]

DATA = files("netvigil") / "data"
VERDICTS = "ooni-fastpath-rows.jsonl.gz"
SERIES = "monash-bago-responses.csv.gz"
SERIES_SOURCE = (
    "Monash IP Observatory: pings from Bago, Myanmar, 9 February – 14 May 2021 "
    "(sodalabsio/shared_data, GPL-3.0)"
)


class Part(msgspec.Struct, frozen=True, kw_only=True):
    count: int
    line: str  # what was loaded, from where, under which licence


def measurements(folder: DataDir, geoip: Path | None) -> Part:
    from netvigil.observatory.ingest import ingest_file
    from netvigil.observatory.tables import compact
    from netvigil.samples import OTHER_NAME, SAMPLE_NAME, sample_path

    counts = []
    for name in (SAMPLE_NAME, OTHER_NAME):
        with sample_path(name) as path:
            ingested = ingest_file(str(path), str(folder.tables), str(geoip) if geoip else None)
        counts.append(ingested.rows)
    compact(folder.tables)
    folder.demo.write_text(
        "netvigil serve --demo loaded its fixed sample here: what works in a place is told as "
        "of its newest measurement (observatory/works_here.py)\n"
    )
    where, rows = DATA / "samples" / "SOURCES.md", sum(counts)
    return Part(
        count=rows,
        line=f"loaded {rows} sample measurements ({counts[0]} web_connectivity, {counts[1]} of "
        f"apps and circumvention tools; {ATTRIBUTION}); {where}",
    )


def verdicts(folder: DataDir) -> Part:
    with as_file(DATA / "samples" / VERDICTS) as path:
        loaded = ooni_verdicts.load_file(path, folder.ooni_verdicts)
    skipped = f", {loaded.skipped} lines skipped" if loaded.skipped else ""
    return Part(
        count=loaded.rows,
        line=f"loaded {loaded.rows} of OONI's own verdicts{skipped} (shown as OONI's: "
        f"{loaded.source}; ooni/backend test data, BSD-3-Clause; data CC BY-NC-SA 4.0, "
        f"https://ooni.org); {DATA / 'samples' / 'SOURCES.md'}",
    )


def bago_events(folder: DataDir) -> list[Event]:
    """The detector's events in the bundled series, kept in the data folder's series (a plain
    file: read_series reads one) so the explorer draws each event over it."""
    plain = folder.series / SERIES.removesuffix(".gz")
    plain.parent.mkdir(parents=True, exist_ok=True)
    plain.write_bytes(gzip.decompress((DATA / "series" / SERIES).read_bytes()))
    plain.with_suffix(".source").write_text(SERIES_SOURCE + "\n")  # shown beside its events
    return detect(read_series(plain))


def events(folder: DataDir, found: Sequence[Event], now: dt.datetime) -> Part:
    EventStore(folder.events).update([(e, ("MM",)) for e in found], since=now, now=now)
    return Part(
        count=len(found),
        line=f"stored {len(found)} detection events in region:MM-02 from Monash IP "
        "Observatory's Bago pings (https://ip-observatory.org, GPL-3.0); "
        f"{DATA / 'series' / 'SOURCES.md'}",
    )


def incidents(
    folder: DataDir, found: Sequence[Event], *, url: str, database: str | None, now: dt.datetime
) -> Part:
    made = publish(folder, found, url=url, database=database, now=now)
    return Part(
        count=len(made),
        line=f"published {len(made)} example incidents by {ORG!r} from the demo's data "
        f"(cli/demo_incidents.py): {', '.join(f'{url}/incidents/{i}' for i in made)}",
    )


def load(
    folder: DataDir, *, geoip: Path | None, url: str, database: str | None, now: dt.datetime
) -> list[Part]:
    """Every part, in order (the incidents need the measurements and the events)."""
    found = bago_events(folder)
    return [
        measurements(folder, geoip),
        verdicts(folder),
        events(folder, found, now),
        incidents(folder, found, url=url, database=database, now=now),
    ]
