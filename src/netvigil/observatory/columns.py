"""The analysis table's columns: `Row`, and the one function that builds a row.

`Row` is the only definition of the table's columns: the Parquet schema (tables.py) and the
data API's columns (api.py) are derived from its fields. Every row, analysed or not, is built
by `build`: the measurement's identity (where, when, what), then the verdict's part
(`Judged`), so an error row and an analysed row cannot disagree on what the identity holds.
What each column means: rows.py.
"""

from __future__ import annotations

import datetime as dt

import msgspec

from netvigil.addresses import host_of
from netvigil.analysis.verdicts import RULES_VERSION, Outcome
from netvigil.observatory.enrich import Address
from netvigil.records import AnyMeasurement, Envelope


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
    error: str | None = None  # why the measurement could not be analysed (outcome "error")
    vendor: str | None = None  # the product the evidence names (a blockpage, a middlebox)


ARCHIVE = "archive"
UNANALYSED = "unanalysed"
ERROR = "error"
OUTCOMES = (*(o.value for o in Outcome), UNANALYSED, ERROR)  # every row's outcome is one
# (query.OUTCOMES spells the same vocabulary for the API; a test holds them equal.)
ANOMALIES = frozenset({Outcome.BLOCKED.value, Outcome.TAMPERED.value})  # `anomaly` rows
NO_VERDICT = frozenset({Outcome.INSUFFICIENT.value, UNANALYSED, ERROR})  # `failure` rows
MAX_ASN = 2**32 - 1  # AS numbers are 32 bits (RFC 6793)
MAX_ERROR = 500  # characters of an error row's reason (a value quoted in it may be huge)


class Judged(msgspec.Struct, frozen=True, kw_only=True):
    """The verdict's part of a row (an unanalysed or error row has only its outcome)."""

    outcome: str
    layer: str | None = None
    technique: str | None = None
    rule: str | None = None
    confidence: float = 0.0
    confirmed: bool = False
    blocking_type: str | None = None
    vendor: str | None = None


def build(
    envelope: Envelope | AnyMeasurement,
    uid: str,
    report_id: str | None,
    flags: tuple[str, ...],
    now: dt.datetime,
    judged: Judged,
    *,
    cc: str,
    asn: int,
    test: str,
    started: dt.datetime,
    source: str,
    line: int | None,
    addresses: tuple[Address, ...] = (),
    error: str | None = None,
) -> Row:
    """The one place a Row is built: the measurement's identity, then its verdict."""
    url = envelope.url or None
    return Row(
        measurement_uid=uid,
        report_id=report_id,
        input=url,
        domain=host_of(url) or None if url else None,
        probe_cc=cc,
        probe_asn=asn,
        probe_network_name=envelope.probe_network_name or "",
        test_name=test,
        measurement_start_time=started,
        date=started.strftime("%Y-%m-%d"),
        anomaly=judged.outcome in ANOMALIES,
        confirmed=judged.confirmed,
        failure=judged.outcome in NO_VERDICT,
        outcome=judged.outcome,
        layer=judged.layer,
        technique=judged.technique,
        rule=judged.rule,
        confidence=judged.confidence,
        blocking_type=judged.blocking_type,
        flags=",".join(flags),
        rules_version=RULES_VERSION,
        analysed_at=now,
        source=source,
        source_line=line,
        addresses=addresses,
        error=error,
        vendor=judged.vendor,
    )
