"""One analysis row per measurement: the pure step between the archive and the tables.

A row keeps what the data API filters and aggregates on (ooni.md §5.3: country, network,
test, input and domain, time, anomaly / confirmed / failure) plus our layered verdict
(outcome, layer, technique, rule, confidence) and the `rules_version` that produced it, so
re-analysis with newer rules can replace rows by `measurement_uid`, and where the raw
measurement is (`source`: "archive", or the imported file and its line), so re-analysis
and `/api/v1/raw_measurement` can read it again.

`anomaly` is a blocked or tampered outcome (columns.ANOMALIES); `confirmed` a blocked
outcome with an artefact; `failure` means no verdict (OONI's fastpath calls a measurement
it cannot score a failure): the data was insufficient, the nettest is one we do not
analyse yet (outcome "unanalysed"), or the measurement failed a step (outcome "error").
None of these is ever ok.

Error rows: a measurement that cannot be decoded, or holds values a row cannot (a probe_cc
that is not a country, an AS number beyond 32 bits), becomes a row with outcome "error" and
the reason in `error`, with whatever of its envelope could be read. The pipeline records it
and moves on: one measurement never stops the others (docs/design/005).
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import msgspec

from netvigil.addresses import REAL_WORLD, Bogons
from netvigil.analysis.fingerprints import FingerprintDB
from netvigil.analysis.layered import UnsupportedTest, analyze
from netvigil.analysis.speed import throughput_of
from netvigil.geoip import GeoIP
from netvigil.observatory.archive import Stored
from netvigil.observatory.columns import (
    ARCHIVE,
    ERROR,
    MAX_ASN,
    MAX_ERROR,
    UNANALYSED,
    Judged,
    Row,
    build,
)
from netvigil.observatory.enrich import addresses_of
from netvigil.records import (
    AnyMeasurement,
    Envelope,
    MeasurementFormatError,
    decode_any,
    web_connectivity_keys,
)

_CC = re.compile(r"[A-Z]{2}")
_TEST = re.compile(r"[a-z0-9_]{1,64}")
_UNKNOWN_TEST = "unknown"  # the partition of an error row whose test_name is unusable
# The envelope keys an error row shows, when they are strings.
_READABLE = (
    "test_name",
    "input",
    "measurement_start_time",
    "probe_cc",
    "probe_asn",
    "probe_network_name",
)


class RowError(ValueError):
    """A measurement holds a value its row (or the table's partitions) cannot hold."""


def start_time(value: str | None) -> dt.datetime:
    try:
        return dt.datetime.strptime(value or "", "%Y-%m-%d %H:%M:%S").replace(tzinfo=dt.UTC)
    except ValueError:
        return dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def row_of(
    stored: Stored,
    fingerprints: FingerprintDB,
    now: dt.datetime,
    geo: GeoIP | None = None,
    bogon: Bogons = REAL_WORLD,
) -> Row:
    """The row of an archived measurement; an error row when it cannot be decoded. `bogon`
    says which addresses are bogons (a lab's networks stand for public ones: addresses.py)."""
    data = bytes(stored.measurement)
    try:
        measurement = decode_any(data)
    except MeasurementFormatError as exc:
        return error_row(
            readable_envelope(data), stored.uid, stored.report_id, stored.flags, now, str(exc)
        )
    return row_for(
        measurement,
        stored.uid,
        stored.report_id,
        stored.flags,
        fingerprints,
        now,
        geo=geo,
        bogon=bogon,
    )


def readable_envelope(data: bytes) -> Envelope:
    """What an undecodable measurement's envelope still says: each key of the right type."""
    try:
        value: Any = msgspec.json.decode(data)
    except (msgspec.DecodeError, RecursionError):
        value = None
    if not isinstance(value, dict):
        return Envelope()
    return Envelope(**{k: value[k] for k in _READABLE if isinstance(value.get(k), str)})


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
    bogon: Bogons = REAL_WORLD,
) -> Row:
    """The row of a decoded measurement (imports decode once, in the reader); an error row
    when its test keys cannot be read or its values do not fit a row."""
    try:
        return _row_for(
            measurement,
            uid,
            report_id,
            flags,
            fingerprints,
            now,
            geo,
            source=source,
            line=line,
            bogon=bogon,
        )
    except (MeasurementFormatError, RowError) as exc:
        return error_row(measurement, uid, report_id, flags, now, str(exc), source, line)


def _row_for(
    measurement: AnyMeasurement,
    uid: str,
    report_id: str | None,
    flags: tuple[str, ...],
    fingerprints: FingerprintDB,
    now: dt.datetime,
    geo: GeoIP | None,
    *,
    source: str,
    line: int | None,
    bogon: Bogons,
) -> Row:
    try:
        verdict = analyze(measurement, fingerprints, bogon)
    except UnsupportedTest:
        verdict = None  # kept as unanalysed; a MeasurementFormatError is an error row
    judged = Judged(outcome=UNANALYSED)
    if verdict is not None:
        keys = web_connectivity_keys(measurement)
        judged = Judged(
            outcome=verdict.outcome.value,
            layer=verdict.layer.value if verdict.layer else None,
            technique=verdict.technique,
            rule=verdict.rule,
            confidence=verdict.confidence,
            confirmed=verdict.confirmed,
            vendor=verdict.vendor,
            throughput=throughput_of(measurement, verdict),
            blocking_type=keys.blocking
            if keys is not None and isinstance(keys.blocking, str)
            else None,
        )
    cc, test = (measurement.probe_cc or "ZZ").upper(), measurement.test_name
    if not _CC.fullmatch(cc):
        raise RowError(f"probe_cc {measurement.probe_cc!r} is not a country code")
    if not _TEST.fullmatch(test):
        raise RowError(f"test_name {test!r} is not a nettest name")
    addresses = addresses_of(measurement, geo)
    if any(not 0 <= a.asn <= MAX_ASN for a in addresses):
        raise RowError("an address's AS number is beyond 32 bits")
    started = start_time(measurement.measurement_start_time)
    return build(
        measurement,
        uid,
        report_id,
        flags,
        now,
        judged,
        cc=cc,
        asn=_asn(measurement.probe_asn, strict=True),
        test=test,
        started=started,
        source=source,
        line=line,
        addresses=addresses,
    )


def _asn(value: str | None, *, strict: bool) -> int:
    digits = (value or "AS0").removeprefix("AS")
    number = int(digits) if digits.isdigit() and len(digits) <= 10 else MAX_ASN + 1
    if number > MAX_ASN and strict:
        raise RowError(f"probe_asn {value!r} is not an AS number")
    return number if number <= MAX_ASN else 0


def error_row(
    envelope: Envelope,
    uid: str,
    report_id: str | None,
    flags: tuple[str, ...],
    now: dt.datetime,
    message: str,
    source: str = ARCHIVE,
    line: int | None = None,
) -> Row:
    """The row of a measurement that failed a step: no verdict, the reason, and what of its
    envelope fits a row (an unusable country or nettest goes to ZZ / "unknown")."""
    cc, test = (envelope.probe_cc or "ZZ").upper(), envelope.test_name
    return build(
        envelope,
        uid,
        report_id,
        flags,
        now,
        Judged(outcome=ERROR),
        cc=cc if _CC.fullmatch(cc) else "ZZ",
        asn=_asn(envelope.probe_asn, strict=False),
        test=test if _TEST.fullmatch(test) else _UNKNOWN_TEST,
        started=start_time(envelope.measurement_start_time),
        source=source,
        line=line,
        error=(message.splitlines() or ["error"])[0][:MAX_ERROR],
    )
