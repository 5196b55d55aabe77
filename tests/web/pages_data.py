"""A data folder for the page tests, loaded as the server loads one: real measurements
imported into the analysis table (the demo sample, the corpus, OONI nettests we do not
analyse), and detected events from a real series (Monash's Bago pings) in the event store.

One measurement is made undecodable on purpose (its `queries` a string), as hostile input
would be, so the error row's page can be checked; everything else is as published.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import gzip
import json
from pathlib import Path

from starlette.testclient import TestClient

from netvigil.datadir import DataDir
from netvigil.detect.engine import detect
from netvigil.observatory import ooni_verdicts, tables
from netvigil.observatory.eventstore import EventStore
from netvigil.observatory.ingest import ingest_file
from netvigil.samples import sample_path
from netvigil.server import create_app
from tests.corpus import JSONL, MEASUREMENTS
from tests.detect.test_engine import CUT_MINUTES, bago, checks, network, probes
from tests.observatory.events import event

OTHER = MEASUREMENTS / "ooni-backend-fastpath-other"
# Other nettests: meek's is one no analyser judges; mbx-1 (570 KB) is a tampered one.
OTHER_TESTS = (OTHER / "meek.json", OTHER / "mbx-1.json")
CN_2017 = "01201705167c104b698173927d63aadf48fb2fa1"  # the sample's CN line: probe_ip set
IR_FACEBOOK = "20220815190130.000000_IR_web_connectivity_ccf32c57f5bbfc33"
# OONI's fastpath verdicts bundled with the demo (SOURCES.md: 1,081 rows, OONI's only)
OONI_ROWS = (
    Path(__file__).resolve().parents[2] / "src/netvigil/data/samples/ooni-fastpath-rows.jsonl.gz"
)
BROKEN = "20990101000000.000000_XX_web_connectivity_0000000000000000"
# The Bago series cut at 23:00 UTC on 26 April 2021, inside that night's cut (19:00 UTC
# on): the last event has no end yet.
CUT = int(dt.datetime(2021, 4, 26, 23, tzinfo=dt.UTC).timestamp())
NOW = dt.datetime(2021, 4, 26, 23, 30, tzinfo=dt.UTC)


def broken(folder: Path) -> Path:
    """The sample's CN measurement, uid changed, with test keys that cannot be read."""
    with sample_path() as path, gzip.open(path, "rt") as lines:
        first = json.loads(next(lines))
    first["measurement_uid"] = BROKEN
    first["test_keys"]["queries"] = "not a list"
    target = folder / "broken.jsonl"
    target.write_text(json.dumps(first) + "\n")
    return target


def load(root: Path) -> None:
    folder = DataDir(root=root)
    analysis = str(folder.tables)
    with sample_path() as sample:
        for path in (sample, JSONL, *OTHER_TESTS, broken(root)):
            result = ingest_file(str(path), analysis)
            assert result.rows > 0 and not result.errors, result
    tables.compact(folder.tables)
    loaded = ooni_verdicts.load_file(OONI_ROWS, folder.ooni_verdicts)
    assert (loaded.rows, loaded.skipped) == (1081, 0)  # SOURCES.md of the samples
    series = bago()
    kept = series.times <= CUT
    cut = dataclasses.replace(series, times=series.times[kept], values=series.values[kept])
    found = [(e, ("MM",)) for e in detect([cut])]
    # A national cut with probes measuring through it (the detector's own test): networks.
    heard = [network(64500, probes(2, 1, CUT_MINUTES)), network(64501, probes(2, 2, CUT_MINUTES))]
    found += [(e, ("XX",)) for e in detect(heard, local=checks([64500, 64501], CUT_MINUTES))]
    # A block of one site on one network, its evidence a real measurement of it (built by
    # hand as the events API's tests build theirs).
    block = event(
        "asn:197207", "service_block", "2022-08-15T19:00:00", "2022-08-15T20:00:00",
        cause="blocking", asn=197207, evidence=(IR_FACEBOOK, "not a uid: a note"),
    )  # fmt: skip
    found.append((block, ("IR",)))
    first = min(e.start for e, _ in found)
    EventStore(folder.events).update(found, since=first, now=NOW)


def client(root: Path) -> TestClient:
    """The server's app over the loaded folder, its lifespan not started: no background
    detection replaces the events loaded here, no pipeline runs (the tables are final)."""
    load(root)
    return TestClient(create_app(root), headers={"Accept": "text/html"})
