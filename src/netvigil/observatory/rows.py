"""One analysis row per measurement: the pure step between the archive and the tables.

A row keeps what the data API filters and aggregates on (ooni.md §5.3: country, network,
test, input and domain, time, anomaly / confirmed / failure) plus our layered verdict
(outcome, layer, technique, rule, confidence) and the `rules_version` that produced it, so
re-analysis with newer rules can replace rows by `measurement_uid`, and where the raw
measurement is (`source`: "archive", or the imported file and its line), so re-analysis
and `/api/v1/raw_measurement` can read it again.

`anomaly` is a blocked outcome; `confirmed` a blocked outcome with an artefact; `failure`
an insufficient one (OONI's fastpath calls a measurement it cannot score a failure).
Nettests we do not analyse yet get outcome "unanalysed" and count as neither.
"""

from __future__ import annotations

import datetime as dt

import msgspec

from netvigil.analysis.addresses import host_of
from netvigil.analysis.fingerprints import FingerprintDB
from netvigil.analysis.layered import UnsupportedTest, analyze
from netvigil.analysis.verdicts import RULES_VERSION, Outcome
from netvigil.geoip import GeoIP
from netvigil.observatory.archive import Stored
from netvigil.observatory.enrich import Address, addresses_of
from netvigil.records import (
    AnyMeasurement,
    MeasurementFormatError,
    decode_any,
    web_connectivity_keys,
)


class Row(msgspec.Struct, frozen=True, kw_only=True):
    measurement_uid: str
    report_id: str | None
    input: str | None
    domain: str | None
    probe_cc: str
    probe_asn: int
    probe_network_name: str
    test_name: str
    measurement_start_time: dt.datetime
    date: str  # the partition: measurement_start_time's UTC day
    anomaly: bool
    confirmed: bool
    failure: bool
    outcome: str
    layer: str | None
    technique: str | None
    rule: str | None
    confidence: float
    blocking_type: str | None  # OONI's classic `blocking`, when a string
    flags: str  # collector flags, comma-separated
    rules_version: str
    analysed_at: dt.datetime
    source: str  # ARCHIVE, or the absolute path of the imported file
    source_line: int | None  # the line in that file (None: the whole file is one)
    addresses: tuple[Address, ...] = ()


ARCHIVE = "archive"


def start_time(value: str | None) -> dt.datetime:
    try:
        return dt.datetime.strptime(value or "", "%Y-%m-%d %H:%M:%S").replace(tzinfo=dt.UTC)
    except ValueError:
        return dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def row_of(
    stored: Stored, fingerprints: FingerprintDB, now: dt.datetime, geo: GeoIP | None = None
) -> Row:
    """The row of an archived measurement."""
    return row_for(
        decode_any(bytes(stored.measurement)),
        stored.uid,
        stored.report_id,
        stored.flags,
        fingerprints,
        now,
        geo=geo,
    )


def row_for(
    measurement: AnyMeasurement,
    uid: str,
    report_id: str | None,
    flags: tuple[str, ...],
    fingerprints: FingerprintDB,
    now: dt.datetime,
    *,
    geo: GeoIP | None = None,
    source: str = ARCHIVE,
    line: int | None = None,
) -> Row:
    """The row of a decoded measurement (imports decode once, in the reader)."""
    outcome, layer, technique, rule, confidence, confirmed = (
        "unanalysed",
        None,
        None,
        None,
        0.0,
        False,
    )
    blocking: str | None = None
    try:
        verdict = analyze(measurement, fingerprints)
    except (UnsupportedTest, MeasurementFormatError):
        verdict = None
    if verdict is not None:
        outcome = verdict.outcome.value
        layer = verdict.layer.value if verdict.layer else None
        technique, rule, confidence = verdict.technique, verdict.rule, verdict.confidence
        confirmed = verdict.confirmed
        keys = web_connectivity_keys(measurement)
        if keys is not None and isinstance(keys.blocking, str):
            blocking = keys.blocking
    started = start_time(measurement.measurement_start_time)
    url = measurement.url or None
    asn = (measurement.probe_asn or "AS0").removeprefix("AS")
    return Row(
        measurement_uid=uid,
        report_id=report_id,
        input=url,
        domain=host_of(url) or None if url else None,
        probe_cc=(measurement.probe_cc or "ZZ").upper(),
        probe_asn=int(asn) if asn.isdigit() else 0,
        probe_network_name=measurement.probe_network_name or "",
        test_name=measurement.test_name,
        measurement_start_time=started,
        date=started.strftime("%Y-%m-%d"),
        anomaly=outcome == Outcome.BLOCKED,
        confirmed=confirmed,
        failure=outcome == Outcome.INSUFFICIENT,
        outcome=outcome,
        layer=layer,
        technique=technique,
        rule=rule,
        confidence=confidence,
        blocking_type=blocking,
        flags=",".join(flags),
        rules_version=RULES_VERSION,
        analysed_at=now,
        source=source,
        source_line=line,
        addresses=addresses_of(measurement, geo),
    )
